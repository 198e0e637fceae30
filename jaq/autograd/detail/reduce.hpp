// jaq/autograd/detail/reduce.hpp: per-channel sums with SIMD lanes, accurate and deterministic:
// each block of `block` elements is summed in T across SIMD lanes, block totals are added in
// double, always in the same order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "jaq/autograd/detail/bn_avx2.hpp"
#include "jaq/autograd/tensor.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::detail {

inline constexpr std::int64_t reduce_block = 1024;

template <class T>
T hsum(simd::batch<T> b) {
  alignas(64) T lanes[simd::batch<T>::size];
  b.store_aligned(lanes);
  T s = T(0);
  for (std::size_t i = 0; i < simd::batch<T>::size; ++i) s += lanes[i];
  return s;
}

/// Whether the float kernels below take their AVX2 copies (bn_avx2.hpp): only where this build
/// is narrower than AVX2 and the CPU has AVX2 and FMA. `allow = false` forces the portable path
/// (the tests compare the two).
template <class T>
bool use_avx2(bool allow) {
  if constexpr (std::is_same_v<T, float>) return allow && simd::width<float> < 8 && avx2::available();
  return false;
}

/// sum(x - shift) and sum((x - shift)^2) over m elements.
template <scalar T>
void shifted_moments(const T* x, std::int64_t m, T shift, double& s1, double& s2, bool allow_avx2 = true) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2<T>(allow_avx2)) return avx2::shifted_moments(x, m, shift, s1, s2);
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  s1 = 0.0;
  s2 = 0.0;
  const B sh(shift);
  for (std::int64_t lo = 0; lo < m; lo += reduce_block) {
    const std::int64_t hi = std::min(m, lo + reduce_block);
    B a1(T(0)), a2(T(0));
    std::int64_t i = lo;
    for (; i + w <= hi; i += w) {
      const B d = B::load_unaligned(x + i) - sh;
      a1 += d;
      a2 += d * d;
    }
    T t1 = hsum(a1), t2 = hsum(a2);
    for (; i < hi; ++i) {
      const T d = x[i] - shift;
      t1 += d;
      t2 += d * d;
    }
    s1 += static_cast<double>(t1);
    s2 += static_cast<double>(t2);
  }
}

/// The gradient that passes a clamp to [0, hi] whose output is y: g where 0 < y < hi, else 0.
/// With y == nullptr there is no clamp.
template <class B, class T>
B pass_clamp(B g, const T* y, std::int64_t i, T hi) {
  if (!y) return g;
  const B yv = B::load_unaligned(y + i);
  return xsimd::select((yv > B(T(0))) & (yv < B(hi)), g, B(T(0)));
}
template <class T>
T pass_clamp(T g, const T* y, std::int64_t i, T hi) {
  return (!y || (y[i] > T(0) && y[i] < hi)) ? g : T(0);
}

/// sum(g') and sum(g' * (x - mean)) over m elements, g' = pass_clamp(g, y, hi).
template <scalar T>
void grad_moments(const T* g, const T* x, std::int64_t m, T mean, double& sg, double& sgx, const T* y = nullptr, T hi = T(0),
                  bool allow_avx2 = true) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2<T>(allow_avx2)) return avx2::grad_moments(g, x, m, mean, sg, sgx, y, hi);
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  sg = 0.0;
  sgx = 0.0;
  const B mu(mean);
  for (std::int64_t lo = 0; lo < m; lo += reduce_block) {
    const std::int64_t end = std::min(m, lo + reduce_block);
    B a1(T(0)), a2(T(0));
    std::int64_t i = lo;
    for (; i + w <= end; i += w) {
      const B gv = pass_clamp(B::load_unaligned(g + i), y, i, hi);
      a1 += gv;
      a2 += gv * (B::load_unaligned(x + i) - mu);
    }
    T t1 = hsum(a1), t2 = hsum(a2);
    for (; i < end; ++i) {
      const T gi = pass_clamp(g[i], y, i, hi);
      t1 += gi;
      t2 += gi * (x[i] - mean);
    }
    sg += static_cast<double>(t1);
    sgx += static_cast<double>(t2);
  }
}

/// y[i] = x[i] * a + b, then clamped to [0, hi] if `clamp`.
template <scalar T>
void affine(const T* x, T* y, std::int64_t m, T a, T b, bool clamp = false, T hi = T(0), bool allow_avx2 = true) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2<T>(allow_avx2)) return avx2::affine(x, y, m, a, b, clamp, hi);
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B av(a), bv(b), zero(T(0)), top(hi);
  std::int64_t i = 0;
  if (clamp) {
    for (; i + w <= m; i += w) xsimd::min(xsimd::max(B::load_unaligned(x + i) * av + bv, zero), top).store_unaligned(y + i);
    for (; i < m; ++i) y[i] = std::min(std::max(x[i] * a + b, T(0)), hi);
    return;
  }
  for (; i + w <= m; i += w) (B::load_unaligned(x + i) * av + bv).store_unaligned(y + i);
  for (; i < m; ++i) y[i] = x[i] * a + b;
}

/// Batch norm's training-mode input gradient: out (+)= a * (g' - k1 - k2 * (x - mean)),
/// g' = pass_clamp(g, y, hi) (y == nullptr: no clamp).
template <scalar T>
void bn_input_grad(const T* g, const T* x, const T* y, T hi, std::int64_t m, T a, T k1, T k2, T mean, T* out, bool overwrite,
                   bool allow_avx2 = true) {
  if constexpr (std::is_same_v<T, float>)
    if (use_avx2<T>(allow_avx2)) return avx2::input_grad(g, x, y, hi, m, a, k1, k2, mean, out, overwrite);
  using B = simd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B av(a), k1v(k1), k2v(k2), mu(mean);
  std::int64_t i = 0;
  for (; i + w <= m; i += w) {
    B v = av * (pass_clamp(B::load_unaligned(g + i), y, i, hi) - k1v - k2v * (B::load_unaligned(x + i) - mu));
    if (!overwrite) v += B::load_unaligned(out + i);
    v.store_unaligned(out + i);
  }
  for (; i < m; ++i) {
    const T v = a * (pass_clamp(g[i], y, i, hi) - k1 - k2 * (x[i] - mean));
    out[i] = overwrite ? v : out[i] + v;
  }
}

}  // namespace jaq::detail
