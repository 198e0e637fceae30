// jaq/quant/detail/lsq_kernels.hpp: the LSQ quantizer's loops over one row sharing one step,
// vectorised with xsimd (jaq/core/simd.hpp) for float, the scalar definitions of lsq.hpp for
// any other type. Every fake-quant, fused-conv and CSQ path quantizes through these.
//
// Lane for lane they compute exactly what lsq.hpp's scalar functions compute: the division
// v / s (not a multiplication by 1/s), the same clip comparisons (so NaN stays NaN), and
// round half to even through truncation and the exact fractional part (no dependence on the
// rounding mode, as quant::round_half_even). Where the build is narrower than AVX2 and the CPU has
// it, the code and step rows run 8-lane copies (lsq_avx2.hpp) with the same bits. Only the step-gradient sums differ from a plain
// sequential loop: they are accumulated in double in 8 interleaved partial sums, added in a
// fixed order, so they do not depend on the thread count either (tests compare both with the
// scalar reference).
//
//   using G = jaq::quant::unsigned_grid<4>;
//   lsq_code_row<G::q_n, G::q_p>(x, s, s, n, x_hat);            // x_hat = v_hat(x)
//   double ds = lsq_ste_step_row<G::q_n, G::q_p>(x, s, g, n, gx, true);  // STE and sum g dv_hat/ds
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/simd.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/detail/lsq_avx2.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/round.hpp"

namespace jaq::quant::detail {

using fbatch = simd::batch<float>;
inline constexpr std::int64_t flanes = std::int64_t(simd::width<float>);

/// quant::round_half_even lane by lane (bit-identical to the scalar function).
inline fbatch round_lanes(fbatch x) {
  const fbatch one(1.0f), half(0.5f);
  const fbatch t = xsimd::to_float(xsimd::to_int(x));  // truncation, whatever the rounding mode
  const fbatch f = xsimd::select(t > x, t - one, t);   // floor
  const fbatch d = x - f;                              // exact
  const fbatch h = f * half;
  const auto odd = xsimd::to_float(xsimd::to_int(h)) != h;
  const auto up = (d > half) | ((d == half) & odd);
  const fbatch r = xsimd::select(up, f + one, f);
  return xsimd::select(xsimd::abs(x) < fbatch(8388608.0f), r, x);  // 2^23 on (and NaN, inf): as is
}

template <int QN, int QP>
inline fbatch code_lanes(fbatch v, fbatch s) {
  const fbatch r = v / s, lo = fbatch(-float(QN)), hi = fbatch(float(QP));
  return round_lanes(xsimd::select(r < lo, lo, xsimd::select(r > hi, hi, r)));
}

template <int QN, int QP>
inline fbatch inside_of(fbatch r) {  // d v_hat / d v as 1 or 0, from r = v / s
  return xsimd::select((r >= fbatch(-float(QN))) & (r <= fbatch(float(QP))), fbatch(1.0f), fbatch(0.0f));
}

template <int QN, int QP>
inline fbatch step_of(fbatch r) {  // d v_hat / d s per element before the scale, from r = v / s
  const fbatch lo = fbatch(-float(QN)), hi = fbatch(float(QP));
  return xsimd::select(r <= lo, lo, xsimd::select(r >= hi, hi, round_lanes(r) - r));
}

/// Adds g[i] * st[i] (both float, products exact in double) into 8 interleaved partials.
inline void add_products(const float* g, const float* st, std::int64_t n, double (&acc)[8]) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += double(g[i + j]) * double(st[i + j]);
  for (int j = 0; i < n; ++i, ++j) acc[j] += double(g[i]) * double(st[i]);
}

inline double total(const double (&acc)[8]) { return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); }

inline constexpr std::int64_t step_block = 256;  // elements per step-gradient block (stack buffer)

