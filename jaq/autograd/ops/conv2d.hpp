// jaq/autograd/ops/conv2d.hpp: 2-D convolution with stride, zero padding and groups
// (depthwise when groups = in channels = out channels), no bias (a BatchNorm follows).
//
//   auto y = jaq::conv2d(tp, x, tp.param(w), {.stride = 2, .padding = 1});
//   // x (Ci, N, H, W), w (Co, Ci/groups, kh, kw) -> y (Co, N, Ho, Wo)
//   // Ho = (H + 2*padding - kh) / stride + 1
//
// The op is the convolution engine (detail/conv_engine.hpp) on the tape: im2col + OpenBLAS
// GEMM on fixed chunks of images run in parallel (each chunk's column matrix stays in cache and
// is rebuilt in backward rather than saved); a 1x1, stride-1, unpadded convolution multiplies
// its input directly; depthwise layers use the engine's direct kernel.
#pragma once

#include <utility>
#include <vector>

#include "jaq/autograd/detail/conv_engine.hpp"
#include "jaq/autograd/tape.hpp"

namespace jaq {

template <scalar T>
var<T> conv2d(tape<T>& tp, var<T> x, var<T> w, conv2d_options o = {}) {
  const detail::conv_geometry g = detail::conv_check("conv2d", x.shape(), w.shape(), o);
  const std::int64_t co = w.shape()[0], groups = o.groups;
  tensor<T> y(jaq::shape{co, g.n, g.ho, g.wo});  // (Co, N, Ho, Wo)
  detail::conv_forward(tp.exec(), g, co, groups, detail::channel_planes(g, x.value().data()).data(), w.value().data(), y.data());
  // Nothing saved beyond the input the tape holds: backward rebuilds each chunk's column matrix.
  return tp.record(detail::is_depthwise(g, co, groups) ? "conv2d_depthwise" : "conv2d", std::move(y), {x, w},
                   [g, co, groups](backward_context<T>& ctx) {
                     bool gw_ow = false, gx_ow = false;
                     T* gw = ctx.needs_grad(1) ? ctx.grad_input_for_write(1, gw_ow).data() : nullptr;
                     T* gx = ctx.needs_grad(0) ? ctx.grad_input_for_write(0, gx_ow).data() : nullptr;
                     const auto planes = detail::channel_planes(g, ctx.input(0).data());
                     detail::conv_backward(ctx.exec(), g, co, groups, planes.data(), ctx.input(1).data(), ctx.grad_output().data(), gw,
                                           gw_ow, gx, gx_ow);
                   });
}

}  // namespace jaq
