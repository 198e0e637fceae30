// OpenBLAS SGEMM against a plain, cache-blocked GEMM of our own (the compiler vectorises its
// inner loop for the build's SIMD level), on the GEMM shapes of small-cnn's forward pass at
// batch 128: the measurement behind jaq's choice of OpenBLAS for convolutions. One thread each;
// both results are checked against each other.
//
//   bazel run -c opt //bench:gemm_bench
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/core/rng.hpp"

#include "bench/timing.hpp"

namespace {

// C (M, N) = A (M, K) * B (K, N), row-major; blocked over k and j so B's panel stays in cache.
void own_gemm(int m, int n, int k, const float* a, const float* b, float* c) {
  constexpr int kb = 128, nb = 512;
  std::fill(c, c + std::size_t(m) * n, 0.0f);
  for (int j0 = 0; j0 < n; j0 += nb) {
    const int j1 = std::min(n, j0 + nb);
    for (int p0 = 0; p0 < k; p0 += kb) {
      const int p1 = std::min(k, p0 + kb);
      for (int i = 0; i < m; ++i) {
        float* ci = c + std::size_t(i) * n;
        for (int p = p0; p < p1; ++p) {
          const float aip = a[std::size_t(i) * k + p];
          const float* bp = b + std::size_t(p) * n;
          for (int j = j0; j < j1; ++j) ci[j] += aip * bp[j];
        }
      }
    }
  }
}

}  // namespace

int main(int, char** argv) {
  jaq::use_best_blas_kernel(argv);  // the kernels the programs run (see jaq/autograd/blas.hpp)
  openblas_set_num_threads(1);
  struct shape {
    const char* name;
    int m, k, n;
  };
  // Co x (Ci*3*3) weights times the im2col matrix (Ci*3*3) x (batch*Ho*Wo)
  const shape shapes[] = {{"conv1 16x9 * 9x100352", 16, 9, 128 * 28 * 28},
                          {"conv2 32x144 * 144x25088", 32, 144, 128 * 14 * 14},
                          {"conv3 64x288 * 288x6272", 64, 288, 128 * 7 * 7}};
  std::printf("%-28s %12s %12s %8s %10s\n", "shape (M x K * K x N)", "openblas_ms", "own_ms", "own/obl", "max|diff|");
  jaq::rng g(1);
  for (const shape& s : shapes) {
    std::vector<float> a(std::size_t(s.m) * s.k), b(std::size_t(s.k) * s.n), c1(std::size_t(s.m) * s.n), c2(c1.size());
    for (auto& v : a) v = float(g.normal());
    for (auto& v : b) v = float(g.normal());
    const double tb = jaq_bench::median_ms(21, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c1.data(), s.n);
    });
    const double to = jaq_bench::median_ms(21, [&] { own_gemm(s.m, s.n, s.k, a.data(), b.data(), c2.data()); });
    float diff = 0;
    for (std::size_t i = 0; i < c1.size(); ++i) diff = std::max(diff, std::abs(c1[i] - c2[i]));
    std::printf("%-28s %12.3f %12.3f %7.2fx %10.2e\n", s.name, tb, to, to / tb, double(diff));
    if (diff > 1e-2f) {
      std::fprintf(stderr, "gemm_bench: results differ by %g\n", double(diff));
      return 1;
    }
  }
  return 0;
}