/// out[i] = lsq_code(v[i], s) * mult (mult 1: the codes; mult s: v_hat). out may alias v.
template <int QN, int QP, class T>
void lsq_code_row(const T* v, T s, T mult, std::int64_t n, T* out, bool allow_avx2 = true) {
  std::int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
#if JAQ_X86_RUNTIME_AVX2
    if (allow_avx2 && avx2::available()) return avx2::code_row<QN, QP>(v, s, mult, n, out);
#endif
    const fbatch sb(s), mb(mult);
    for (; i + flanes <= n; i += flanes) (code_lanes<QN, QP>(fbatch::load_unaligned(v + i), sb) * mb).store_unaligned(out + i);
  }
  for (; i < n; ++i) out[i] = quant::lsq_code(v[i], s, QN, QP) * mult;
}

/// gv[i] = (or +=) ghat[i] * d v_hat/d v.
template <int QN, int QP, class T>
void lsq_ste_row(const T* v, T s, const T* ghat, std::int64_t n, T* gv, bool overwrite) {
  std::int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    const fbatch sb(s);
    for (; i + flanes <= n; i += flanes) {
      fbatch d = fbatch::load_unaligned(ghat + i) * inside_of<QN, QP>(fbatch::load_unaligned(v + i) / sb);
      if (!overwrite) d = fbatch::load_unaligned(gv + i) + d;
      d.store_unaligned(gv + i);
    }
  }
  for (; i < n; ++i) {
    const T d = ghat[i] * quant::lsq_grad_input(v[i], s, QN, QP);
    gv[i] = overwrite ? d : gv[i] + d;
  }
}

/// sum_i ghat[i] * d v_hat[i]/d s (unscaled), and when gv is given the STE gradient of
/// lsq_ste_row in the same pass.
template <int QN, int QP, class T>
double lsq_ste_step_row(const T* v, T s, const T* ghat, std::int64_t n, T* gv, bool overwrite, bool allow_avx2 = true) {
  if constexpr (std::is_same_v<T, float>) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#if JAQ_X86_RUNTIME_AVX2
    if (allow_avx2 && avx2::available()) {  // the same lanes and order: the same bits
      avx2::ste_step_row<QN, QP>(v, s, ghat, n, gv, overwrite, acc);
      return total(acc);
    }
#endif
    alignas(64) float st[step_block];
    const fbatch sb(s);
    for (std::int64_t b0 = 0; b0 < n; b0 += step_block) {
      const std::int64_t m = n - b0 < step_block ? n - b0 : step_block;
      std::int64_t i = 0;
      for (; i + flanes <= m; i += flanes) {
        const fbatch r = fbatch::load_unaligned(v + b0 + i) / sb;  // one division for both
        step_of<QN, QP>(r).store_aligned(st + i);
        if (gv) {
          fbatch d = fbatch::load_unaligned(ghat + b0 + i) * inside_of<QN, QP>(r);
          if (!overwrite) d = fbatch::load_unaligned(gv + b0 + i) + d;
          d.store_unaligned(gv + b0 + i);
        }
      }
      for (; i < m; ++i) {
        st[i] = quant::lsq_grad_step(v[b0 + i], s, QN, QP);
        if (gv) {
          const float d = ghat[b0 + i] * quant::lsq_grad_input(v[b0 + i], s, QN, QP);
          gv[b0 + i] = overwrite ? d : gv[b0 + i] + d;
        }
      }
      add_products(ghat + b0, st, m, acc);
    }
    return total(acc);
  } else {
    double acc = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      acc += double(ghat[i]) * double(quant::lsq_grad_step(v[i], s, QN, QP));
      if (gv) {
        const T d = ghat[i] * quant::lsq_grad_input(v[i], s, QN, QP);
        gv[i] = overwrite ? d : gv[i] + d;
      }
    }
    return acc;
  }
}

/// sum_i ghat[i] * d v_hat[i]/d s, unscaled.
template <int QN, int QP, class T>
double lsq_step_row(const T* v, T s, const T* ghat, std::int64_t n) {
  return lsq_ste_step_row<QN, QP, T>(v, s, ghat, n, nullptr, true);
}

