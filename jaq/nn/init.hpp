// jaq/nn/init.hpp: parameter initialisation (Kaiming/He), drawn from a jaq::rng passed in.
//
//   jaq::nn::kaiming_normal(w.value, /*fan_in=*/16 * 3 * 3, gen);   // N(0, 2 / fan_in): ReLU nets
//   jaq::nn::kaiming_uniform(fc.value, 64, gen);                      // U(-1/sqrt(fan_in), +1/sqrt(fan_in))
#pragma once

#include <cmath>
#include <cstdint>

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/rng.hpp"

namespace jaq::nn {

/// He et al.'s normal initialisation for ReLU networks: std = sqrt(2 / fan_in).
template <scalar T>
void kaiming_normal(tensor<T>& t, std::int64_t fan_in, rng& gen) {
  const double sd = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (T& x : t) x = static_cast<T>(sd * gen.normal());
}

/// Uniform in +-1/sqrt(fan_in) (Kaiming uniform with gain 1/sqrt(3)): linear layers and biases.
template <scalar T>
void kaiming_uniform(tensor<T>& t, std::int64_t fan_in, rng& gen) {
  const double b = 1.0 / std::sqrt(static_cast<double>(fan_in));
  for (T& x : t) x = static_cast<T>(gen.uniform(-b, b));
}

}  // namespace jaq::nn
