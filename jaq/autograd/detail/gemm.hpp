// jaq/autograd/detail/gemm.hpp: row-major GEMM on OpenBLAS, split into fixed blocks that TBB
// runs in parallel. OpenBLAS itself is kept to one thread (the tape's backend owns threading),
// and every split depends only on the sizes, never on the thread count, so results are the
// same for 1 and 2 threads.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::detail {

inline void blas_single_threaded() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}

/// C = alpha * op(A) * op(B) + beta * C, row-major, one call on the calling thread.
inline void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
                 const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
inline void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a, std::int64_t lda,
                 const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

/// Column block width for an n-wide output: a fixed function of n only.
inline std::int64_t column_block(std::int64_t n) { return std::max<std::int64_t>(512, (n + 15) / 16); }

/// C[m, n] = alpha * op(A)[m, k] * B[k, n] + beta * C, B not transposed, split over columns.
template <scalar T, host_backend B>
void gemm_columns(B exec, bool ta, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda, const T* b,
                  std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  blas_single_threaded();
  parallel_for_chunks(exec, 0, n, column_block(n), [&](std::int64_t lo, std::int64_t hi) {
    gemm(ta, false, m, hi - lo, k, alpha, a, lda, b + lo, ldb, beta, c + lo, ldc);
  });
}

/// C[m, n] = A[m, k] * B[n, k]^T + beta * C with the long k split into fixed chunks whose
/// partial products are added in chunk order (a weight gradient: k = N * H * W).
template <scalar T, host_backend B>
void gemm_abt_ksplit(B exec, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda, const T* b, std::int64_t ldb,
                     T beta, T* c, std::int64_t ldc) {
  blas_single_threaded();
  const std::int64_t grain = std::max<std::int64_t>(2048, (k + 7) / 8);
  const std::int64_t chunks = (k + grain - 1) / grain;
  if (chunks == 1) {
    gemm(false, true, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc);
    return;
  }
  std::vector<T> part(static_cast<std::size_t>(chunks * m * n));
  parallel_for(exec, 0, chunks, [&](std::int64_t ci) {
    const std::int64_t lo = ci * grain, hi = std::min(k, lo + grain);
    gemm(false, true, m, n, hi - lo, T(1), a + lo, lda, b + lo, ldb, T(0), part.data() + ci * m * n, n);
  });
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      T s = T(0);
      for (std::int64_t ci = 0; ci < chunks; ++ci) s += part[static_cast<std::size_t>(ci * m * n + i * n + j)];
      T& dst = c[i * ldc + j];
      dst = (beta == T(0) ? T(0) : beta * dst) + s;
    }
}

}  // namespace jaq::detail
