// The vectorised LSQ row kernels against lsq.hpp's scalar definitions, element by element: codes,
// values and straight-through gradients bit for bit (NaN, infinities, ties, the clip boundaries,
// signed zeros and odd lengths included), step-gradient sums against a sequential double sum.
#include "jaq/quant/detail/lsq_kernels.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "jaq/core/rng.hpp"

using namespace jaq::quant;

namespace {

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// Random values around the grid, plus every hard case, for step s.
std::vector<float> inputs(float s, int q_n, int q_p, std::size_t n, std::uint64_t seed) {
  jaq::rng gen(seed);
  std::vector<float> v;
  const float inf = std::numeric_limits<float>::infinity();
  for (float e : {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, float(q_p), float(-q_n), float(q_p) + 0.5f, float(-q_n) - 0.5f,
                  float(q_p) - 0.5f, 1e30f, -1e30f, 8388608.0f, 8388609.0f})
    v.push_back(e * s);
  v.push_back(inf);
  v.push_back(-inf);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.push_back(std::nextafter(float(q_p) * s, inf));
  v.push_back(std::nextafter(float(-q_n) * s, -inf));
  while (v.size() < n) v.push_back(float(gen.uniform(-1.5 * (q_n + 1), 1.5 * (q_p + 1)) * s));
  return v;
}

template <int QN, int QP>
void check_grid(float s) {
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(33), std::size_t(1000)}) {
    const auto v = inputs(s, QN, QP, std::max<std::size_t>(n, 25), 7 + n);
    const std::int64_t m = std::int64_t(v.size());
    jaq::rng gen(n);
    std::vector<float> g(v.size());
    for (auto& x : g) x = float(gen.normal());
    g[1] = -0.0f;
    for (const bool avx2 : {false, true}) {  // the portable rows, then the AVX2 copies where the CPU has them
      CAPTURE(avx2);
      std::vector<float> codes(v.size()), vals(v.size()), ste(v.size(), 3.0f), ste2(v.size(), 3.0f);
      detail::lsq_code_row<QN, QP>(v.data(), s, 1.0f, m, codes.data(), avx2);
      detail::lsq_code_row<QN, QP>(v.data(), s, s, m, vals.data(), avx2);
      detail::lsq_ste_row<QN, QP>(v.data(), s, g.data(), m, ste.data(), true);
      const double sum = detail::lsq_ste_step_row<QN, QP>(v.data(), s, g.data(), m, ste2.data(), false, avx2);
      double ref_sum = 0.0;
      bool finite = true;
      for (std::size_t i = 0; i < v.size(); ++i) {
        CAPTURE(i);
        CAPTURE(v[i]);
        CHECK(same_bits(codes[i], lsq_code(v[i], s, QN, QP)));
        CHECK(same_bits(vals[i], lsq_value(v[i], s, QN, QP)));
        CHECK(same_bits(ste[i], g[i] * lsq_grad_input(v[i], s, QN, QP)));
        CHECK(same_bits(ste2[i], 3.0f + g[i] * lsq_grad_input(v[i], s, QN, QP)));
        const double t = double(g[i]) * double(lsq_grad_step(v[i], s, QN, QP));
        finite = finite && std::isfinite(t);
        ref_sum += t;
      }
      if (finite) {
        CHECK(sum == doctest::Approx(ref_sum).epsilon(1e-12));
      } else {
        CHECK(std::isnan(sum) == std::isnan(ref_sum));
      }
      if (avx2) {  // both paths: the same bits, the double step sums included
        std::vector<float> c0(v.size()), s0(v.size(), 3.0f);
        detail::lsq_code_row<QN, QP>(v.data(), s, s, m, c0.data(), false);
        const double p0 = detail::lsq_ste_step_row<QN, QP>(v.data(), s, g.data(), m, s0.data(), false, false);
        for (std::size_t i = 0; i < v.size(); ++i) CHECK(same_bits(c0[i], vals[i]));
        for (std::size_t i = 0; i < v.size(); ++i) CHECK(same_bits(s0[i], ste2[i]));
        if (finite) CHECK(std::bit_cast<std::uint64_t>(p0) == std::bit_cast<std::uint64_t>(sum));
      }
    }
    // the step sum without NaN and infinities (every input finite)
    std::vector<float> fin;
    for (float x : v)
      if (std::isfinite(x) && std::fabs(x) < 1e20f) fin.push_back(x);
    double r2 = 0.0;
    for (std::size_t i = 0; i < fin.size(); ++i) r2 += double(g[i]) * double(lsq_grad_step(fin[i], s, QN, QP));
    CHECK(detail::lsq_step_row<QN, QP>(fin.data(), s, g.data(), std::int64_t(fin.size())) == doctest::Approx(r2).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("vector round_half_even equals the scalar one on ties, boundaries and non-finite values") {
  std::vector<float> xs;
  for (int i = -1000; i <= 1000; ++i) xs.push_back(float(i) * 0.25f);
  for (float e :
       {8388607.5f, 8388608.0f, -8388607.5f, 1e30f, -1e30f, -0.0f, 0.49999997f, -0.49999997f, std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()})
    xs.push_back(e);
  while (xs.size() % detail::flanes) xs.push_back(1.5f);
  for (std::size_t i = 0; i < xs.size(); i += std::size_t(detail::flanes)) {
    float out[64];
    detail::round_lanes(detail::fbatch::load_unaligned(xs.data() + i)).store_unaligned(out);
    for (std::int64_t j = 0; j < detail::flanes; ++j) {
      CAPTURE(xs[i + std::size_t(j)]);
      CHECK(same_bits(out[j], round_half_even(xs[i + std::size_t(j)])));
    }
  }
}

TEST_CASE("LSQ row kernels equal the scalar definitions on every grid shape") {
  check_grid<0, 1>(0.3f);      // unsigned 1-bit
  check_grid<0, 3>(0.17f);     // unsigned 2-bit
  check_grid<0, 15>(0.05f);    // unsigned 4-bit
  check_grid<0, 255>(0.004f);  // unsigned 8-bit
  check_grid<2, 1>(0.5f);      // signed 2-bit
  check_grid<4, 3>(0.21f);     // signed 3-bit
  check_grid<8, 7>(0.031f);    // signed 4-bit
  check_grid<128, 127>(0.0071f);
}

TEST_CASE("double rows take the scalar path") {
  const std::vector<double> v{0.26, -1.3, 0.75, 0.25, 9.0};
  std::vector<double> out(v.size()), gv(v.size());
  const std::vector<double> g{1, 2, 3, 4, 5};
  detail::lsq_code_row<2, 1>(v.data(), 0.5, 0.5, 5, out.data());
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(out[i] == lsq_value(v[i], 0.5, 2, 1));
  const double s = detail::lsq_ste_step_row<2, 1>(v.data(), 0.5, g.data(), 5, gv.data(), true);
  double ref = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    ref += g[i] * lsq_grad_step(v[i], 0.5, 2, 1);
    CHECK(gv[i] == g[i] * lsq_grad_input(v[i], 0.5, 2, 1));
  }
  CHECK(s == ref);
}

TEST_CASE("row pieces never straddle a row and cover the tensor once, for 1 and 2 threads") {
  for (std::int64_t inner : {1, 9, 16384, 40000}) {
    const std::int64_t n = inner * 5;
    for (int threads : {1, 2}) {
      jaq::thread_pool pool(threads);
      std::vector<int> hit(std::size_t(n), 0);
      detail::for_row_pieces(pool.backend(), n, inner, [&](std::int64_t lo, std::int64_t hi, std::int64_t c, std::int64_t) {
        CHECK(lo / inner == c);
        CHECK((hi - 1) / inner == c);
        for (std::int64_t i = lo; i < hi; ++i) ++hit[std::size_t(i)];
      });
      for (int h : hit) CHECK(h == 1);
    }
  }
}
