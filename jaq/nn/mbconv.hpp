// jaq/nn/mbconv.hpp: the MobileNetV2 inverted-residual block, built from a named spec that the
// joint search reuses:
//   expand 1x1 - BN - ReLU6 - depthwise kxk - BN - ReLU6 - project 1x1 - BN (+ input if shapes match)
// (expansion 1 skips the expand convolution, as in MobileNetV2).
//
//   jaq::nn::mbconv_block<float> b(24, {.kernel = 5, .expansion = 4, .stride = 2, .out_channels = 40},
//                                  "blocks.3", gen);
//   auto y = b.forward(tp, x);   // (24, N, H, W) -> (40, N, H/2, W/2)
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "jaq/autograd/ops/activation.hpp"
#include "jaq/autograd/ops/add.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/conv2d.hpp"

namespace jaq::nn {

struct mbconv_block_spec {
  std::int64_t kernel = 3;     ///< depthwise kernel (odd)
  std::int64_t expansion = 4;  ///< hidden channels = in_channels * expansion
  std::int64_t stride = 1;     ///< of the depthwise convolution (1 or 2)
  std::int64_t out_channels = 16;

  friend std::ostream& operator<<(std::ostream& os, const mbconv_block_spec& s) {
    return os << "mbconv{k" << s.kernel << ", e" << s.expansion << ", s" << s.stride << ", c" << s.out_channels << "}";
  }
};

template <scalar T>
class mbconv_block {
 public:
  mbconv_block_spec spec;
  std::int64_t in_channels;
  std::unique_ptr<conv2d<T>> expand;  // null when expansion == 1
  std::unique_ptr<batch_norm<T>> expand_bn;
  conv2d<T> depthwise;
  batch_norm<T> depthwise_bn;
  conv2d<T> project;
  batch_norm<T> project_bn;

  mbconv_block(std::int64_t in, mbconv_block_spec s, const std::string& name, rng& gen)
      : spec(check(s, name)),
        in_channels(in),
        depthwise({.in_channels = in * s.expansion,
                   .out_channels = in * s.expansion,
                   .kernel = s.kernel,
                   .stride = s.stride,
                   .padding = s.kernel / 2,
                   .groups = in * s.expansion},
                  name + ".depthwise", init_expand(in, s, name, gen)),
        depthwise_bn(in * s.expansion, name + ".depthwise_bn", fused_activation::relu6),
        project({.in_channels = in * s.expansion, .out_channels = s.out_channels, .kernel = 1}, name + ".project", gen),
        project_bn(s.out_channels, name + ".project_bn") {}

  bool residual() const { return spec.stride == 1 && in_channels == spec.out_channels; }
  std::int64_t hidden() const { return in_channels * spec.expansion; }

  var<T> forward(tape<T>& tp, var<T> x) {  // (in, N, H, W) -> (out, N, H/stride, W/stride)
    var<T> h = x;
    // BN and ReLU6 are one fused op (expand_bn / depthwise_bn .activation = relu6)
    if (expand) h = expand_bn->forward(tp, expand->forward(tp, h));
    h = depthwise_bn.forward(tp, depthwise.forward(tp, h));
    h = project_bn.forward(tp, project.forward(tp, h));
    return residual() ? jaq::add(tp, h, x) : h;
  }

 private:
  static mbconv_block_spec check(const mbconv_block_spec& s, const std::string& name) {
    std::ostringstream os;
    os << s;
    if (s.kernel < 1 || s.kernel % 2 == 0) throw config_error(name, "kernel", os.str() + ": must be odd and >= 1");
    if (s.expansion < 1) throw config_error(name, "expansion", os.str() + ": must be >= 1");
    if (s.stride != 1 && s.stride != 2) throw config_error(name, "stride", os.str() + ": must be 1 or 2");
    if (s.out_channels < 1) throw config_error(name, "out_channels", os.str() + ": must be >= 1");
    return s;
  }
  // Creates the expand layer first, so that weights are drawn in forward order.
  rng& init_expand(std::int64_t in, const mbconv_block_spec& s, const std::string& name, rng& gen) {
    if (s.expansion != 1) {
      expand =
          std::make_unique<conv2d<T>>(conv2d_spec{.in_channels = in, .out_channels = in * s.expansion, .kernel = 1}, name + ".expand", gen);
      expand_bn = std::make_unique<batch_norm<T>>(in * s.expansion, name + ".expand_bn", fused_activation::relu6);
    }
    return gen;
  }
};

}  // namespace jaq::nn
