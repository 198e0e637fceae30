#include "jaq/quant/pact.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "jaq/core/rng.hpp"
#include "jaq/quant/lsq.hpp"

using namespace jaq::quant;

TEST_CASE("PACT spec vector: k = 2, alpha = 2") {
  using G = unsigned_grid<2>;
  const std::vector<float> x{-0.5f, 0.7f, 3.0f};
  std::vector<float> y(3), gx(3);
  pact_forward<G>(x, 2.0f, y);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == doctest::Approx(0.6667).epsilon(1e-4));
  CHECK(y[2] == 2.0f);
  const std::vector<float> ones(3, 1.0f);
  const double da = pact_backward<G>(x, 2.0f, ones, gx);
  CHECK(gx == std::vector<float>{0.0f, 1.0f, 0.0f});
  CHECK(da == 1.0);
}

TEST_CASE("PACT has no division term: d/dalpha is 0 for every x below alpha") {
  for (float x : {0.0f, 0.1f, 0.7f, 1.3f, 1.999f}) CHECK(pact_grad_alpha(x, 2.0f) == 0.0f);
  CHECK(pact_grad_input(0.0f, 2.0f) == 1.0f);  // 0 <= x
  CHECK(pact_grad_input(2.0f, 2.0f) == 0.0f);  // x < alpha is strict
  CHECK(pact_grad_alpha(2.0f, 2.0f) == 1.0f);  // x >= alpha
}

TEST_CASE("PACT: finite differences agree where the function is differentiable (x >= alpha or x < 0)") {
  jaq::rng g(2);
  for (int i = 0; i < 500; ++i) {
    const double a = g.uniform(0.5, 4.0);
    const double x = g.uniform() < 0.5 ? a + g.uniform(0.01, 3) : -g.uniform(0.01, 3);
    const double h = 1e-4;
    const int levels = 15;
    const double fa = (pact_value(float(x), float(a + h), levels) - pact_value(float(x), float(a - h), levels)) / (2 * h);
    const double fx = (pact_value(float(x + h), float(a), levels) - pact_value(float(x - h), float(a), levels)) / (2 * h);
    REQUIRE(fa == doctest::Approx(pact_grad_alpha(float(x), float(a))).epsilon(1e-2));
    REQUIRE(fx == doctest::Approx(pact_grad_input(float(x), float(a))));
  }
}

TEST_CASE("PACT is the unsigned grid of step alpha / (2^k - 1), clipped at alpha") {
  using G = unsigned_grid<4>;
  jaq::rng g(4);
  const float alpha = 1.7f;
  for (int i = 0; i < 1000; ++i) {
    const float x = float(g.uniform(-1, 3));
    const float c = pact_code(x, alpha, G::q_p);
    REQUIRE(c >= 0.0f);
    REQUIRE(c <= float(G::q_p));
    REQUIRE(c == std::floor(c));
    REQUIRE(pact_value(x, alpha, G::q_p) == c * alpha / float(G::q_p));
    // within half a step of the clipped input (the grid is the LSQ grid of step alpha / L)
    const float y = std::clamp(x, 0.0f, alpha);
    REQUIRE(std::abs(pact_value(x, alpha, G::q_p) - y) <= 0.5f * pact_step(alpha, G::q_p) * 1.0001f);
  }
}

TEST_CASE("PACT evaluates the published formula in its order: exact ties round half to even") {
  // y * (2^k - 1) / alpha, left to right; float(2/7) rounds up, so y / (alpha / L) would miss
  // these ties (3.4999999 -> 3). Values from an independent PyTorch transcription of the spec.
  CHECK(pact_code(1.0f, 2.0f, 7) == 4.0f);                 // 3.5 -> 4
  CHECK(pact_value(1.0f, 2.0f, 7) == 4.0f * 2.0f / 7.0f);  // 1.1428572
  CHECK(pact_code(1.5714285f, 2.0f, 7) == 6.0f);           // * 7 / 2 = 5.5 in float -> 6
  CHECK(pact_code(1.6433334f, 1.7f, 15) == 15.0f);
  CHECK(pact_value(1.6433334f, 1.7f, 15) == doctest::Approx(1.7f));
  // and the spec's worked vector: k = 2, alpha = 2, x = [-0.5, 0.7, 3.0] -> [0, 0.6667, 2.0]
  CHECK(pact_value(-0.5f, 2.0f, 3) == 0.0f);
  CHECK(pact_value(0.7f, 2.0f, 3) == doctest::Approx(2.0 / 3.0));
  CHECK(pact_value(3.0f, 2.0f, 3) == 2.0f);
}
