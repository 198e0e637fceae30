// kernels/detail/host_exec.hpp: the host twin of the CUDA executor of train_program.hpp. It runs
// the device training step's own element functions, one after the other on the calling
// thread, with plain loops for the reductions and GEMMs, so that the CPU tests check the
// device program (its indexing, its gradients, its optimizer) against jaq's engine on a
// machine without a GPU. Not a fast path: jaq's engine is the CPU's.
//
//   jaq::cuda::train::host_exec ex;
//   jaq::cuda::train::program<jaq::cuda::train::host_exec> prog(ex, net, 8);
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace jaq::cuda::train {

struct host_exec {
  template <class T>
  using buffer = std::vector<T>;

  template <class T>
  buffer<T> alloc(std::int64_t n) {
    return buffer<T>(static_cast<std::size_t>(n));
  }
  template <class F>
  void for_each(std::int64_t n, F f) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }
  template <class F>
  void row_sums(std::int64_t rows, std::int64_t len, F f, double* out) {
    for (std::int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (std::int64_t k = 0; k < len; ++k) s += f(r, k);
      out[r] = s;
    }
  }
  template <class F>
  void row_max(std::int64_t rows, std::int64_t len, F f, double* out) {
    for (std::int64_t r = 0; r < rows; ++r) {
      double m = f(r, 0);
      for (std::int64_t k = 1; k < len; ++k) m = std::max(m, f(r, k));
      out[r] = m;
    }
  }
  /// C (m, n) = op(A) op(B), row-major; op(A) is (m, k), op(B) (k, n).
  void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
            std::int64_t ldb, float* c, std::int64_t ldc) {
    for (std::int64_t i = 0; i < m; ++i) {
      float* ci = c + i * ldc;
      std::fill(ci, ci + n, 0.0f);
      for (std::int64_t p = 0; p < k; ++p) {
        const float av = ta ? a[p * lda + i] : a[i * lda + p];
        if (tb)
          for (std::int64_t j = 0; j < n; ++j) ci[j] += av * b[j * ldb + p];
        else
          for (std::int64_t j = 0; j < n; ++j) ci[j] += av * b[p * ldb + j];
      }
    }
  }
  template <class T>
  void zero(T* p, std::int64_t n) {
    std::fill(p, p + n, T(0));
  }
  template <class T>
  void upload(T* dst, const T* src, std::int64_t n) {
    std::copy(src, src + n, dst);
  }
  template <class T>
  void download(T* dst, const T* src, std::int64_t n) {
    std::copy(src, src + n, dst);
  }
};

}  // namespace jaq::cuda::train
