// jaq/autograd/ops/channel_shuffle.hpp: ShuffleNet's channel shuffle.
//
//   auto y = jaq::channel_shuffle(tp, x, 2);   // x (C, N, H, W), C = groups * k
//   // output channel j * groups + i  <-  input channel i * k + j
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "jaq/autograd/tape.hpp"

namespace jaq {

template <scalar T>
var<T> channel_shuffle(tape<T>& tp, var<T> x, std::int64_t groups) {
  const jaq::shape& xs = x.shape();
  if (xs.rank < 2 || groups < 1 || xs[0] % groups)
    throw model_error("channel_shuffle: " + std::to_string(groups) + " groups do not divide the channels of " + xs.str());
  const std::int64_t c = xs[0], k = c / groups, plane = xs.numel() / c;
  tensor<T> y(xs);
  const T* xv = x.value().data();
  for (std::int64_t i = 0; i < groups; ++i)
    for (std::int64_t j = 0; j < k; ++j)
      std::copy(xv + (i * k + j) * plane, xv + (i * k + j + 1) * plane, y.data() + (j * groups + i) * plane);
  return tp.record("channel_shuffle", std::move(y), {x}, [groups, k, plane](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    tensor<T>& gx = ctx.grad_input(0);
    const T* gy = ctx.grad_output().data();
    for (std::int64_t i = 0; i < groups; ++i)
      for (std::int64_t j = 0; j < k; ++j) {
        T* d = gx.data() + (i * k + j) * plane;
        const T* s = gy + (j * groups + i) * plane;
        for (std::int64_t p = 0; p < plane; ++p) d[p] += s[p];
      }
  });
}

}  // namespace jaq
