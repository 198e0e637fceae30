// jaq/nas/candidate_op.hpp: one candidate operator of a searchable block, as layers: the
// MBConv variants and skip of jaq/nas/space.hpp, shared by the supernet (every candidate of
// every block) and the derived network (the chosen one).
//
// MBConv:  [1x1 expand -> BN+ReLU] -> kxk depthwise (stride s) -> BN+ReLU
//          -> [channel shuffle (g)] -> 1x1 project (groups g) -> BN  (+ x when the shape is kept)
// skip:    x itself when the shape is kept, else 1x1 conv (stride s) -> BN.
// The grouped variants (g = 2) exist at expansion 1, where the project is the only 1x1
// convolution; the shuffle in front of it lets each group read channels of both halves.
// How each convolution is computed is the caller's: forward() takes a function
// conv(tape, x, k) for the k-th convolution of convs() (the layer's own hooks in the derived
// network, a mixture of widths in the supernet).
//
//   jaq::nas::candidate_op<float> op(jaq::nas::parse_op("k5_e3"), block, "blocks.2.k5_e3", gen);
//   auto y = op.forward(tp, x, [&](auto& tp, auto x, std::size_t k) { return op.convs()[k].conv->forward(tp, x); });
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "jaq/autograd/ops/add.hpp"
#include "jaq/autograd/ops/channel_shuffle.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/space.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/conv2d.hpp"

namespace jaq::nas {

/// One convolution of an operator, as a shape: what candidate_op builds and what the cost model
/// is given (jaq/search/bridge.hpp), from one description.
struct op_conv_shape {
  std::string suffix;  ///< layer name after the operator's: ".expand", ".depthwise", ...
  nn::conv2d_spec conv;
  std::int64_t in_size = 1;   ///< input side
  std::int64_t out_size = 1;  ///< output side
  int input_from = -1;        ///< the conv whose BatchNorm produced the input; -1: the block input
};

/// The convolutions of `op` in block `g`, in forward order (none for the identity).
inline std::vector<op_conv_shape> op_conv_shapes(const op_spec& op, const block_geometry& g) {
  const std::int64_t in = g.in_channels, out = g.out_channels, s = g.stride;
  auto pointwise = [](std::int64_t i, std::int64_t o, std::int64_t stride, std::int64_t groups) {
    return nn::conv2d_spec{.in_channels = i, .out_channels = o, .kernel = 1, .stride = stride, .padding = 0, .groups = groups};
  };
  if (op.skip) {
    if (s == 1 && in == out) return {};
    return {{.suffix = ".conv", .conv = pointwise(in, out, s, 1), .in_size = g.in_size, .out_size = g.out_size}};
  }
  std::vector<op_conv_shape> c;
  const std::int64_t hidden = in * op.expansion;
  if (op.expansion != 1)
    c.push_back({.suffix = ".expand", .conv = pointwise(in, hidden, 1, 1), .in_size = g.in_size, .out_size = g.in_size});
  c.push_back(
      {.suffix = ".depthwise",
       .conv =
           {.in_channels = hidden, .out_channels = hidden, .kernel = op.kernel, .stride = s, .padding = op.kernel / 2, .groups = hidden},
       .in_size = g.in_size,
       .out_size = g.out_size,
       .input_from = int(c.size()) - 1});
  c.push_back({.suffix = ".project",
               .conv = pointwise(hidden, out, 1, op.groups),
               .in_size = g.out_size,
               .out_size = g.out_size,
               .input_from = int(c.size()) - 1});
  return c;
}

/// A convolution of an operator and the BatchNorm that produced its input (null: the block's
/// input, whose producer is outside the operator).
template <scalar T>
struct op_conv {
  nn::conv2d<T>* conv = nullptr;
  nn::batch_norm<T>* input_bn = nullptr;
};

template <scalar T>
class candidate_op {
 public:
  op_spec spec;
  block_geometry geom;

  candidate_op(op_spec op, const block_geometry& g, const std::string& name, rng& gen) : spec(std::move(op)), geom(g) {
    const auto shapes = op_conv_shapes(spec, g);
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const op_conv_shape& sh = shapes[k];
      layers_.push_back(std::make_unique<nn::conv2d<T>>(sh.conv, name + sh.suffix, gen));
      convs_.push_back({.conv = layers_.back().get(), .input_bn = sh.input_from < 0 ? nullptr : bns_[std::size_t(sh.input_from)].get()});
      // each conv is followed by its BatchNorm; ReLU after all but the last (and none after skip's)
      const bool last = k + 1 == shapes.size();
      const std::string bn_name = name + (spec.skip ? std::string(".bn") : sh.suffix + "_bn");
      bns_.push_back(
          std::make_unique<nn::batch_norm<T>>(sh.conv.out_channels, bn_name, last ? fused_activation::none : fused_activation::relu));
    }
  }

  /// Skip with the shape kept: no layers at all.
  bool identity() const { return spec.skip && geom.stride == 1 && geom.in_channels == geom.out_channels; }
  /// An MBConv that adds its input.
  bool residual() const { return !spec.skip && geom.stride == 1 && geom.in_channels == geom.out_channels; }

  /// The convolutions in forward order.
  const std::vector<op_conv<T>>& convs() const { return convs_; }
  /// Every BatchNorm, in forward order.
  std::vector<nn::batch_norm<T>*> batch_norms() const {
    std::vector<nn::batch_norm<T>*> out;
    for (const auto& b : bns_) out.push_back(b.get());
    return out;
  }
  /// The BatchNorm that produces the operator's output (null for the identity; for a residual
  /// MBConv the sum's other term is the block input).
  nn::batch_norm<T>* output_bn() const { return bns_.empty() ? nullptr : bns_.back().get(); }

  /// x (in, N, H, W) -> (out, N, H/s, W/s); conv(tp, x, k) computes convs()[k].
  template <class ConvFn>
  var<T> forward(tape<T>& tp, var<T> x, ConvFn&& conv) {
    if (identity()) return x;
    if (spec.skip) return bns_[0]->forward(tp, conv(tp, x, std::size_t(0)));
    var<T> h = x;
    std::size_t k = 0, b = 0;
    if (spec.expansion != 1) h = bns_[b++]->forward(tp, conv(tp, h, k++));  // BN + ReLU fused
    h = bns_[b++]->forward(tp, conv(tp, h, k++));
    if (spec.groups > 1) h = jaq::channel_shuffle(tp, h, spec.groups);
    h = bns_[b++]->forward(tp, conv(tp, h, k++));
    return residual() ? jaq::add(tp, h, x) : h;
  }

 private:
  std::vector<std::unique_ptr<nn::conv2d<T>>> layers_;
  std::vector<std::unique_ptr<nn::batch_norm<T>>> bns_;
  std::vector<op_conv<T>> convs_;
};

}  // namespace jaq::nas
