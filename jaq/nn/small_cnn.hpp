// jaq/nn/small_cnn.hpp: the default model, exactly
//   conv3x3(1->16, pad 1)-BN-ReLU, conv3x3(16->32, stride 2, pad 1)-BN-ReLU,
//   conv3x3(32->64, stride 2, pad 1)-BN-ReLU, global average pool, fc(64->10).
//
//   jaq::nn::small_cnn<float> m({}, gen);              // Fashion-MNIST defaults
//   jaq::nn::small_cnn<float> c({.in_channels = 3}, gen);   // CIFAR-10
#pragma once

#include <ostream>
#include <string>

#include "jaq/autograd/ops/activation.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/model.hpp"

namespace jaq::nn {

struct small_cnn_config {
  std::int64_t in_channels = 1;
  std::int64_t classes = 10;

  friend std::ostream& operator<<(std::ostream& os, const small_cnn_config& c) {
    return os << "small_cnn_config{.in_channels=" << c.in_channels << ", .classes=" << c.classes << "}";
  }
};

template <scalar T>
class small_cnn final : public model<T> {
 public:
  conv2d<T> conv1, conv2, conv3;
  batch_norm<T> bn1, bn2, bn3;
  linear<T> fc;

  small_cnn(small_cnn_config c, rng& gen)
      : conv1({.in_channels = c.in_channels, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 1}, "conv1", gen),
        conv2({.in_channels = 16, .out_channels = 32, .kernel = 3, .stride = 2, .padding = 1}, "conv2", gen),
        conv3({.in_channels = 32, .out_channels = 64, .kernel = 3, .stride = 2, .padding = 1}, "conv3", gen),
        bn1(16, "bn1", fused_activation::relu),
        bn2(32, "bn2", fused_activation::relu),
        bn3(64, "bn3", fused_activation::relu),
        fc({.in_features = 64, .out_features = c.classes}, "fc", gen) {
    this->add_site(conv1, nullptr);
    this->add_site(conv2, &bn1);
    this->add_site(conv3, &bn2);
    this->add_site(fc, &bn3, {&fc.bias});
    this->add_batch_norm(bn1);
    this->add_batch_norm(bn2);
    this->add_batch_norm(bn3);
  }

  std::string name() const override { return "small-cnn"; }

  var<T> forward(tape<T>& tp, var<T> x) override {  // x (C, N, 28, 28)
    // BN and ReLU are one fused op (bn*.activation = relu)
    x = bn1.forward(tp, conv1.forward(tp, x));           // (16, N, 28, 28)
    x = bn2.forward(tp, conv2.forward(tp, x));           // (32, N, 14, 14)
    x = bn3.forward(tp, conv3.forward(tp, x));           // (64, N, 7, 7)
    return fc.forward(tp, jaq::global_avg_pool(tp, x));  // (N, 64) -> (N, classes)
  }
};

}  // namespace jaq::nn
