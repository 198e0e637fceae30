#include "jaq/autograd/ops/activation.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("relu and relu6 match the scalar definition on both sides of the kinks, 1 and 2 threads") {
  jaq::rng gen(5);
  for (int threads : {1, 2}) {
    tape<float> tp({.threads = threads});
    auto xt = jaq::test::random_tensor<float>({3, 70001}, gen, -8.0, 8.0);  // odd size: SIMD tail
    auto x = tp.constant(std::move(xt));
    auto y = jaq::relu(tp, x);
    auto z = jaq::relu6(tp, x);
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < x.value().size(); ++i) {
      const float v = x.value()[i];
      bad += y.value()[i] != std::max(v, 0.0f);
      bad += z.value()[i] != std::min(std::max(v, 0.0f), 6.0f);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("relu and relu6 pass the finite-difference check") {
  jaq::rng gen(6);
  std::vector<jaq::tensor<double>> in;
  // keep inputs away from the kinks at 0 and 6, where the derivative is undefined
  auto t = jaq::test::random_tensor<double>({4, 9}, gen, -9.0, 9.0);
  for (auto& v : t)
    if (std::abs(v) < 0.1 || std::abs(v - 6) < 0.1) v += 0.5;
  in.push_back(std::move(t));
  auto r1 = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::relu(tp, v[0]); }, in);
  CHECK_MESSAGE(r1.ok, r1);
  auto r2 = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::relu6(tp, v[0]); }, in);
  CHECK_MESSAGE(r2.ok, r2);
}
