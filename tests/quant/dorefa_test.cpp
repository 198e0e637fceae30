// Tests of jaq/quant/dorefa.hpp against the published definition (shared/specs/quantizers.md).
#include "jaq/quant/dorefa.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "jaq/core/rng.hpp"

using namespace jaq::quant;

TEST_CASE("DoReFa spec vector: k = 2, w = [0.1, -0.4, 0.9] -> [1/3, -1/3, 1]") {
  const std::vector<double> w{0.1, -0.4, 0.9};
  std::vector<double> q(3);
  dorefa_forward<double>(w, 2, q);
  CHECK(q[0] == doctest::Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK(q[1] == doctest::Approx(-1.0 / 3.0).epsilon(1e-12));
  CHECK(q[2] == 1.0);
}

TEST_CASE("DoReFa values lie on the 2^k-level grid in [-1, 1], the largest |w| at +-1") {
  jaq::rng g(5);
  for (int bits : {1, 2, 3, 4, 8}) {
    std::vector<float> w(200), q(200);
    for (auto& v : w) v = float(g.normal() * 0.3);
    dorefa_forward<float>(w, bits, q);
    const int levels = (1 << bits) - 1;
    const dorefa_norm n = dorefa_normaliser<float>(w);
    CHECK(std::abs(q[n.argmax]) == 1.0f);
    for (float v : q) {
      REQUIRE(v >= -1.0f);
      REQUIRE(v <= 1.0f);
      const double code = (double(v) + 1.0) / 2.0 * levels;  // an integer 0..levels
      REQUIRE(std::abs(code - std::round(code)) < 1e-4);
    }
  }
}

TEST_CASE("DoReFa backward is the exact gradient of the straight-through surrogate 2 r(w) - 1") {
  // r(w) = tanh(w) / (2 max|tanh w|) + 1/2: central differences in double, the max included.
  jaq::rng g(9);
  const std::size_t n = 7;
  std::vector<double> w(n), gy(n), gw(n);
  for (auto& v : w) v = g.normal() * 0.5;
  for (auto& v : gy) v = g.normal();
  dorefa_backward<double>(w, gy, gw);
  auto surrogate = [&](const std::vector<double>& x) {
    const double m = dorefa_normaliser<double>(x).m;
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += gy[i] * (2.0 * (std::tanh(x[i]) / (2 * m) + 0.5) - 1.0);
    return s;
  };
  for (std::size_t j = 0; j < n; ++j) {
    const double h = 1e-6;
    auto wp = w, wm = w;
    wp[j] += h;
    wm[j] -= h;
    CHECK(gw[j] == doctest::Approx((surrogate(wp) - surrogate(wm)) / (2 * h)).epsilon(1e-6));
  }
}

TEST_CASE("DoReFa of an all-zero tensor is zero with zero gradient") {
  const std::vector<float> w(4, 0.0f), gy(4, 1.0f);
  std::vector<float> q(4, 9.0f), gw(4, 9.0f);
  dorefa_forward<float>(w, 3, q);
  dorefa_backward<float>(w, gy, gw);
  for (int i = 0; i < 4; ++i) {
    CHECK(q[i] == 0.0f);
    CHECK(gw[i] == 0.0f);
  }
}
