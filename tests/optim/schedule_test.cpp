#include "jaq/optim/schedule.hpp"

#include <doctest/doctest.h>

#include <sstream>

TEST_CASE("cosine schedule goes from base to min along half a cosine") {
  jaq::optim::cosine_schedule s{.base_lr = 0.1, .total_steps = 10};
  CHECK(s(0) == doctest::Approx(0.1));
  CHECK(s(5) == doctest::Approx(0.05));
  CHECK(s(10) == doctest::Approx(0.0));
  CHECK(s(20) == doctest::Approx(0.0));
  CHECK(s(2) > s(3));
}

TEST_CASE("cosine schedule warms up linearly") {
  jaq::optim::cosine_schedule s{.base_lr = 0.1, .total_steps = 12, .warmup_steps = 2, .min_lr = 0.01};
  CHECK(s(0) == doctest::Approx(0.05));
  CHECK(s(1) == doctest::Approx(0.1));
  CHECK(s(2) == doctest::Approx(0.1));
  CHECK(s(7) == doctest::Approx(0.055));
  CHECK(s(12) == doctest::Approx(0.01));
  std::ostringstream os;
  os << s;
  CHECK(os.str().find("warmup_steps=2") != std::string::npos);
}
