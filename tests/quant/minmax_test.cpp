#include "jaq/quant/minmax.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace jaq::quant;

TEST_CASE("min/max quantizer: asymmetric grid from min to max, STE inside the range") {
  const std::vector<float> x{-1.0f, 0.0f, 0.4f, 2.0f};
  const auto r = minmax_of(x);
  CHECK(r.lo == -1.0f);
  CHECK(r.hi == 2.0f);
  std::vector<float> y(4);
  minmax_forward(x, r, 2, y);  // scale = 3/3 = 1: grid {-1, 0, 1, 2}
  CHECK(y == std::vector<float>{-1.0f, 0.0f, 0.0f, 2.0f});
  std::vector<float> gx(4);
  const std::vector<float> ones(4, 1.0f);
  minmax_backward(std::vector<float>{-1.5f, 0.0f, 2.0f, 2.1f}, r, ones, gx);
  CHECK(gx == std::vector<float>{0.0f, 1.0f, 1.0f, 0.0f});
}

TEST_CASE("min/max per output channel, and a constant row quantizes to itself") {
  const std::vector<float> w{0.0f, 1.0f, 3.0f, 5.0f, 5.0f, 5.0f};  // (2, 3)
  std::vector<float> y(6);
  minmax_forward_per_channel(w, 2, 1, y);  // 1 bit: row 0 grid {0, 3}
  CHECK(y == std::vector<float>{0.0f, 0.0f, 3.0f, 5.0f, 5.0f, 5.0f});
}

TEST_CASE("min/max observer: batch range while training, running average at evaluation") {
  minmax_observer obs{.momentum = 0.5f};
  const std::vector<float> a{0.0f, 2.0f}, b{-2.0f, 4.0f}, c{10.0f, 20.0f};
  CHECK(obs.observe(a, true).hi == 2.0f);
  CHECK(obs.observe(b, true).lo == -2.0f);
  CHECK(obs.running.lo == -1.0f);
  CHECK(obs.running.hi == 3.0f);
  const auto r = obs.observe(c, false);
  CHECK(r.lo == -1.0f);
  CHECK(r.hi == 3.0f);
}
