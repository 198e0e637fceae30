// Shared helpers for the autograd tests: random tensors from a seeded jaq::rng.
#pragma once

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/rng.hpp"

namespace jaq::test {

template <jaq::scalar T>
jaq::tensor<T> random_tensor(jaq::shape s, jaq::rng& gen, double lo = -1.0, double hi = 1.0) {
  jaq::tensor<T> t(s);
  for (auto& x : t) x = static_cast<T>(gen.uniform(lo, hi));
  return t;
}

}  // namespace jaq::test
