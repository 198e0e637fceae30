#include "jaq/autograd/ops/flatten.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("flatten turns channel-major maps into per-sample rows in (C, H, W) order") {
  jaq::tensor<float> nchw({2, 3, 2, 2});
  for (std::int64_t i = 0; i < nchw.size(); ++i) nchw[i] = static_cast<float>(i);
  tape<float> tp;
  auto y = jaq::flatten(tp, tp.constant(jaq::to_channel_major(nchw)));
  REQUIRE(y.shape() == jaq::shape{2, 12});
  // flattening a channel-major map gives the same rows as flattening the NCHW original
  for (std::int64_t i = 0; i < 24; ++i) CHECK(y.value()[i] == nchw[i]);
}

TEST_CASE("flatten passes the finite-difference check, rank 4 and rank 2") {
  jaq::rng gen(42);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({3, 2, 2, 3}, gen));
  auto r = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::flatten(tp, v[0]); }, in);
  CHECK_MESSAGE(r.ok, r);
  in[0] = jaq::test::random_tensor<double>({3, 4}, gen);
  auto r2 = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::flatten(tp, v[0]); }, in);
  CHECK_MESSAGE(r2.ok, r2);
}

TEST_CASE("to_channel_major rejects a tensor that is not rank 4") {
  CHECK_THROWS_AS(jaq::to_channel_major(jaq::tensor<float>::zeros({2, 3})), jaq::model_error);
}
