#include "jaq/nn/init.hpp"

#include <doctest/doctest.h>

#include <cmath>

TEST_CASE("kaiming_normal has mean 0 and variance 2 / fan_in; kaiming_uniform stays in +-1/sqrt(fan_in)") {
  jaq::rng gen(1);
  jaq::tensor<double> w({200, 50});
  jaq::nn::kaiming_normal(w, 50, gen);
  double m = 0, v = 0;
  for (double x : w) m += x;
  m /= w.size();
  for (double x : w) v += (x - m) * (x - m);
  v /= w.size();
  CHECK(std::abs(m) < 0.01);
  CHECK(v == doctest::Approx(2.0 / 50).epsilon(0.05));
  jaq::nn::kaiming_uniform(w, 64, gen);
  double lo = 1, hi = -1;
  for (double x : w) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  CHECK(lo >= -0.125);
  CHECK(hi <= 0.125);
  CHECK(hi > 0.12);  // the range is used
}

TEST_CASE("the same seed gives the same weights") {
  jaq::rng a(5), b(5);
  jaq::tensor<float> x({100}), y({100});
  jaq::nn::kaiming_normal(x, 9, a);
  jaq::nn::kaiming_normal(y, 9, b);
  for (int i = 0; i < 100; ++i) CHECK(x[i] == y[i]);
}
