// jaq/quant/detail/lsq_avx2.hpp: 8-lane AVX2 copies of the LSQ row kernels (lsq_kernels.hpp),
// for float, chosen at run time (`available()`) when the build itself is narrower (the default
// portable build is SSE2). Compiled for "avx2" only, not FMA, so nothing can be contracted: lane
// for lane they compute the scalar definitions' bits, like the portable rows (the tests compare
// all three). The step-gradient sums use the same 8 interleaved double partials.
#pragma once

#include <cstdint>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "jaq/quant/lsq.hpp"

namespace jaq::quant::detail::avx2 {

#if defined(__GNUC__) && defined(__x86_64__)

inline bool available() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

[[gnu::target("avx2")]] inline __m256 round8(__m256 x) {  // quant::round_half_even per lane
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  const __m256 t = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(x));
  const __m256 f = _mm256_blendv_ps(t, _mm256_sub_ps(t, one), _mm256_cmp_ps(t, x, _CMP_GT_OQ));
  const __m256 d = _mm256_sub_ps(x, f);
  const __m256 h = _mm256_mul_ps(f, half);
  const __m256 odd = _mm256_cmp_ps(_mm256_cvtepi32_ps(_mm256_cvttps_epi32(h)), h, _CMP_NEQ_UQ);
  const __m256 up = _mm256_or_ps(_mm256_cmp_ps(d, half, _CMP_GT_OQ), _mm256_and_ps(_mm256_cmp_ps(d, half, _CMP_EQ_OQ), odd));
  const __m256 r = _mm256_blendv_ps(f, _mm256_add_ps(f, one), up);
  const __m256 absx = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_blendv_ps(x, r, _mm256_cmp_ps(absx, _mm256_set1_ps(8388608.0f), _CMP_LT_OQ));  // NaN: false -> x
}

template <int QN, int QP>
[[gnu::target("avx2")]] inline void code_row(const float* v, float s, float mult, std::int64_t n, float* out) {
  const __m256 sb = _mm256_set1_ps(s), mb = _mm256_set1_ps(mult), lo = _mm256_set1_ps(-float(QN)), hi = _mm256_set1_ps(float(QP));
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 r = _mm256_div_ps(_mm256_loadu_ps(v + i), sb);
    // r < lo ? lo : (r > hi ? hi : r), NaN passing through
    const __m256 c = _mm256_blendv_ps(_mm256_blendv_ps(r, hi, _mm256_cmp_ps(r, hi, _CMP_GT_OQ)), lo, _mm256_cmp_ps(r, lo, _CMP_LT_OQ));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(round8(c), mb));
  }
  for (; i < n; ++i) out[i] = quant::lsq_code(v[i], s, QN, QP) * mult;
}

/// Returns the unscaled step-gradient sum of the row, adding its 8 partials into acc; writes or
/// adds the STE gradient into gv when given.
template <int QN, int QP>
[[gnu::target("avx2")]] inline void ste_step_row(const float* v, float s, const float* ghat, std::int64_t n, float* gv, bool overwrite,
                                                 double (&acc)[8]) {
  const __m256 sb = _mm256_set1_ps(s), lo = _mm256_set1_ps(-float(QN)), hi = _mm256_set1_ps(float(QP)), one = _mm256_set1_ps(1.0f),
               zero = _mm256_setzero_ps();
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();  // lanes 0-3 and 4-7 of acc
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 r = _mm256_div_ps(_mm256_loadu_ps(v + i), sb);
    const __m256 g = _mm256_loadu_ps(ghat + i);
    const __m256 st = _mm256_blendv_ps(_mm256_blendv_ps(_mm256_sub_ps(round8(r), r), hi, _mm256_cmp_ps(r, hi, _CMP_GE_OQ)), lo,
                                       _mm256_cmp_ps(r, lo, _CMP_LE_OQ));
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(g)), _mm256_cvtps_pd(_mm256_castps256_ps128(st))));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(g, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(st, 1))));
    if (gv) {
      const __m256 in = _mm256_and_ps(_mm256_cmp_ps(r, lo, _CMP_GE_OQ), _mm256_cmp_ps(r, hi, _CMP_LE_OQ));
      __m256 d = _mm256_mul_ps(g, _mm256_blendv_ps(zero, one, in));
      if (!overwrite) d = _mm256_add_ps(_mm256_loadu_ps(gv + i), d);
      _mm256_storeu_ps(gv + i, d);
    }
  }
  alignas(32) double l[8];
  _mm256_store_pd(l, a0);
  _mm256_store_pd(l + 4, a1);
  for (int j = 0; j < 8; ++j) acc[j] += l[j];
  for (int j = 0; i < n; ++i, ++j) {
    acc[j] += double(ghat[i]) * double(quant::lsq_grad_step(v[i], s, QN, QP));
    if (gv) {
      const float d = ghat[i] * quant::lsq_grad_input(v[i], s, QN, QP);
      gv[i] = overwrite ? d : gv[i] + d;
    }
  }
}

#else
inline bool available() { return false; }
#endif

}  // namespace jaq::quant::detail::avx2
