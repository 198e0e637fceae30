// tests/quant/test_ops.hpp: a tiny loss for op tests, loss = sum_i c_i y_i (dL/dy = c).
#pragma once

#include <utility>
#include <vector>

#include "jaq/autograd/tape.hpp"

namespace jaq::quant::testing {

template <jaq::scalar T>
jaq::var<T> weighted_sum(jaq::tape<T>& tp, jaq::var<T> y, const std::vector<T>& c) {
  jaq::tensor<T> out(jaq::shape{1});
  T s = 0;
  for (std::int64_t i = 0; i < y.value().size(); ++i) s += c[std::size_t(i)] * y.value()[i];
  out[0] = s;
  return tp.record("weighted_sum", std::move(out), {y}, [c](jaq::backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += c[std::size_t(i)] * ctx.grad_output()[0];
  });
}

template <jaq::scalar T>
jaq::tensor<T> make(jaq::shape s, const std::vector<T>& v) {
  jaq::tensor<T> t(s);
  for (std::int64_t i = 0; i < t.size(); ++i) t[i] = v[std::size_t(i)];
  return t;
}

}  // namespace jaq::quant::testing
