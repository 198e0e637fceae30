// jaq/autograd/detail/bn_avx2.hpp: AVX2 + FMA copies of the batch-norm kernels of reduce.hpp,
// for float, chosen at run time (`available()`) when the build itself is narrower (the default
// portable build is SSE2). Same blocking as the portable kernels: each block of reduce_block
// elements is summed in float across the 8 lanes, block totals are added in double in order,
// so results are deterministic on one machine and for every thread count; they differ from the
// 4-lane portable kernels only by rounding (batch_norm_test compares the two).
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

namespace jaq::detail::avx2 {

inline constexpr std::int64_t block = 1024;  // = reduce_block

#if defined(__GNUC__) && defined(__x86_64__)

inline bool available() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

[[gnu::target("avx2,fma")]] inline float hsum8(__m256 v) {
  alignas(32) float l[8];
  _mm256_store_ps(l, v);
  float s = 0.0f;
  for (float f : l) s += f;
  return s;
}

/// The gradient that passes the clamp to [0, hi] whose output is y (y == nullptr: no clamp).
[[gnu::target("avx2,fma")]] inline __m256 pass8(__m256 g, const float* y, std::int64_t i, __m256 zero, __m256 top) {
  if (!y) return g;
  const __m256 yv = _mm256_loadu_ps(y + i);
  return _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(yv, zero, _CMP_GT_OQ), _mm256_cmp_ps(yv, top, _CMP_LT_OQ)), g);
}
inline float pass1(float g, const float* y, std::int64_t i, float hi) { return (!y || (y[i] > 0.0f && y[i] < hi)) ? g : 0.0f; }

/// sum(x - shift) and sum((x - shift)^2).
[[gnu::target("avx2,fma")]] inline void shifted_moments(const float* x, std::int64_t m, float shift, double& s1, double& s2) {
  s1 = 0.0;
  s2 = 0.0;
  const __m256 sh = _mm256_set1_ps(shift);
  for (std::int64_t lo = 0; lo < m; lo += block) {
    const std::int64_t hi = std::min(m, lo + block);
    __m256 a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
    std::int64_t i = lo;
    for (; i + 8 <= hi; i += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), sh);
      a1 = _mm256_add_ps(a1, d);
      a2 = _mm256_fmadd_ps(d, d, a2);
    }
    float t1 = hsum8(a1), t2 = hsum8(a2);
    for (; i < hi; ++i) {
      const float d = x[i] - shift;
      t1 += d;
      t2 += d * d;
    }
    s1 += static_cast<double>(t1);
    s2 += static_cast<double>(t2);
  }
}

/// y = x * a + b, clamped to [0, hi] if `clamp`.
[[gnu::target("avx2,fma")]] inline void affine(const float* x, float* y, std::int64_t m, float a, float b, bool clamp, float hi) {
  const __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b), zero = _mm256_setzero_ps(), top = _mm256_set1_ps(hi);
  std::int64_t i = 0;
  if (clamp) {
    for (; i + 8 <= m; i += 8)
      _mm256_storeu_ps(y + i, _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), av, bv), zero), top));
    for (; i < m; ++i) y[i] = std::min(std::max(x[i] * a + b, 0.0f), hi);
    return;
  }
  for (; i + 8 <= m; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), av, bv));
  for (; i < m; ++i) y[i] = x[i] * a + b;
}

/// sum(g') and sum(g' * (x - mean)), g' = the gradient passed by the clamp.
[[gnu::target("avx2,fma")]] inline void grad_moments(const float* g, const float* x, std::int64_t m, float mean, double& sg, double& sgx,
                                                     const float* y, float hi) {
  sg = 0.0;
  sgx = 0.0;
  const __m256 mu = _mm256_set1_ps(mean), zero = _mm256_setzero_ps(), top = _mm256_set1_ps(hi);
  for (std::int64_t lo = 0; lo < m; lo += block) {
    const std::int64_t end = std::min(m, lo + block);
    __m256 a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
    std::int64_t i = lo;
    for (; i + 8 <= end; i += 8) {
      const __m256 gv = pass8(_mm256_loadu_ps(g + i), y, i, zero, top);
      a1 = _mm256_add_ps(a1, gv);
      a2 = _mm256_fmadd_ps(gv, _mm256_sub_ps(_mm256_loadu_ps(x + i), mu), a2);
    }
    float t1 = hsum8(a1), t2 = hsum8(a2);
    for (; i < end; ++i) {
      const float gi = pass1(g[i], y, i, hi);
      t1 += gi;
      t2 += gi * (x[i] - mean);
    }
    sg += static_cast<double>(t1);
    sgx += static_cast<double>(t2);
  }
}

/// out (+)= a * (g' - k1 - k2 * (x - mean)): the training-mode input gradient.
[[gnu::target("avx2,fma")]] inline void input_grad(const float* g, const float* x, const float* y, float hi, std::int64_t m, float a,
                                                   float k1, float k2, float mean, float* out, bool overwrite) {
  const __m256 av = _mm256_set1_ps(a), k1v = _mm256_set1_ps(k1), k2v = _mm256_set1_ps(k2), mu = _mm256_set1_ps(mean),
               zero = _mm256_setzero_ps(), top = _mm256_set1_ps(hi);
  std::int64_t i = 0;
  for (; i + 8 <= m; i += 8) {
    const __m256 gv = _mm256_sub_ps(pass8(_mm256_loadu_ps(g + i), y, i, zero, top), k1v);
    __m256 v = _mm256_mul_ps(av, _mm256_fnmadd_ps(k2v, _mm256_sub_ps(_mm256_loadu_ps(x + i), mu), gv));
    if (!overwrite) v = _mm256_add_ps(v, _mm256_loadu_ps(out + i));
    _mm256_storeu_ps(out + i, v);
  }
  for (; i < m; ++i) {
    const float v = a * (pass1(g[i], y, i, hi) - k1 - k2 * (x[i] - mean));
    out[i] = overwrite ? v : out[i] + v;
  }
}

#else

inline bool available() { return false; }

#endif

}  // namespace jaq::detail::avx2
