// jaq/nn/batch_norm.hpp: a BatchNorm layer: gamma (ones), beta (zeros), running statistics.
//
//   jaq::nn::batch_norm<float> bn(16, "bn1", jaq::fused_activation::relu);   // BN then ReLU
//   bn.training = false;              // the model's set_training() does this for all layers
//   auto y = bn.forward(tp, x);       // x (16, N, H, W)
#pragma once

#include <string>

#include "jaq/autograd/ops/batch_norm.hpp"
#include "jaq/autograd/parameter.hpp"

namespace jaq::nn {

template <scalar T>
class batch_norm {
 public:
  std::string name;
  parameter<T> gamma;
  parameter<T> beta;
  batch_norm_state<T> state;
  double momentum = 0.1;
  double eps = 1e-5;
  bool training = true;
  fused_activation activation = fused_activation::none;  ///< ReLU/ReLU6 applied inside the op

  batch_norm(std::int64_t channels, std::string layer_name, fused_activation act = fused_activation::none)
      : name(std::move(layer_name)), state(batch_norm_state<T>::fresh(channels)), activation(act) {
    gamma.name = name + ".gamma";
    gamma.value = tensor<T>::full(jaq::shape{channels}, T(1));
    beta.name = name + ".beta";
    beta.value = tensor<T>::zeros(jaq::shape{channels});
  }

  std::int64_t channels() const { return gamma.value.size(); }

  var<T> forward(tape<T>& tp, var<T> x) {
    return jaq::batch_norm(tp, x, tp.param(gamma), tp.param(beta), state,
                           {.training = training, .momentum = momentum, .eps = eps, .activation = activation});
  }
};

}  // namespace jaq::nn
