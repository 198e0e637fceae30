#include "jaq/quant/pact.hpp"

#include <doctest/doctest.h>

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
  CHECK(pact_grad_input(0.0f, 2.0f) == 1.0f);   // 0 <= x
  CHECK(pact_grad_input(2.0f, 2.0f) == 0.0f);   // x < alpha is strict
  CHECK(pact_grad_alpha(2.0f, 2.0f) == 1.0f);   // x >= alpha
}

TEST_CASE("PACT: finite differences agree where the function is differentiable (x >= alpha or x < 0)") {
  jaq::rng g(2);
  for (int i = 0; i < 500; ++i) {
    const double a = g.uniform(0.5, 4.0);
    const double x = g.uniform() < 0.5 ? a + g.uniform(0.01, 3) : -g.uniform(0.01, 3);
    const double h = 1e-4;
    const int levels = 15;
    const double fa = (pact_value(float(x), float(a + h), levels) -
                       pact_value(float(x), float(a - h), levels)) / (2 * h);
    const double fx = (pact_value(float(x + h), float(a), levels) -
                       pact_value(float(x - h), float(a), levels)) / (2 * h);
    REQUIRE(fa == doctest::Approx(pact_grad_alpha(float(x), float(a))).epsilon(1e-2));
    REQUIRE(fx == doctest::Approx(pact_grad_input(float(x), float(a))));
  }
}

TEST_CASE("PACT is the unsigned LSQ grid with step alpha / (2^k - 1) and a clip at alpha") {
  using G = unsigned_grid<4>;
  jaq::rng g(4);
  const float alpha = 1.7f;
  for (int i = 0; i < 1000; ++i) {
    const float x = float(g.uniform(-1, 3));
    REQUIRE(pact_value(x, alpha, G::q_p) == lsq_value(x, pact_step(alpha, G::q_p), 0, G::q_p));
  }
}
