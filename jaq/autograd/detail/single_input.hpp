// jaq/autograd/detail/single_input.hpp: the direct kernel for a convolution with ONE input
// channel (groups 1), the first layer of a network on grayscale images. Its GEMM would have
// K = kh*kw (9 for 3x3): the column matrix is the input copied kh*kw times and OpenBLAS then
// packs it again, so the copies cost more than the multiply. Here each image's phase planes
// (im2col.hpp) are built once and every output channel reads them in place, on the rows of the
// output grid (dw_plan, depthwise.hpp, gives the tap offsets).
//
// Two implementations of forward and weight gradient: AVX2 + FMA intrinsics for float, chosen
// at run time where the CPU has them (any build), register-blocked (8 output channels per input
// load in forward, 9 taps per gradient load in the weight gradient); and a portable one on
// jaq::simd (the wide-grid multiply-adds of the depthwise kernel) for other CPUs and for
// double. The input gradient (rare: a first layer's input is data) stays on the GEMM path,
// where the column matrix is not the cost. Results are the same for every thread count: forward
// computes each image in one task; the weight gradient sums fixed chunks of images in vector
// lanes, chunk partials added in chunk order.
//
//   jaq::detail::single_input_forward(exec, g, co, x, w, y);            // x (1, N, H, W)
//   jaq::detail::single_input_weight_grad(exec, g, co, x, gy, gw, true);
// (conv_engine.hpp takes these for is_single_input geometries.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "jaq/autograd/detail/bn_avx2.hpp"
#include "jaq/autograd/detail/depthwise.hpp"
#include "jaq/autograd/detail/im2col.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::detail {

/// Images per weight-gradient chunk: fixed, so the sums do not depend on the thread count.
inline constexpr std::int64_t single_input_chunk = 8;

/// Whether the float kernels take their AVX2 copies (`allow = false` forces the portable ones;
/// the tests compare the two).
template <class T>
bool single_input_avx2(bool allow) {
  if constexpr (std::is_same_v<T, float>) return allow && avx2::available();
  return false;
}

#if defined(__GNUC__) && defined(__x86_64__)
namespace avx2 {

/// Lanes [0, n) on, n in [1, 8].
[[gnu::target("avx2,fma")]] inline __m256i first_lanes(std::int64_t n) {
  alignas(32) static const int m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + 8 - n));
}

/// NB output channels of one output row (wo values): y_o = sum_k w_ok t_k, taps added in k
/// order from zero, 8 columns at a time (the last 1-8 masked).
template <int NB>
[[gnu::target("avx2,fma")]] inline void forward_row(const float* base, const std::int64_t* off, std::int64_t kk, const float* w,
                                                    float* const* yrow, std::int64_t wo) {
  for (std::int64_t i = 0; i < wo; i += 8) {
    __m256 acc[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) acc[j] = _mm256_setzero_ps();
    if (i + 8 <= wo) {
      for (std::int64_t k = 0; k < kk; ++k) {
        const __m256 t = _mm256_loadu_ps(base + off[k] + i);
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j * kk + k), t, acc[j]);
      }
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) _mm256_storeu_ps(yrow[j] + i, acc[j]);
      continue;
    }
    const __m256i m = first_lanes(wo - i);
    for (std::int64_t k = 0; k < kk; ++k) {
      const __m256 t = _mm256_maskload_ps(base + off[k] + i, m);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j * kk + k), t, acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) _mm256_maskstore_ps(yrow[j] + i, m, acc[j]);
  }
}

/// One image's output (co channels, rows of y `ystride` apart per channel) from its phases,
/// 8 output channels per pass over a row.
[[gnu::target("avx2,fma")]] inline void single_input_image(const dw_plan& P, const float* ph, const std::int64_t* off, std::int64_t kk,
                                                           std::int64_t co, const float* w, float* y, std::int64_t ystride) {
  float* rows[8];
  for (std::int64_t oy = 0; oy < P.ho; ++oy) {
    const float* base = ph + oy * P.L.wq;
    for (std::int64_t o0 = 0; o0 < co; o0 += 8) {
      const std::int64_t nb = std::min<std::int64_t>(8, co - o0);
      for (std::int64_t j = 0; j < nb; ++j) rows[j] = y + (o0 + j) * ystride + oy * P.wo;
      const float* wb = w + o0 * kk;
      with_block<8>(nb, [&](auto NB) { forward_row<NB()>(base, off, kk, wb, rows, P.wo); });
    }
  }
}

/// acc[j] (8 lanes) += sum_i gyw[i] * ph[off[j] + i] over the wide grid (len values), KB
/// taps per pass over gyw (a 3x3 kernel's 9 in one pass).
template <int KB>
[[gnu::target("avx2,fma")]] inline void grad_block(const float* gyw, std::int64_t len, const float* ph, const std::int64_t* off,
                                                   float* acc) {
  __m256 a[KB];
#pragma GCC unroll 9
  for (int j = 0; j < KB; ++j) a[j] = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    const __m256 g = _mm256_loadu_ps(gyw + i);
#pragma GCC unroll 9
    for (int j = 0; j < KB; ++j) a[j] = _mm256_fmadd_ps(g, _mm256_loadu_ps(ph + off[j] + i), a[j]);
  }
  if (i < len) {
    const __m256i m = first_lanes(len - i);
    const __m256 g = _mm256_maskload_ps(gyw + i, m);
#pragma GCC unroll 9
    for (int j = 0; j < KB; ++j) a[j] = _mm256_fmadd_ps(g, _mm256_maskload_ps(ph + off[j] + i, m), a[j]);
  }
#pragma GCC unroll 9
  for (int j = 0; j < KB; ++j) _mm256_storeu_ps(acc + 8 * j, _mm256_add_ps(_mm256_loadu_ps(acc + 8 * j), a[j]));
}

