#include "jaq/autograd/ops/linear.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("linear matches the triple loop") {
  jaq::rng gen(9);
  tape<float> tp;
  auto x = tp.constant(jaq::test::random_tensor<float>({5, 7}, gen));
  auto w = tp.constant(jaq::test::random_tensor<float>({3, 7}, gen));
  auto b = tp.constant(jaq::test::random_tensor<float>({3}, gen));
  auto y = jaq::linear(tp, x, w, b);
  REQUIRE(y.shape() == jaq::shape{5, 3});
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = b.value()[j];
      for (int k = 0; k < 7; ++k) s += double(x.value()[i * 7 + k]) * w.value()[j * 7 + k];
      CHECK(y.value()[i * 3 + j] == doctest::Approx(s).epsilon(1e-5));
    }
}

TEST_CASE("linear passes the finite-difference check with and without bias") {
  jaq::rng gen(10);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({4, 6}, gen));
  in.push_back(jaq::test::random_tensor<double>({3, 6}, gen));
  in.push_back(jaq::test::random_tensor<double>({3}, gen));
  auto r = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::linear(tp, v[0], v[1], v[2]); }, in);
  CHECK_MESSAGE(r.ok, r);
  in.pop_back();
  auto r2 = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::linear(tp, v[0], v[1]); }, in);
  CHECK_MESSAGE(r2.ok, r2);
}

TEST_CASE("linear names both shapes when they do not match") {
  tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::zeros({4, 6}));
  auto w = tp.constant(jaq::tensor<float>::zeros({3, 5}));
  CHECK_THROWS_WITH_AS(jaq::linear(tp, x, w), doctest::Contains("(4, 6) does not match weight (3, 5)"), jaq::model_error);
}