// ---- whole tensors: rows of `inner` elements, row c quantized with step s[c] -----------------
// Work is cut into fixed chunks of at most quant_grain elements that never straddle a row, so
// the result (the step-gradient sums included) is the same for every thread count.

inline constexpr std::int64_t quant_grain = 16384;

/// Calls f(lo, hi, c, k) over [0, n) in fixed pieces (k numbers them), each inside row c = lo /
/// inner, in parallel.
template <host_backend B, class F>
void for_row_pieces(B ex, std::int64_t n, std::int64_t inner, F&& f) {
  if (n <= 0 || inner <= 0) return;
  const std::int64_t piece = std::min(inner, quant_grain), per = (inner + piece - 1) / piece;
  const std::int64_t pieces = (n / inner) * per;
  parallel_for_chunks(ex, 0, pieces, std::max<std::int64_t>(1, quant_grain / piece), [&](std::int64_t k0, std::int64_t k1) {
    for (std::int64_t k = k0; k < k1; ++k) {
      const std::int64_t c = k / per, lo = c * inner + (k % per) * piece;
      f(lo, std::min(lo + piece, (c + 1) * inner), c, k);
    }
  });
}

/// out[i] = lsq_code(v[i], s[i / inner]) (times s[i / inner] when `values`), grid of r.
template <host_backend B, class T>
void lsq_codes_into(B ex, const qrange& r, const std::string& where, const T* v, const T* s, std::int64_t n, std::int64_t inner, T* out,
                    bool values = false) {
  with_grid(r.bits, r.is_signed, where, [&](auto grid) {
    using G = decltype(grid);
    for_row_pieces(ex, n, inner, [&](std::int64_t lo, std::int64_t hi, std::int64_t c, std::int64_t) {
      lsq_code_row<G::q_n, G::q_p>(v + lo, s[c], values ? s[c] : T(1), hi - lo, out + lo);
    });
  });
}

/// The LSQ chain rule from dL/dv_hat, rows of `inner` elements with step s[row]:
/// gv (+)= ghat * STE (gv may be null); gs[row] += g * sum ghat * d v_hat/d s (gs may be null).
template <host_backend B, class T>
void lsq_chain(B ex, const qrange& r, const std::string& where, const T* v, const T* s, std::int64_t n, std::int64_t inner, const T* ghat,
               T* gv, bool overwrite, T* gs, double g) {
  if ((!gv && !gs) || n <= 0 || inner <= 0) return;
  with_grid(r.bits, r.is_signed, where, [&](auto grid) {
    using G = decltype(grid);
    if (!gs) {
      for_row_pieces(ex, n, inner, [&](std::int64_t lo, std::int64_t hi, std::int64_t c, std::int64_t) {
        lsq_ste_row<G::q_n, G::q_p>(v + lo, s[c], ghat + lo, hi - lo, gv + lo, overwrite);
      });
      return;
    }
    const std::int64_t piece = std::min(inner, quant_grain), per = (inner + piece - 1) / piece;
    std::vector<double> part(static_cast<std::size_t>((n / inner) * per));
    for_row_pieces(ex, n, inner, [&](std::int64_t lo, std::int64_t hi, std::int64_t c, std::int64_t k) {
      part[static_cast<std::size_t>(k)] =
          lsq_ste_step_row<G::q_n, G::q_p>(v + lo, s[c], ghat + lo, hi - lo, gv ? gv + lo : nullptr, overwrite);
    });
    for (std::int64_t c = 0; c < n / inner; ++c) {
      double sum = 0.0;
      for (std::int64_t k = c * per; k < (c + 1) * per; ++k) sum += part[static_cast<std::size_t>(k)];
      gs[c] += T(sum * g);
    }
  });
}

}  // namespace jaq::quant::detail