/// acc[8 (o * kk + k) + lane] += one image's weight-gradient terms; gyw: scratch for one
/// output plane on the wide grid.
[[gnu::target("avx2,fma")]] inline void single_input_grad_image(const dw_plan& P, const float* ph, const std::int64_t* off, std::int64_t kk,
                                                                std::int64_t co, const float* gy, std::int64_t gystride, float* gyw,
                                                                float* acc) {
  for (std::int64_t o = 0; o < co; ++o) {
    P.widen(gy + o * gystride, gyw);  // the extra columns are zero
    for (std::int64_t k0 = 0; k0 < kk; k0 += 9) {
      float* ao = acc + 8 * (o * kk + k0);
      const std::int64_t* ok = off + k0;
      with_block<9>(std::min<std::int64_t>(9, kk - k0), [&](auto KB) { grad_block<KB()>(gyw, P.len, ph, ok, ao); });
    }
  }
}

/// out[i] = the 8 lanes a[8 i, 8 i + 8) added in order.
[[gnu::target("avx2,fma")]] inline void totals8(const float* a, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = hsum8(_mm256_loadu_ps(a + 8 * i));
}

}  // namespace avx2
#endif

/// Tap offsets of dw_plan, (ky, kx) order.
inline std::vector<std::int64_t> single_input_taps(const conv_geometry& g, const dw_plan& P) {
  std::vector<std::int64_t> off(static_cast<std::size_t>(g.kh * g.kw));
  for (std::int64_t ky = 0; ky < g.kh; ++ky)
    for (std::int64_t kx = 0; kx < g.kw; ++kx) off[std::size_t(ky * g.kw + kx)] = P.tap(ky, kx);
  return off;
}

/// y (Co, N, Ho, Wo) = conv(x (1, N, H, W), w (Co, 1, kh, kw)); one image per task.
template <scalar T, host_backend B>
void single_input_forward(B exec, const conv_geometry& g, std::int64_t co, const T* x, const T* w, T* y, bool allow_avx2 = true) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, kk = g.kh * g.kw, plane = g.n * howo;
  const dw_plan P(g);
  const auto off = single_input_taps(g, P);
  const bool fast = single_input_avx2<T>(allow_avx2);
  parallel_for(exec, 0, g.n, [&](std::int64_t n) {
    T* ph = scratch<T>(3, static_cast<std::size_t>(P.L.plane() + P.wide_size()));
    image_phases(g, P.L, x + n * hw, ph);
#if defined(__GNUC__) && defined(__x86_64__)
    if constexpr (std::is_same_v<T, float>)
      if (fast) return avx2::single_input_image(P, ph, off.data(), kk, co, w, y + n * howo, plane);
#endif
    T* wide = ph + P.L.plane();
    for (std::int64_t o = 0; o < co; ++o) {
      std::fill(wide, wide + P.wide_size(), T(0));
      for (std::int64_t k = 0; k < kk; ++k) simd::axpy(P.len, w[o * kk + k], ph + off[std::size_t(k)], wide);
      P.narrow(wide, y + o * plane + n * howo);
    }
  });
}

/// Weight gradient of single_input_forward from gy (Co, N, Ho, Wo): gw (Co, 1, kh, kw) (+)=
/// dL/dw. (The input gradient, rare for a first layer, goes through the engine's GEMM path.)
template <scalar T, host_backend B>
void single_input_weight_grad(B exec, const conv_geometry& g, std::int64_t co, const T* x, const T* gy, T* gw, bool gw_overwrite,
                              bool allow_avx2 = true) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, kk = g.kh * g.kw, plane = g.n * howo, m = co * kk;
  const dw_plan P(g);
  const auto off = single_input_taps(g, P);
  const std::int64_t nph = P.L.plane();
  const bool fast = single_input_avx2<T>(allow_avx2);
  const std::int64_t nchunks = (g.n + single_input_chunk - 1) / single_input_chunk;
  std::vector<T> part(static_cast<std::size_t>(nchunks * m));  // one gw partial per chunk
  parallel_for(exec, 0, nchunks, [&](std::int64_t ci) {
    const std::int64_t n0 = ci * single_input_chunk, n1 = std::min(g.n, n0 + single_input_chunk);
    T* ph = scratch<T>(3, static_cast<std::size_t>(nph + P.wide_size()));
    T* gyw = ph + nph;  // one output plane on the wide grid
    T* out = part.data() + ci * m;
#if defined(__GNUC__) && defined(__x86_64__)
    if constexpr (std::is_same_v<T, float>)
      if (fast) {
        std::vector<float> acc(static_cast<std::size_t>(8 * m), 0.0f);
        for (std::int64_t n = n0; n < n1; ++n) {
          image_phases(g, P.L, x + n * hw, ph);
          avx2::single_input_grad_image(P, ph, off.data(), kk, co, gy + n * howo, plane, gyw, acc.data());
        }
        return avx2::totals8(acc.data(), m, out);
      }
#endif
    std::vector<simd::lane_sum<T>> acc(static_cast<std::size_t>(m));
    for (std::int64_t n = n0; n < n1; ++n) {
      image_phases(g, P.L, x + n * hw, ph);
      for (std::int64_t o = 0; o < co; ++o) {
        P.widen(gy + o * plane + n * howo, gyw);  // the extra columns are zero
        for (std::int64_t k = 0; k < kk; ++k) simd::dot_add(P.len, gyw, ph + off[std::size_t(k)], acc[std::size_t(o * kk + k)]);
      }
    }
    for (std::int64_t i = 0; i < m; ++i) out[i] = acc[std::size_t(i)].total();
  });
  add_chunk_partials(part, nchunks, m, gw, gw_overwrite);
}

}  // namespace jaq::detail
