// jaq/core/simd.hpp: the only header that includes xsimd.
//
// The default build is portable x86-64 (SSE2); `bazel build --config=native` compiles for the
// build machine's CPU. Kernels write against `jaq::simd::batch<T>` and keep a scalar tail, and
// every vectorised kernel has a scalar reference it is tested against.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace jaq::simd {

template <class T>
using batch = xsimd::batch<T>;

/// Lanes of batch<T> in this build.
template <class T>
inline constexpr std::size_t width = xsimd::batch<T>::size;

/// Name of the instruction set this build targets ("sse2", "avx2", ...).
inline const char* arch_name() { return xsimd::default_arch::name(); }

}  // namespace jaq::simd

namespace jaq::simd {

/// y[i] += a * x[i] for i < n (multiply, then add: the same bits as the scalar loop).
template <class T>
inline void axpy(std::int64_t n, T a, const T* x, T* y) {
  std::int64_t i = 0;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    constexpr std::int64_t L = std::int64_t(width<T>);
    const batch<T> av(a);
    for (; i + L <= n; i += L) (batch<T>::load_unaligned(y + i) + av * batch<T>::load_unaligned(x + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

/// A running dot product held lane by lane (one batch) plus a scalar for the tails: adds in a
/// fixed order (lane j takes elements j, j + L, ... of each call), so the total depends only on
/// the calls made, never on threads.
template <class T>
struct lane_sum {
  batch<T> lanes = batch<T>(T(0));
  T tail = T(0);
  /// sum of the lanes in order, then the tail
  T total() const {
    alignas(64) T l[width<T>];
    lanes.store_aligned(l);
    T s = T(0);
    for (std::size_t j = 0; j < width<T>; ++j) s += l[j];
    return s + tail;
  }
};

/// acc += sum_i x[i] * y[i] for i < n (float or double).
template <class T>
inline void dot_add(std::int64_t n, const T* x, const T* y, lane_sum<T>& acc) {
  constexpr std::int64_t L = std::int64_t(width<T>);
  std::int64_t i = 0;
  batch<T> v = acc.lanes;
  for (; i + L <= n; i += L) v = v + batch<T>::load_unaligned(x + i) * batch<T>::load_unaligned(y + i);
  acc.lanes = v;
  for (; i < n; ++i) acc.tail += x[i] * y[i];
}

}  // namespace jaq::simd
