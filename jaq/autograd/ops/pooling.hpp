// jaq/autograd/ops/pooling.hpp: global average pooling.
//
//   auto f = jaq::global_avg_pool(tp, x);   // x (C, N, H, W) -> (N, C)
#pragma once

#include <utility>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq {

template <scalar T>
var<T> global_avg_pool(tape<T>& tp, var<T> x) {
  const jaq::shape& xs = x.shape();
  if (xs.rank != 4) throw model_error("global_avg_pool: input " + xs.str() + " must be (C, N, H, W)");
  const std::int64_t c = xs[0], n = xs[1], hw = xs[2] * xs[3];
  tensor<T> y(jaq::shape{n, c});  // (N, C)
  const T* xv = x.value().data();
  parallel_for(tp.exec(), 0, c, [&](std::int64_t ch) {
    for (std::int64_t i = 0; i < n; ++i) {
      const T* p = xv + (ch * n + i) * hw;
      T s = T(0);
      for (std::int64_t k = 0; k < hw; ++k) s += p[k];
      y[i * c + ch] = s / static_cast<T>(hw);
    }
  });
  return tp.record("global_avg_pool", std::move(y), {x}, [c, n, hw](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    bool ow = false;
    tensor<T>& gx = ctx.grad_input_for_write(0, ow);
    const tensor<T>& gy = ctx.grad_output();
    parallel_for(ctx.exec(), 0, c, [&](std::int64_t ch) {
      for (std::int64_t i = 0; i < n; ++i) {
        const T g = gy[i * c + ch] / static_cast<T>(hw);
        T* p = gx.data() + (ch * n + i) * hw;
        for (std::int64_t k = 0; k < hw; ++k) p[k] = ow ? g : p[k] + g;
      }
    });
  });
}

}  // namespace jaq
