// jaq/quant/integer_conv.hpp: the integer-arithmetic reference forward of a quantized conv and
// linear layer (int8/uint8 codes, int32 accumulation), and the rule that makes the fake-quant
// forward equal to it bit for bit.
//
// A quantized layer with activation step s_a (per tensor) and weight steps s_w[o] (per output
// channel, or one for all) computes, in exact arithmetic,
//     y[o] = sum_k (a_k s_a)(w_ok s_w[o]) = (s_a s_w[o]) * sum_k a_k w_ok        (a, w: codes)
// An accelerator computes acc = sum_k a_k w_ok in int32 and rescales. jaq's fake-quant forward
// computes the same sum on the codes held in float (a float GEMM) and rescales with the same
// `rescale` below. The two are identical, not merely close, because:
//   every product a_k w_ok is an integer with |a_k w_ok| <= Q_a Q_w, and every partial sum, in
//   any order the GEMM picks, is an integer of magnitude <= K Q_a Q_w. While K Q_a Q_w <= 2^24
//   every such integer is a float, so every float addition and multiplication is exact, the
//   float accumulator equals the int32 accumulator, and the same rescale gives the same bits.
// `exact_reduction_limit` gives the largest K (= C * kh * kw) for which this holds; e.g. uint4
// activations x int4 weights: K <= 139810; uint8 x int8: K <= 514. Beyond it the float forward
// differs from the integer one by float rounding of the sum (|error| <= K * u * sum|a w| s_a s_w,
// u = 2^-24), which the tests bound too.
//
//   auto g = jaq::conv_geometry::of({.c = 3, .n = 2, .h = 8, .w = 8, .kh = 3, .kw = 3, .pad = 1, .co = 4});
//   jaq::quant::conv2d_int32<std::uint8_t>(g, act_codes, w_codes, acc);   // acc: (N, O, Ho, Wo)
//   y[i] = jaq::quant::rescale(acc[i], s_a, s_w[o]);
//
// conv2d_int32 and linear_int32 are the slow, obvious references (NCHW). conv2d_int32_cm is the
// fast kernel the whole-network integer forward (jaq/quant/integer_model.hpp) runs, on the
// engine's channel-major layout: im2col of the codes (as int16) and a blocked int16 x int16 ->
// int32 GEMM per group, or direct loops for a depthwise conv, in parallel over (group, images).
// It is integer arithmetic throughout, so its result does not depend on the blocking, the
// thread count or the SIMD copy (an AVX2 one is chosen at run time where the build lacks it);
// tests check it equals conv2d_int32 on random shapes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/conv_geometry.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::quant {

/// The geometry of the integer convolutions is the engine's, jaq::conv_geometry
/// (jaq/core/conv_geometry.hpp), with co and groups set.
using jaq::conv_geometry;

/// Largest reduction length K for which a float accumulation of code products is exact:
/// K * q_a * q_w <= 2^24, q_a and q_w the largest code magnitudes.
constexpr std::int64_t exact_reduction_limit(int q_a, int q_w) {
  const std::int64_t p = std::int64_t(q_a) * q_w;
  return p == 0 ? (std::int64_t(1) << 62) : (std::int64_t(1) << 24) / p;
}

/// The one rescale both the integer and the fake-quant forward use: (acc * s_a) * s_w in float.
/// Exact conversion of acc requires |acc| <= 2^24, which the reduction limit guarantees.
template <class T>
JAQ_HOST_DEVICE inline T rescale(T acc, T s_a, T s_w) {
  return (acc * s_a) * s_w;
}

