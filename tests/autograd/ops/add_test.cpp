#include "jaq/autograd/ops/add.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("add sums elementwise and passes the gradient to both inputs") {
  jaq::rng gen(8);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({2, 3, 5}, gen));
  in.push_back(jaq::test::random_tensor<double>({2, 3, 5}, gen));
  auto r = jaq::gradcheck([](tape<double>& tp, std::span<const var<double>> v) { return jaq::add(tp, v[0], v[1]); }, in);
  CHECK_MESSAGE(r.ok, r);
  tape<double> tp;
  auto a = tp.constant(in[0].clone());
  auto b = tp.constant(in[1].clone());
  auto c = jaq::add(tp, a, b);
  for (std::int64_t i = 0; i < c.value().size(); ++i) CHECK(c.value()[i] == in[0][i] + in[1][i]);
}
