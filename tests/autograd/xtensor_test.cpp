// Tests of jaq/autograd/interop/xtensor.hpp: views share the tensor's storage and shape; an
// xtensor expression becomes a jaq tensor, converted, row-major.
#include "jaq/autograd/interop/xtensor.hpp"

#include <doctest/doctest.h>

#include <utility>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

TEST_CASE("as_xtensor: a view over the tensor's own storage, with its shape; writes go through") {
  jaq::tensor<float> t(jaq::shape{2, 3, 4});
  for (std::int64_t i = 0; i < t.size(); ++i) t[i] = float(i);
  auto v = jaq::as_xtensor(t);
  REQUIRE(v.dimension() == 3);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v.shape()[2] == 4);
  CHECK(v.data() == t.data());  // no copy
  CHECK(v(1, 2, 3) == t[(1 * 3 + 2) * 4 + 3]);
  v *= 2.0f;
  CHECK(t[5] == 10.0f);
  xt::view(v, 1, xt::all(), xt::all()) = 0.0f;  // the second (3, 4) slab
  CHECK(t[11] == 22.0f);
  CHECK(t[12] == 0.0f);
  const float sum = xt::sum(jaq::as_xtensor(std::as_const(t)))();
  CHECK(sum == doctest::Approx(2.0 * (11 * 12 / 2)));
}

TEST_CASE("from_xtensor: any expression of rank 0-4 becomes a tensor, its elements converted") {
  const xt::xarray<double> a{{1.5, 2.0, 3.0}, {4.0, 5.0, 6.25}};
  const jaq::tensor<float> t = jaq::from_xtensor<float>(a * 2.0);
  REQUIRE(t.shape() == jaq::shape{2, 3});
  CHECK(t[0] == 3.0f);
  CHECK(t[5] == 12.5f);
  // round trip: the view of the copy equals the expression
  CHECK(xt::allclose(jaq::as_xtensor(t), xt::cast<float>(a * 2.0)));
  const auto s = jaq::from_xtensor<double>(xt::xarray<double>(7.0));  // rank 0
  CHECK(s.rank() == 0);
  CHECK(s[0] == 7.0);
  CHECK_THROWS_WITH_AS(jaq::from_xtensor<float>(xt::xarray<float>::from_shape({1, 1, 1, 1, 2})), doctest::Contains("rank 5"),
                       jaq::model_error);
}
