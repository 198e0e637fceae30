// Whole-network finite-difference check in double: analytic parameter (and input) gradients
// from one backward pass against central differences on a sample of each parameter's elements.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/nn/model.hpp"
#include "tests/autograd/helpers.hpp"

namespace jaq::test {

inline double network_loss(jaq::nn::model<double>& m, const jaq::tensor<double>& x, const std::vector<std::int32_t>& y, bool backward) {
  jaq::tape<double> tp;
  auto loss = jaq::cross_entropy(tp, m.forward(tp, tp.constant(x.clone())), std::span<const std::int32_t>(y));
  const double l = loss.value()[0];
  if (backward) tp.backward(loss);
  return l;
}

/// Returns the number of sampled elements whose gradient disagrees; prints each.
inline int check_network_gradients(jaq::nn::model<double>& m, const jaq::tensor<double>& x, const std::vector<std::int32_t>& y,
                                   int samples_per_param = 6) {
  for (auto* p : m.parameters()) p->zero_grad();
  network_loss(m, x, y, true);
  jaq::rng gen(99);
  int bad = 0;
  const double eps = 1e-6;
  for (auto* p : m.parameters()) {
    REQUIRE_MESSAGE(!p->grad.empty(), p->name);
    for (int s = 0; s < samples_per_param; ++s) {
      const auto i = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(p->value.size())));
      const double x0 = p->value[i];
      p->value[i] = x0 + eps;
      const double up = network_loss(m, x, y, false);
      p->value[i] = x0 - eps;
      const double down = network_loss(m, x, y, false);
      p->value[i] = x0;
      const double num = (up - down) / (2 * eps), ana = p->grad[i];
      if (std::abs(num - ana) > 1e-6 + 1e-4 * std::abs(num)) {
        ++bad;
        MESSAGE(p->name << "[" << i << "]: analytic " << ana << ", numeric " << num);
      }
    }
  }
  return bad;
}

}  // namespace jaq::test
