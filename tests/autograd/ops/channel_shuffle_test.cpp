#include "jaq/autograd/ops/channel_shuffle.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("channel_shuffle interleaves the groups") {
  tape<float> tp;
  jaq::tensor<float> x({6, 1, 1, 1});
  for (std::int64_t i = 0; i < 6; ++i) x[i] = static_cast<float>(i);
  auto y = jaq::channel_shuffle(tp, tp.constant(std::move(x)), 2);
  const float want[] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) CHECK(y.value()[i] == want[i]);
}

TEST_CASE("channel_shuffle passes the finite-difference check") {
  jaq::rng gen(43);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({6, 2, 2, 1}, gen));
  auto r = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::channel_shuffle(tp, v[0], 3); }, in);
  CHECK_MESSAGE(r.ok, r);
}

TEST_CASE("channel_shuffle rejects groups that do not divide the channels") {
  tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::zeros({6, 1, 1, 1}));
  CHECK_THROWS_WITH_AS(jaq::channel_shuffle(tp, x, 4), doctest::Contains("4 groups do not divide"), jaq::model_error);
}
