// jaq/quant/qconv2d.hpp: a quantized convolution as one op: LSQ on the input activation (per
// tensor) and on the weight (per output channel or per tensor), then the convolution.
//
// The forward is computed the way an integer accelerator computes it: the GEMM runs on the
// integer codes (held in float), and the accumulator is rescaled with jaq::quant::rescale,
//     y[o] = rescale(sum_k a_k w_ok, s_a, s_w[o]) = ((acc * s_a) * s_w[o]),
// so its output equals the integer reference (int8 codes, int32 accumulation,
// jaq/quant/integer_conv.hpp) bit for bit while K * Q_a * Q_w <= 2^24 (see there); tests check it.
// Backward is exactly that of lsq_quantize(x) -> conv2d <- lsq_quantize(w) (the STE, LSQ step
// gradients with g = 1/sqrt(N Q_P)); the op saves the activation codes (one tensor the size of
// x) and rebuilds the im2col matrix in backward instead of keeping it. The convolutions are the
// engine's (jaq/autograd/detail/conv_engine.hpp); quantization is a stage around them.
//
//   auto y = jaq::quant::qconv2d(tp, x, tp.param(w), tp.param(s_a), tp.param(s_w),
//       {.conv = {.stride = 1, .padding = 1},
//        .act = {.bits = 4, .is_signed = false, .batch_axis = 1, .name = "conv2.input"},
//        .weight = {.bits = 4, .is_signed = true, .per_channel = true, .name = "conv2.weight"}});
//   // x (Ci, N, H, W), w (Co, Ci/groups, k, k), s_a (1), s_w (Co) or (1) -> (Co, N, Ho, Wo)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/detail/conv_engine.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/detail/lsq_kernels.hpp"
#include "jaq/quant/fake_quant.hpp"
#include "jaq/quant/integer_conv.hpp"
#include "jaq/quant/lsq.hpp"

namespace jaq::quant {

struct qconv_spec {
  conv2d_options conv{};
  lsq_spec act{.bits = 4, .is_signed = false, .batch_axis = 1, .name = "input"};
  lsq_spec weight{.bits = 4, .is_signed = true, .per_channel = true, .name = "weight"};
};

template <scalar T>
var<T> qconv2d(tape<T>& tp, var<T> x, var<T> w, var<T> s_a, var<T> s_w, const qconv_spec& spec) {
  const jaq::detail::conv_geometry g = jaq::detail::conv_check("qconv2d", x.shape(), w.shape(), spec.conv);
  const qrange ra = qrange::of(spec.act.bits, spec.act.is_signed, spec.act.name);
  const qrange rw = qrange::of(spec.weight.bits, spec.weight.is_signed, spec.weight.name);
  const std::int64_t co = w.shape()[0], groups = spec.conv.groups;
  const std::int64_t wchannels = spec.weight.per_channel ? co : 1;
  if (s_a.shape().numel() != 1) throw model_error(spec.act.name + ": activation step must have one element, got " + s_a.shape().str());
  if (s_w.shape().numel() != wchannels)
    throw model_error(spec.weight.name + ": weight step " + s_w.shape().str() + " does not match " + std::to_string(wchannels) +
                      " channel(s)");
  detail::check_steps(s_a.value(), spec.act.name, "lsq step");
  detail::check_steps(s_w.value(), spec.weight.name, "lsq step");
  const auto ex = tp.exec();
  const std::int64_t nx = x.shape().numel(), nw = w.shape().numel(), winner = nw / wchannels;

  tensor<T> a_codes(x.shape()), w_codes(w.shape());
  detail::lsq_codes_into(ex, ra, spec.act.name, x.value().data(), s_a.value().data(), nx, nx, a_codes.data());
  detail::lsq_codes_into(ex, rw, spec.weight.name, w.value().data(), s_w.value().data(), nw, winner, w_codes.data());
  tensor<T> y(jaq::shape{co, g.n, g.ho, g.wo});  // (Co, N, Ho, Wo)
  jaq::detail::conv_forward(ex, g, co, groups, jaq::detail::channel_planes(g, a_codes.data()).data(), w_codes.data(), y.data());
  {
    const T sa = s_a.value()[0];
    const T* sw = s_w.value().data();
    const std::int64_t cols = g.cols();
    T* yv = y.data();
    parallel_for(ex, 0, co, [&](std::int64_t o) {
      const T so = sw[wchannels == 1 ? 0 : o];
      for (std::int64_t i = o * cols; i < (o + 1) * cols; ++i) yv[i] = rescale(yv[i], sa, so);
    });
  }
  std::vector<tensor<T>> saved;
  if (tp.needs_backward({x, w, s_a, s_w})) saved.push_back(std::move(a_codes));
  const double g_a = lsq_grad_scale(spec.act.grad_count(x.shape()), ra.q_p);
  const double g_w = lsq_grad_scale(spec.weight.grad_count(w.shape()), rw.q_p);
  return tp.record(
      "qconv2d", std::move(y), {x, w, s_a, s_w},
      [g, co, groups, ra, rw, nx, nw, wchannels, winner, g_a, g_w, an = spec.act.name, wn = spec.weight.name](backward_context<T>& ctx) {
        const auto ex = ctx.exec();
        const T* gy = ctx.grad_output().data();
        const T* xv = ctx.input(0).data();
        const T* wv = ctx.input(1).data();
        const T sa = ctx.input(2)[0];
        const T* sw = ctx.input(3).data();
        // dL/dw_hat = s_a * conv_bwd_w(gy, a_codes) and dL/dx_hat = conv_bwd_in(gy, w_hat), one engine pass
        const bool need_w = ctx.needs_grad(1) || ctx.needs_grad(3), need_x = ctx.needs_grad(0) || ctx.needs_grad(2);
        std::unique_ptr<T[]> gwhat(need_w ? new T[std::size_t(nw)] : nullptr);
        std::unique_ptr<T[]> what(need_x ? new T[std::size_t(nw)] : nullptr);
        std::unique_ptr<T[]> gxhat(need_x ? new T[std::size_t(nx)] : nullptr);
        if (need_x) detail::lsq_codes_into(ex, rw, wn, wv, sw, nw, winner, what.get(), true);
        const auto planes = jaq::detail::channel_planes(g, ctx.saved(0).data());
        jaq::detail::conv_backward(ex, g, co, groups, planes.data(), what.get(), gy, gwhat.get(), true, gxhat.get(), true);
        if (need_w) {
          for (std::int64_t i = 0; i < nw; ++i) gwhat[std::size_t(i)] *= sa;
          bool ow = false;
          T* gw = ctx.needs_grad(1) ? ctx.grad_input_for_write(1, ow).data() : nullptr;
          T* gs = ctx.needs_grad(3) ? ctx.grad_input(3).data() : nullptr;
          detail::lsq_chain(ex, rw, wn, wv, sw, nw, winner, gwhat.get(), gw, ow, gs, g_w);
        }
        if (need_x) {
          bool ow = false;
          T* gx = ctx.needs_grad(0) ? ctx.grad_input_for_write(0, ow).data() : nullptr;
          T* gs = ctx.needs_grad(2) ? ctx.grad_input(2).data() : nullptr;
          detail::lsq_chain(ex, ra, an, xv, &sa, nx, nx, gxhat.get(), gx, ow, gs, g_a);
        }
      },
      std::move(saved));
}

}  // namespace jaq::quant
