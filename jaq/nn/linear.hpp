// jaq/nn/linear.hpp: a fully connected layer with bias.
//
//   jaq::nn::linear<float> fc({.in_features = 64, .out_features = 10}, "fc", gen);
//   auto logits = fc.forward(tp, features);    // (N, 64) -> (N, 10)
#pragma once

#include <ostream>
#include <string>

#include "jaq/autograd/ops/linear.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nn/init.hpp"
#include "jaq/nn/weighted_layer.hpp"

namespace jaq::nn {

struct linear_spec {
  std::int64_t in_features = 1;
  std::int64_t out_features = 1;

  friend std::ostream& operator<<(std::ostream& os, const linear_spec& s) {
    return os << "linear(" << s.in_features << "->" << s.out_features << ")";
  }
};

template <scalar T>
class linear final : public weighted_layer<T> {
 public:
  linear_spec spec;
  parameter<T> bias;

  linear(linear_spec s, std::string layer_name, rng& gen) : spec(s) {
    if (s.in_features < 1 || s.out_features < 1) throw config_error(layer_name, "linear_spec", "features must be >= 1");
    this->name = std::move(layer_name);
    this->weight.name = this->name + ".weight";
    this->weight.value = tensor<T>(jaq::shape{s.out_features, s.in_features});
    kaiming_uniform(this->weight.value, s.in_features, gen);
    bias.name = this->name + ".bias";
    bias.value = tensor<T>(jaq::shape{s.out_features});
    kaiming_uniform(bias.value, s.in_features, gen);
  }

  layer_kind kind() const override { return layer_kind::linear; }
  std::int64_t in_channels() const override { return spec.in_features; }
  std::int64_t out_channels() const override { return spec.out_features; }

  var<T> compute(tape<T>& tp, var<T> x, var<T> w) override { return jaq::linear(tp, x, w, tp.param(bias)); }
};

}  // namespace jaq::nn
