// jaq/autograd/ops/linear.hpp: fully connected layer y = x W^T + b.
//
//   auto logits = jaq::linear(tp, features, tp.param(fc.weight), tp.param(fc.bias));
//   // features (N, F), weight (O, F), bias (O)  ->  (N, O)
#pragma once

#include <string>
#include <utility>

#include "jaq/autograd/detail/gemm.hpp"
#include "jaq/autograd/tape.hpp"

namespace jaq {

/// x (N, F), w (O, F), b (O) -> (N, O). Pass a default-constructed var as b for no bias.
template <scalar T>
var<T> linear(tape<T>& tp, var<T> x, var<T> w, var<T> b = {}) {
  const jaq::shape& xs = x.shape();
  const jaq::shape& ws = w.shape();
  if (xs.rank != 2 || ws.rank != 2 || xs[1] != ws[1])
    throw model_error("linear: input " + xs.str() + " does not match weight " + ws.str() + " (want (N, F) and (O, F))");
  const std::int64_t n = xs[0], f = xs[1], o = ws[0];
  const bool has_bias = b.valid();
  if (has_bias && (b.shape().rank != 1 || b.shape()[0] != o))
    throw model_error("linear: bias " + b.shape().str() + " does not match " + std::to_string(o) + " outputs");
  tensor<T> y(jaq::shape{n, o});
  if (has_bias) {
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < o; ++j) y[i * o + j] = b.value()[j];
  }
  detail::blas_single_threaded();
  detail::gemm(false, true, n, o, f, T(1), x.value().data(), f, w.value().data(), f, has_bias ? T(1) : T(0), y.data(), o);
  auto back = [n, f, o, has_bias](backward_context<T>& ctx) {
    const T* gy = ctx.grad_output().data();  // (N, O)
    if (ctx.needs_grad(0)) {                 // gx = gy W
      bool ow = false;
      tensor<T>& gx = ctx.grad_input_for_write(0, ow);
      detail::gemm(false, false, n, f, o, T(1), gy, o, ctx.input(1).data(), f, ow ? T(0) : T(1), gx.data(), f);
    }
    if (ctx.needs_grad(1)) {  // gW += gy^T x
      bool ow = false;
      tensor<T>& gw = ctx.grad_input_for_write(1, ow);
      detail::gemm(true, false, o, f, n, T(1), gy, o, ctx.input(0).data(), f, ow ? T(0) : T(1), gw.data(), f);
    }
    if (has_bias && ctx.needs_grad(2)) {  // gb += sum over the batch
      tensor<T>& gb = ctx.grad_input(2);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < o; ++j) gb[j] += gy[i * o + j];
    }
  };
  if (has_bias) return tp.record("linear", std::move(y), {x, w, b}, std::move(back));
  return tp.record("linear", std::move(y), {x, w}, std::move(back));
}

}  // namespace jaq
