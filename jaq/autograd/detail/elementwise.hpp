// jaq/autograd/detail/elementwise.hpp: SIMD elementwise kernels with scalar tails, split into
// fixed chunks over the tape's backend. Each has a scalar reference in the tests.
#pragma once

#include <algorithm>
#include <cstdint>

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::detail {

inline constexpr std::int64_t elementwise_grain = 1 << 16;

/// y[i] = clamp(x[i], 0, hi)  (hi = +inf for ReLU)
template <scalar T, host_backend Backend>
void clamp_forward(Backend exec, const T* x, T* y, std::int64_t n, T hi) {
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for_chunks(exec, 0, n, elementwise_grain, [&](std::int64_t lo, std::int64_t end) {
    const B zero(T(0)), top(hi);
    std::int64_t i = lo;
    for (; i + w <= end; i += w) xsimd::min(xsimd::max(B::load_unaligned(x + i), zero), top).store_unaligned(y + i);
    for (; i < end; ++i) y[i] = std::min(std::max(x[i], T(0)), hi);
  });
}

/// gx[i] (+)= gy[i] where 0 < y[i] < hi (the clamp passes the gradient), else 0.
template <scalar T, host_backend Backend>
void clamp_backward(Backend exec, const T* y, const T* gy, T* gx, std::int64_t n, T hi, bool overwrite) {
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for_chunks(exec, 0, n, elementwise_grain, [&](std::int64_t lo, std::int64_t end) {
    const B zero(T(0)), top(hi);
    std::int64_t i = lo;
    for (; i + w <= end; i += w) {
      const B yv = B::load_unaligned(y + i);
      B g = xsimd::select((yv > zero) & (yv < top), B::load_unaligned(gy + i), zero);
      if (!overwrite) g += B::load_unaligned(gx + i);
      g.store_unaligned(gx + i);
    }
    for (; i < end; ++i) {
      const T g = (y[i] > T(0) && y[i] < hi) ? gy[i] : T(0);
      gx[i] = overwrite ? g : gx[i] + g;
    }
  });
}

/// y[i] (+)= x[i]
template <scalar T, host_backend Backend>
void accumulate(Backend exec, const T* x, T* y, std::int64_t n, bool overwrite) {
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for_chunks(exec, 0, n, elementwise_grain, [&](std::int64_t lo, std::int64_t end) {
    if (overwrite) {
      std::copy(x + lo, x + end, y + lo);
      return;
    }
    std::int64_t i = lo;
    for (; i + w <= end; i += w) (B::load_unaligned(y + i) + B::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < end; ++i) y[i] += x[i];
  });
}

/// z[i] = x[i] + y[i]
template <scalar T, host_backend Backend>
void add(Backend exec, const T* x, const T* y, T* z, std::int64_t n) {
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for_chunks(exec, 0, n, elementwise_grain, [&](std::int64_t lo, std::int64_t end) {
    std::int64_t i = lo;
    for (; i + w <= end; i += w) (B::load_unaligned(x + i) + B::load_unaligned(y + i)).store_unaligned(z + i);
    for (; i < end; ++i) z[i] = x[i] + y[i];
  });
}

}  // namespace jaq::detail
