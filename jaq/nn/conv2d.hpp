// jaq/nn/conv2d.hpp: a convolution layer (no bias; a BatchNorm follows), Kaiming-initialised.
//
//   jaq::nn::conv2d<float> c({.in_channels = 16, .out_channels = 32, .kernel = 3, .stride = 2,
//                             .padding = 1}, "conv2", gen);
//   auto y = c.forward(tp, x);     // x (16, N, H, W) -> (32, N, H/2, W/2)
#pragma once

#include <ostream>
#include <sstream>
#include <string>

#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nn/init.hpp"
#include "jaq/nn/weighted_layer.hpp"

namespace jaq::nn {

struct conv2d_spec {
  std::int64_t in_channels = 1;
  std::int64_t out_channels = 1;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t groups = 1;

  friend std::ostream& operator<<(std::ostream& os, const conv2d_spec& s) {
    return os << "conv" << s.kernel << "x" << s.kernel << "(" << s.in_channels << "->" << s.out_channels << ", stride " << s.stride
              << ", padding " << s.padding << ", groups " << s.groups << ")";
  }
};

template <scalar T>
class conv2d final : public weighted_layer<T> {
 public:
  conv2d_spec spec;

  conv2d(conv2d_spec s, std::string layer_name, rng& gen) : spec(s) {
    if (s.in_channels < 1 || s.out_channels < 1 || s.kernel < 1 || s.groups < 1 || s.in_channels % s.groups || s.out_channels % s.groups)
      throw config_error(layer_name, "conv2d_spec", "invalid channels/kernel/groups in " + str(s));
    this->name = std::move(layer_name);
    this->weight.name = this->name + ".weight";
    this->weight.value = tensor<T>(jaq::shape{s.out_channels, s.in_channels / s.groups, s.kernel, s.kernel});
    kaiming_normal(this->weight.value, s.in_channels / s.groups * s.kernel * s.kernel, gen);
  }

  layer_kind kind() const override { return layer_kind::conv2d; }
  std::int64_t in_channels() const override { return spec.in_channels; }
  std::int64_t out_channels() const override { return spec.out_channels; }

  var<T> compute(tape<T>& tp, var<T> x, var<T> w) override {
    return jaq::conv2d(tp, x, w, {.stride = spec.stride, .padding = spec.padding, .groups = spec.groups});
  }

 private:
  static std::string str(const conv2d_spec& s) {
    std::ostringstream os;
    os << s;
    return os.str();
  }
};

}  // namespace jaq::nn
