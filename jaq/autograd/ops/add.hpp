// jaq/autograd/ops/add.hpp: elementwise sum of two same-shaped tensors (residual connections).
//
//   auto y = jaq::add(tp, block_out, block_in);
#pragma once

#include <string>
#include <utility>

#include "jaq/autograd/detail/elementwise.hpp"
#include "jaq/autograd/tape.hpp"

namespace jaq {

template <scalar T>
var<T> add(tape<T>& tp, var<T> a, var<T> b) {
  if (!(a.shape() == b.shape())) throw model_error("add: shapes differ: " + a.shape().str() + " vs " + b.shape().str());
  tensor<T> y(a.shape());
  detail::add(tp.exec(), a.value().data(), b.value().data(), y.data(), y.size());
  return tp.record("add", std::move(y), {a, b}, [](backward_context<T>& ctx) {
    for (std::size_t k = 0; k < 2; ++k) {
      if (!ctx.needs_grad(k)) continue;
      bool overwrite = false;
      tensor<T>& g = ctx.grad_input_for_write(k, overwrite);
      detail::accumulate(ctx.exec(), ctx.grad_output().data(), g.data(), g.size(), overwrite);
    }
  });
}

}  // namespace jaq