/// Integer convolution: act (N, C, H, W) codes of type A (int8 or uint8), w (O, C/groups, k, k) int8
/// codes, acc (N, O, Ho, Wo) int32. Zero padding (code 0 is the value 0 on every jaq grid whose
/// integer path exists: LSQ and PACT have no zero point).
template <class A>
void conv2d_int32(const conv_geometry& g, std::span<const A> act, std::span<const std::int8_t> w, std::span<std::int32_t> acc) {
  JAQ_ASSERT(std::int64_t(act.size()) == g.input_size());
  JAQ_ASSERT(std::int64_t(w.size()) == g.weight_size());
  JAQ_ASSERT(std::int64_t(acc.size()) == g.output_size());
  const int ho = int(g.ho), wo = int(g.wo);
  const int cg = int(g.c / g.groups), og = int(g.co / g.groups);
  for (int n = 0; n < g.n; ++n)
    for (int o = 0; o < g.co; ++o)
      for (int y = 0; y < ho; ++y)
        for (int x = 0; x < wo; ++x) {
          std::int32_t sum = 0;
          const int c0 = (o / og) * cg;
          for (int c = c0; c < c0 + cg; ++c)
            for (int ky = 0; ky < g.kh; ++ky)
              for (int kx = 0; kx < g.kw; ++kx) {
                const int iy = y * g.stride - g.pad + ky, ix = x * g.stride - g.pad + kx;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const std::int32_t a = act[((std::size_t(n) * g.c + c) * g.h + iy) * g.w + ix];
                const std::int32_t b = w[((std::size_t(o) * cg + (c - c0)) * g.kh + ky) * g.kw + kx];
                sum += a * b;
              }
          acc[((std::size_t(n) * g.co + o) * ho + y) * wo + x] = sum;
        }
}

