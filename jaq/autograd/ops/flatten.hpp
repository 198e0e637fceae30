// jaq/autograd/ops/flatten.hpp: feature maps to per-sample vectors, and layout conversion.
//
//   auto v = jaq::flatten(tp, x);                        // (C, N, H, W) -> (N, C*H*W); (N, F) unchanged
//   jaq::tensor<float> cnhw = jaq::to_channel_major(nchw);   // data loaders give (N, C, H, W)
#pragma once

#include <algorithm>
#include <utility>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq {

/// (N, C, H, W) -> (C, N, H, W), a plain copy (no tape): for model inputs.
template <scalar T>
tensor<T> to_channel_major(const tensor<T>& nchw) {
  const jaq::shape& s = nchw.shape();
  if (s.rank != 4) throw model_error("to_channel_major: input " + s.str() + " must be (N, C, H, W)");
  const std::int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  tensor<T> out(jaq::shape{c, n, s[2], s[3]});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t ch = 0; ch < c; ++ch)
      std::copy(nchw.data() + (i * c + ch) * hw, nchw.data() + (i * c + ch + 1) * hw, out.data() + (ch * n + i) * hw);
  return out;
}

template <scalar T>
var<T> flatten(tape<T>& tp, var<T> x) {
  const jaq::shape& xs = x.shape();
  if (xs.rank == 2) {  // already (N, F): an identity node keeps the graph uniform
    return tp.record("flatten", x.value().clone(), {x}, [](backward_context<T>& ctx) {
      if (!ctx.needs_grad(0)) return;
      tensor<T>& gx = ctx.grad_input(0);
      for (std::int64_t i = 0; i < gx.size(); ++i) gx[i] += ctx.grad_output()[i];
    });
  }
  if (xs.rank != 4) throw model_error("flatten: input " + xs.str() + " must be (C, N, H, W) or (N, F)");
  const std::int64_t c = xs[0], n = xs[1], hw = xs[2] * xs[3];
  tensor<T> y(jaq::shape{n, c * hw});
  const T* xv = x.value().data();
  for (std::int64_t ch = 0; ch < c; ++ch)
    for (std::int64_t i = 0; i < n; ++i) std::copy(xv + (ch * n + i) * hw, xv + (ch * n + i + 1) * hw, y.data() + i * c * hw + ch * hw);
  return tp.record("flatten", std::move(y), {x}, [c, n, hw](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    tensor<T>& gx = ctx.grad_input(0);
    const T* gy = ctx.grad_output().data();
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < hw; ++k) gx[(ch * n + i) * hw + k] += gy[i * c * hw + ch * hw + k];
  });
}

}  // namespace jaq
