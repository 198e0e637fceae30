#include "jaq/autograd/ops/pooling.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("global_avg_pool averages each channel of each sample into (N, C)") {
  tape<float> tp;
  jaq::tensor<float> x({2, 3, 1, 2});  // (C, N, H, W)
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  auto y = jaq::global_avg_pool(tp, tp.constant(std::move(x)));
  REQUIRE(y.shape() == jaq::shape{3, 2});
  CHECK(y.value()[0] == 0.5f);  // n0 c0: (0 + 1) / 2
  CHECK(y.value()[1] == 6.5f);  // n0 c1: (6 + 7) / 2
  CHECK(y.value()[2] == 2.5f);  // n1 c0
}

TEST_CASE("global_avg_pool passes the finite-difference check") {
  jaq::rng gen(41);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({3, 2, 3, 2}, gen));
  auto r = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::global_avg_pool(tp, v[0]); }, in);
  CHECK_MESSAGE(r.ok, r);
}