namespace detail {

/// col (cg*k*k, (n1 - n0) * Ho * Wo) int16 from images [n0, n1) of group gi of channel-major
/// codes act (C, N, H, W); rows (c, ky, kx), columns (n, oy, ox); zeros in the padding.
template <class A>
void im2col_codes(const conv_geometry& g, const A* act, int gi, int n0, int n1, std::int16_t* col) {
  JAQ_ASSERT(g.kh == g.kw);  // square kernels (every jaq layer)
  const int cg = int(g.c / g.groups), ho = int(g.ho), wo = int(g.wo), k = int(g.kh);
  const std::int64_t hw = std::int64_t(g.h) * g.w, howo = std::int64_t(ho) * wo;
  const std::int64_t ccols = (n1 - n0) * howo;
  for (int r = 0; r < cg * k * k; ++r) {
    const int c = gi * cg + r / (k * k), ky = (r / k) % k, kx = r % k;
    for (int n = n0; n < n1; ++n) {
      const A* src = act + (std::int64_t(c) * g.n + n) * hw;
      std::int16_t* dst = col + r * ccols + (n - n0) * howo;
      for (int oy = 0; oy < ho; ++oy) {
        const int iy = oy * g.stride - g.pad + ky;
        std::int16_t* d = dst + std::int64_t(oy) * wo;
        if (iy < 0 || iy >= g.h) {
          std::fill(d, d + wo, std::int16_t(0));
          continue;
        }
        const A* s = src + std::int64_t(iy) * g.w;
        if (g.stride == 1) {  // one contiguous run between the padded borders
          const int lo = std::clamp(int(g.pad) - kx, 0, wo), hi = std::clamp(int(g.w + g.pad) - kx, lo, wo);
          std::fill(d, d + lo, std::int16_t(0));
          for (int ox = lo; ox < hi; ++ox) d[ox] = s[ox - g.pad + kx];
          std::fill(d + hi, d + wo, std::int16_t(0));
          continue;
        }
        for (int ox = 0; ox < wo; ++ox) {
          const int ix = ox * g.stride - g.pad + kx;
          d[ox] = (ix >= 0 && ix < g.w) ? std::int16_t(s[ix]) : std::int16_t(0);
        }
      }
    }
  }
}

/// out(m, ncols) (row stride ld_out) = w(m, k) * col(k, ncols), int16 operands, int32 sums:
/// 4 output rows x 256 columns of accumulators (4 KiB) per tile, the k loop innermost-but-one
/// so that one row of col is read once per 4 output rows.
[[gnu::always_inline]] inline void gemm_i16_body(int m, int ncols, int k, const std::int16_t* w, const std::int16_t* col, std::int32_t* out,
                                                 std::int64_t ld_out) {
  constexpr int mr = 4, nt = 256;
  for (int j0 = 0; j0 < ncols; j0 += nt) {
    const int jn = std::min(nt, ncols - j0);
    for (int o0 = 0; o0 < m; o0 += mr) {
      const int on = std::min(mr, m - o0);
      alignas(64) std::int32_t acc[mr][nt] = {};
      for (int kk = 0; kk < k; ++kk) {
        const std::int16_t* c = col + std::int64_t(kk) * ncols + j0;
        if (on == mr) {
          const std::int32_t w0 = w[(o0 + 0) * k + kk], w1 = w[(o0 + 1) * k + kk];
          const std::int32_t w2 = w[(o0 + 2) * k + kk], w3 = w[(o0 + 3) * k + kk];
          for (int j = 0; j < jn; ++j) {
            const std::int32_t v = c[j];
            acc[0][j] += w0 * v;
            acc[1][j] += w1 * v;
            acc[2][j] += w2 * v;
            acc[3][j] += w3 * v;
          }
        } else {
          for (int r = 0; r < on; ++r) {
            const std::int32_t wr = w[(o0 + r) * k + kk];
            for (int j = 0; j < jn; ++j) acc[r][j] += wr * std::int32_t(c[j]);
          }
        }
      }
      for (int r = 0; r < on; ++r) std::copy(acc[r], acc[r] + jn, out + (o0 + r) * ld_out + j0);
    }
  }
}

inline void gemm_i16_portable(int m, int ncols, int k, const std::int16_t* w, const std::int16_t* col, std::int32_t* out,
                              std::int64_t ld_out) {
  gemm_i16_body(m, ncols, k, w, col, out, ld_out);
}

#if JAQ_X86_RUNTIME_AVX2
// The same body compiled for AVX2; integer arithmetic, so the two copies agree exactly.
__attribute__((target("avx2"))) inline void gemm_i16_avx2(int m, int ncols, int k, const std::int16_t* w, const std::int16_t* col,
                                                          std::int32_t* out, std::int64_t ld_out) {
  gemm_i16_body(m, ncols, k, w, col, out, ld_out);
}
#endif

inline void gemm_i16(int m, int ncols, int k, const std::int16_t* w, const std::int16_t* col, std::int32_t* out, std::int64_t ld_out) {
#if JAQ_X86_RUNTIME_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return gemm_i16_avx2(m, ncols, k, w, col, out, ld_out);
#endif
  gemm_i16_portable(m, ncols, k, w, col, out, ld_out);
}

/// Depthwise (groups = C = O): channel c of image n, direct loops.
template <class A>
void depthwise_int32(const conv_geometry& g, const A* act, const std::int8_t* w, int c, int n, std::int32_t* acc) {
  const int ho = int(g.ho), wo = int(g.wo), k = int(g.kh);
  const A* src = act + (std::int64_t(c) * g.n + n) * g.h * g.w;
  const std::int8_t* f = w + std::int64_t(c) * k * k;
  std::int32_t* dst = acc + (std::int64_t(c) * g.n + n) * ho * wo;
  for (int oy = 0; oy < ho; ++oy)
    for (int ox = 0; ox < wo; ++ox) {
      std::int32_t sum = 0;
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * g.stride - g.pad + ky;
        if (iy < 0 || iy >= g.h) continue;
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * g.stride - g.pad + kx;
          if (ix >= 0 && ix < g.w) sum += std::int32_t(src[iy * g.w + ix]) * std::int32_t(f[ky * k + kx]);
        }
      }
      dst[oy * wo + ox] = sum;
    }
}

}  // namespace detail

