// jaq/quant/fake_quant.hpp: fake-quantization ops on the autograd tape (LSQ, PACT, min/max,
// DoReFa weights).
//
// Each op outputs the dequantized value (code * step) with the quantizer's own backward:
// straight-through for the input, the LSQ step gradient times g = 1/sqrt(N Q_P), PACT's clip
// gradient. They compose with any engine op (conv2d, linear); jaq/quant/qconv2d.hpp fuses the
// quantizers into the convolution instead (exactly the integer forward, less memory). Nothing is
// saved beyond the output: backward reads the input and the step, which the tape keeps.
// The bit-width is a run-time value dispatched once per call to a kernel compiled for that grid.
//
//   jaq::parameter<float> s{.name = "conv2.act_step", .value = jaq::tensor<float>::full({1}, 0.1f)};
//   auto xq = jaq::quant::lsq_quantize(tp, x, tp.param(s),
//                                      {.bits = 4, .is_signed = false, .batch_axis = 1, .name = "conv2.input"});
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/detail/lsq_kernels.hpp"
#include "jaq/quant/dorefa.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/minmax.hpp"
#include "jaq/quant/pact.hpp"

namespace jaq::quant {

/// How an LSQ op quantizes one tensor.
struct lsq_spec {
  int bits = 4;
  bool is_signed = true;
  bool per_channel = false;  ///< one step per index of axis 0 (weights (Co, ...)); else one step
  lsq_count count = lsq_count::per_example;
  int batch_axis = -1;       ///< axis of the examples for an activation ((C, N, H, W): 1, (N, F): 0); -1: weights
  std::string name = "lsq";  ///< the layer/tensor, for error messages

  /// N of the gradient scale for a tensor of shape s: see lsq.hpp for the convention.
  std::int64_t grad_count(const jaq::shape& s) const {
    const std::int64_t numel = s.numel();
    if (per_channel) return numel / s[0];
    if (batch_axis < 0) return numel;
    return lsq_activation_count(count, numel, s[batch_axis]);
  }
};

/// PACT on one activation tensor (alpha is a one-element parameter).
struct pact_spec {
  int bits = 4;
  std::string name = "pact";
};

/// DoReFa on one weight tensor (per tensor: one normaliser max|tanh(w)|).
struct dorefa_spec {
  int bits = 4;
  std::string name = "dorefa";
};

/// Min/max quantizer on one tensor: activations per tensor (observer), weights per channel.
struct minmax_spec {
  int bits = 4;
  bool per_channel = false;  ///< weights: one range per index of axis 0, from the weights
  std::string name = "minmax";
};

namespace detail {
template <scalar T>
void check_steps(const tensor<T>& s, const std::string& name, const char* what) {
  for (std::int64_t i = 0; i < s.size(); ++i)
    if (!(s[i] > T(0))) throw model_error(name + ": " + what + " must be > 0, got " + std::to_string(double(s[i])));
}
}  // namespace detail

/// LSQ fake quantization: x any shape; step (1) or, per channel, (x.shape()[0]).
template <scalar T>
var<T> lsq_quantize(tape<T>& tp, var<T> x, var<T> step, const lsq_spec& spec) {
  const qrange r = qrange::of(spec.bits, spec.is_signed, spec.name);
  const jaq::shape xs = x.shape();
  const std::int64_t channels = spec.per_channel ? xs[0] : 1;
  if (step.shape().numel() != channels)
    throw model_error(spec.name + ": lsq step " + step.shape().str() + " does not match " + std::to_string(channels) +
                      " channel(s) of input " + xs.str());
  detail::check_steps(step.value(), spec.name, "lsq step");
  const std::int64_t n = xs.numel(), inner = n / channels;
  const double g = lsq_grad_scale(spec.grad_count(xs), r.q_p);
  tensor<T> y(xs);
  detail::lsq_codes_into(tp.exec(), r, spec.name, x.value().data(), step.value().data(), n, inner, y.data(), true);
  return tp.record("lsq_quantize", std::move(y), {x, step}, [r, n, inner, g, name = spec.name](backward_context<T>& ctx) {
    bool ow = false;
    T* gx = ctx.needs_grad(0) ? ctx.grad_input_for_write(0, ow).data() : nullptr;
    T* gs = ctx.needs_grad(1) ? ctx.grad_input(1).data() : nullptr;
    detail::lsq_chain(ctx.exec(), r, name, ctx.input(0).data(), ctx.input(1).data(), n, inner, ctx.grad_output().data(), gx, ow, gs, g);
  });
}

/// PACT fake quantization of an activation: x any shape, alpha (1).
template <scalar T>
var<T> pact_quantize(tape<T>& tp, var<T> x, var<T> alpha, const pact_spec& spec) {
  const qrange r = qrange::of(spec.bits, false, spec.name);
  if (alpha.shape().numel() != 1) throw model_error(spec.name + ": pact alpha must have one element, got " + alpha.shape().str());
  detail::check_steps(alpha.value(), spec.name, "pact alpha");
  const std::int64_t n = x.shape().numel();
  const T a = alpha.value()[0];
  tensor<T> y(x.shape());
  {
    const T* xv = x.value().data();
    T* yv = y.data();
    parallel_for_chunks(tp.exec(), 0, n, detail::quant_grain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) yv[i] = pact_value(xv[i], a, r.q_p);
    });
  }
  return tp.record("pact_quantize", std::move(y), {x, alpha}, [n](backward_context<T>& ctx) {
    const T* xv = ctx.input(0).data();
    const T a = ctx.input(1)[0];
    const T* gy = ctx.grad_output().data();
    if (ctx.needs_grad(0)) {
      bool ow = false;
      T* gx = ctx.grad_input_for_write(0, ow).data();
      parallel_for_chunks(ctx.exec(), 0, n, detail::quant_grain, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) {
          const T d = gy[i] * pact_grad_input(xv[i], a);
          gx[i] = ow ? d : gx[i] + d;
        }
      });
    }
    if (ctx.needs_grad(1)) {
      const double sum = parallel_sum(ctx.exec(), 0, n, detail::quant_grain, 0.0,
                                      [&](std::int64_t i) { return double(gy[i]) * double(pact_grad_alpha(xv[i], a)); });
      ctx.grad_input(1)[0] += T(sum);
    }
  });
}

