// jaq/autograd/interop/xtensor.hpp: jaq tensors as xtensor expressions without a copy, and
// xtensor expressions as jaq tensors (Bazel: //jaq/autograd:xtensor).
//
// as_xtensor(t) is an xt::adapt view over t's own storage with t's shape (row-major): reads
// and writes go to t, nothing is copied, and the view must not outlive t (nor a reshape of it).
// from_xtensor<T>(e) evaluates any xtensor expression of rank 0-4 into a new jaq tensor,
// converting its elements to T. The joint search's cost tables are xtensor arrays already
// (jaq/search/cost_table.hpp).
//
//   jaq::tensor<float> w = ...;
//   auto v = jaq::as_xtensor(w);                 // xt::xarray_adaptor over w.data()
//   v *= 0.5f;                                   // scales w in place
//   float peak = xt::amax(jaq::as_xtensor(std::as_const(w)))();
//   jaq::tensor<float> x = jaq::from_xtensor<float>(xt::xarray<double>{{1, 2}, {3, 4}});
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "jaq/autograd/shape.hpp"
#include "jaq/autograd/tensor.hpp"
#include "jaq/core/error.hpp"

namespace jaq {

namespace detail {
inline std::vector<std::size_t> xt_shape_of(const jaq::shape& s) {
  std::vector<std::size_t> d(static_cast<std::size_t>(s.rank));
  for (int i = 0; i < s.rank; ++i) d[static_cast<std::size_t>(i)] = static_cast<std::size_t>(s[i]);
  return d;
}
}  // namespace detail

/// A writable xtensor view of t (no copy).
template <scalar T>
auto as_xtensor(tensor<T>& t) {
  return xt::adapt(t.data(), static_cast<std::size_t>(t.size()), xt::no_ownership(), detail::xt_shape_of(t.shape()));
}

/// A read-only xtensor view of t (no copy).
template <scalar T>
auto as_xtensor(const tensor<T>& t) {
  return xt::adapt(t.data(), static_cast<std::size_t>(t.size()), xt::no_ownership(), detail::xt_shape_of(t.shape()));
}

/// A new jaq tensor holding expression e (rank 0 to 4), its elements converted to T;
/// model_error for a higher rank.
template <scalar T, class E>
tensor<T> from_xtensor(const xt::xexpression<E>& e) {
  const xt::xarray<T> a = xt::cast<T>(e.derived_cast());  // evaluated, row-major
  if (a.dimension() > std::size_t(jaq::shape::max_rank))
    throw model_error("from_xtensor: rank " + std::to_string(a.dimension()) + " is more than a jaq tensor holds (" +
                      std::to_string(jaq::shape::max_rank) + ")");
  jaq::shape s;
  s.rank = static_cast<int>(a.dimension());
  for (int i = 0; i < s.rank; ++i) s[i] = static_cast<std::int64_t>(a.shape()[static_cast<std::size_t>(i)]);
  tensor<T> t(s);
  std::copy(a.begin(), a.end(), t.data());
  return t;
}

}  // namespace jaq