/// The fast integer convolution, channel-major: act (C, N, H, W) codes of type A (int8 or
/// uint8), w (O, C/groups, k, k) int8 codes, acc (O, N, Ho, Wo) int32. Same sums as
/// conv2d_int32 (which is NCHW), exactly. `g.n` is N.
template <class A>
void conv2d_int32_cm(tbb_backend ex, const conv_geometry& g, std::span<const A> act, std::span<const std::int8_t> w,
                     std::span<std::int32_t> acc) {
  JAQ_ASSERT(std::int64_t(act.size()) == g.input_size());
  JAQ_ASSERT(std::int64_t(w.size()) == g.weight_size());
  JAQ_ASSERT(std::int64_t(acc.size()) == g.output_size());
  JAQ_ASSERT(g.c % g.groups == 0 && g.co % g.groups == 0);
  if (g.depthwise()) {
    parallel_for(ex, 0, std::int64_t(g.c) * g.n,
                 [&](std::int64_t t) { detail::depthwise_int32(g, act.data(), w.data(), int(t / g.n), int(t % g.n), acc.data()); });
    return;
  }
  const int og = int(g.co / g.groups);
  const int k = int(g.reduction());
  const std::int64_t howo = std::int64_t(g.ho) * g.wo;
  const std::vector<std::int16_t> w16(w.begin(), w.end());  // (O, K)
  const int per_chunk = int(std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, howo)));
  const int chunks = (int(g.n) + per_chunk - 1) / per_chunk;
  parallel_for(ex, 0, std::int64_t(g.groups) * chunks, [&](std::int64_t t) {
    const int gi = int(t / chunks), n0 = int(t % chunks) * per_chunk, n1 = std::min(int(g.n), n0 + per_chunk);
    const int ncols = int((n1 - n0) * howo);
    std::vector<std::int16_t> col(std::size_t(k) * std::size_t(ncols));
    detail::im2col_codes(g, act.data(), gi, n0, n1, col.data());
    detail::gemm_i16(og, ncols, k, w16.data() + std::int64_t(gi) * og * k, col.data(),
                     acc.data() + std::int64_t(gi) * og * g.n * howo + n0 * howo, std::int64_t(g.n) * howo);
  });
}

/// Integer linear layer: act (N, in) codes, w (out, in) int8 codes, acc (N, out) int32.
template <class A>
void linear_int32(int batch, int in, int out, std::span<const A> act, std::span<const std::int8_t> w, std::span<std::int32_t> acc) {
  JAQ_ASSERT(act.size() == std::size_t(batch) * in && w.size() == std::size_t(out) * in);
  JAQ_ASSERT(acc.size() == std::size_t(batch) * out);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      std::int32_t sum = 0;
      for (int k = 0; k < in; ++k) sum += std::int32_t(act[std::size_t(n) * in + k]) * std::int32_t(w[std::size_t(o) * in + k]);
      acc[std::size_t(n) * out + o] = sum;
    }
}

/// Rescale an (N, O, spatial) accumulator with per-output-channel weight steps (s_w.size() == O,
/// or 1 for a per-tensor weight quantizer) and an optional per-channel bias added afterwards.
template <class Acc>
void rescale_output(std::span<const Acc> acc, int batch, int channels, float s_a, std::span<const float> s_w, std::span<const float> bias,
                    std::span<float> out) {
  JAQ_ASSERT(acc.size() == out.size() && acc.size() % (std::size_t(batch) * channels) == 0);
  JAQ_ASSERT(s_w.size() == std::size_t(channels) || s_w.size() == 1);
  const std::size_t spatial = acc.size() / (std::size_t(batch) * channels);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < channels; ++o) {
      const float sw = s_w.size() == 1 ? s_w[0] : s_w[std::size_t(o)];
      const float b = bias.empty() ? 0.0f : bias[std::size_t(o)];
      const std::size_t base = (std::size_t(n) * channels + o) * spatial;
      for (std::size_t i = 0; i < spatial; ++i) {
        const float r = rescale<float>(static_cast<float>(acc[base + i]), s_a, sw);
        out[base + i] = bias.empty() ? r : r + b;
      }
    }
}

}  // namespace jaq::quant
