// jaq/autograd/parameter.hpp: a trainable tensor with its gradient, owned by a module.
//
// Parameters live outside any tape: tape::param(p) reads p.value in place and backward adds
// into p.grad. Optimizers update value from grad; checkpoints save value by name.
//
//   jaq::parameter<float> w{.name = "conv1.weight", .value = jaq::tensor<float>({16, 1, 3, 3})};
#pragma once

#include <string>

#include "jaq/autograd/tensor.hpp"

namespace jaq {

template <scalar T>
struct parameter {
  std::string name;  ///< unique within a model, e.g. "blocks.2.project.weight"
  tensor<T> value;
  tensor<T> grad;  ///< empty until the first backward that reaches it
  bool trainable = true;

  void zero_grad() {
    if (!grad.empty()) grad.fill(T(0));
  }
};

}  // namespace jaq