/// DoReFa fake quantization of a weight tensor (any shape); see jaq/quant/dorefa.hpp.
template <scalar T>
var<T> dorefa_quantize(tape<T>& tp, var<T> w, const dorefa_spec& spec) {
  (void)qrange::of(spec.bits, false, spec.name);  // 1..8, error names the layer
  tensor<T> y(w.shape());
  const std::span<const T> wv(w.value().data(), std::size_t(w.value().size()));
  dorefa_forward<T>(wv, spec.bits, std::span<T>(y.data(), std::size_t(y.size())));
  return tp.record("dorefa_quantize", std::move(y), {w}, [](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    const auto& x = ctx.input(0);
    const std::size_t n = std::size_t(x.size());
    std::vector<T> g(n);
    dorefa_backward<T>(std::span<const T>(x.data(), n), std::span<const T>(ctx.grad_output().data(), n), g);
    T* gx = ctx.grad_input(0).data();
    for (std::size_t i = 0; i < n; ++i) gx[i] += g[i];
  });
}

/// Min/max fake quantization. Per channel (weights): ranges from x itself. Per tensor
/// (activations): the observer's range (batch range while training, running average after).
template <scalar T>
var<T> minmax_quantize(tape<T>& tp, var<T> x, const minmax_spec& spec, minmax_observer* obs = nullptr, bool training = true) {
  const qrange r = qrange::of(spec.bits, false, spec.name);
  const jaq::shape xs = x.shape();
  const std::int64_t channels = spec.per_channel ? xs[0] : 1;
  const std::int64_t n = xs.numel(), inner = n / channels;
  const T* xv = x.value().data();
  tensor<T> ranges(jaq::shape{channels, 2});  // (C, {lo, hi})
  for (std::int64_t c = 0; c < channels; ++c) {
    T lo = xv[c * inner], hi = lo;
    for (std::int64_t i = c * inner; i < (c + 1) * inner; ++i) {
      lo = std::min(lo, xv[i]);
      hi = std::max(hi, xv[i]);
    }
    if (!spec.per_channel && obs) {
      std::vector<float> lohi{float(lo), float(hi)};
      const minmax_range m = obs->observe(lohi, training);
      lo = T(m.lo);
      hi = T(m.hi);
    }
    ranges[2 * c] = lo;
    ranges[2 * c + 1] = hi;
  }
  tensor<T> y(xs);
  T* yv = y.data();
  parallel_for_chunks(tp.exec(), 0, n, detail::quant_grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t c = i / inner;
      yv[i] = minmax_value(xv[i], ranges[2 * c], ranges[2 * c + 1], r.q_p);
    }
  });
  std::vector<tensor<T>> saved;
  if (tp.needs_backward({x})) saved.push_back(std::move(ranges));  // 2 numbers per channel
  return tp.record(
      "minmax_quantize", std::move(y), {x},
      [n, inner](backward_context<T>& ctx) {
        if (!ctx.needs_grad(0)) return;
        const T* xv = ctx.input(0).data();
        const T* rg = ctx.saved(0).data();
        const T* gy = ctx.grad_output().data();
        bool ow = false;
        T* gx = ctx.grad_input_for_write(0, ow).data();
        parallel_for_chunks(ctx.exec(), 0, n, detail::quant_grain, [&](std::int64_t lo, std::int64_t hi) {
          for (std::int64_t i = lo; i < hi; ++i) {
            const std::int64_t c = i / inner;
            const T d = gy[i] * minmax_grad_input(xv[i], rg[2 * c], rg[2 * c + 1]);
            gx[i] = ow ? d : gx[i] + d;
          }
        });
      },
      std::move(saved));
}

}  // namespace jaq::quant
