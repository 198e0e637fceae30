#include "jaq/quant/round.hpp"

#include <doctest/doctest.h>

#include <cfenv>
#include <cmath>

#include "jaq/core/rng.hpp"

using jaq::quant::round_half_even;

TEST_CASE("round_half_even: ties go to the even neighbour, like torch.round") {
  CHECK(round_half_even(0.5f) == 0.0f);
  CHECK(round_half_even(1.5f) == 2.0f);
  CHECK(round_half_even(2.5f) == 2.0f);
  CHECK(round_half_even(-0.5f) == 0.0f);
  CHECK(round_half_even(-1.5f) == -2.0f);
  CHECK(round_half_even(-2.5f) == -2.0f);
  CHECK(round_half_even(2.4999998f) == 2.0f);
  CHECK(round_half_even(2.5000002f) == 3.0f);
  CHECK(round_half_even(-3.7) == -4.0);
  CHECK(std::isnan(round_half_even(NAN)));
}

TEST_CASE("round_half_even matches std::nearbyint in the default mode, and ignores fesetround") {
  jaq::rng g(3);
  for (int i = 0; i < 100000; ++i) {
    // halves and quarters hit the ties; the wide range covers large magnitudes
    const float x = i % 3 == 0 ? float(int(g.below(2000)) - 1000) * 0.5f : float(g.uniform(-1e7, 1e7) * (i % 2 ? 1e-6 : 1.0));
    REQUIRE(round_half_even(x) == std::nearbyint(x));
  }
  std::fesetround(FE_UPWARD);
  const float up = std::nearbyint(2.5f);
  const float ours = round_half_even(2.5f);
  std::fesetround(FE_TONEAREST);
  CHECK(up == 3.0f);
  CHECK(ours == 2.0f);
}
