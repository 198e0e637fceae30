#include "jaq/autograd/ops/cross_entropy.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("cross_entropy equals the mean negative log-softmax of the label") {
  tape<double> tp;
  jaq::tensor<double> z({2, 3});
  const double v[] = {1, 2, 3, 0, 0, 0};
  std::copy(v, v + 6, z.data());
  std::vector<std::int32_t> y{2, 1};
  auto loss = jaq::cross_entropy(tp, tp.constant(std::move(z)), std::span<const std::int32_t>(y));
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(3.0);
  CHECK(loss.value()[0] == doctest::Approx((l0 + l1) / 2));
}

TEST_CASE("cross_entropy passes the finite-difference check and is stable for large logits") {
  jaq::rng gen(11);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({5, 4}, gen, -3, 3));
  std::vector<std::int32_t> y{0, 3, 1, 1, 2};
  auto r = jaq::gradcheck(
      [&](tape<double>& tp, std::span<const var<double>> v) { return jaq::cross_entropy(tp, v[0], std::span<const std::int32_t>(y)); }, in);
  CHECK_MESSAGE(r.ok, r);
  tape<float> tp;
  auto big = tp.constant(jaq::tensor<float>::full({1, 3}, 1000.0f));
  std::vector<std::int32_t> y1{0};
  auto l = jaq::cross_entropy(tp, big, std::span<const std::int32_t>(y1));
  CHECK(l.value()[0] == doctest::Approx(std::log(3.0)));
}

TEST_CASE("cross_entropy rejects a label outside the classes, naming it") {
  tape<float> tp;
  auto z = tp.constant(jaq::tensor<float>::zeros({2, 3}));
  std::vector<std::int32_t> y{0, 3};
  CHECK_THROWS_WITH_AS(jaq::cross_entropy(tp, z, std::span<const std::int32_t>(y)),
                       doctest::Contains("label 3 at index 1 is outside [0, 3)"), jaq::model_error);
}

TEST_CASE("count_correct counts arg-max hits") {
  jaq::tensor<float> z({2, 2});
  z[0] = 1;
  z[1] = 0;
  z[2] = 0;
  z[3] = 1;
  std::vector<std::int32_t> y{0, 0};
  CHECK(jaq::count_correct(z, std::span<const std::int32_t>(y)) == 1);
}
