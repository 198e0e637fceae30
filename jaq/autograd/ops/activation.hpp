// jaq/autograd/ops/activation.hpp: ReLU and ReLU6 (any shape).
//
//   auto h = jaq::relu(tp, x);
//   auto g = jaq::relu6(tp, x);
#pragma once

#include <limits>
#include <utility>

#include "jaq/autograd/detail/elementwise.hpp"
#include "jaq/autograd/tape.hpp"

namespace jaq {
namespace detail {
template <scalar T>
var<T> clamp_op(tape<T>& tp, var<T> x, T hi, const char* name) {
  const tensor<T>& xv = x.value();
  tensor<T> y(xv.shape());
  clamp_forward(tp.exec(), xv.data(), y.data(), y.size(), hi);
  // The backward reads its own output (y > 0 and y < hi): nothing extra to save.
  return tp.record(name, std::move(y), {x}, [hi](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    bool overwrite = false;
    tensor<T>& gx = ctx.grad_input_for_write(0, overwrite);
    clamp_backward(ctx.exec(), ctx.output().data(), ctx.grad_output().data(), gx.data(), gx.size(), hi, overwrite);
  });
}
}  // namespace detail

/// max(x, 0)
template <scalar T>
var<T> relu(tape<T>& tp, var<T> x) {
  return detail::clamp_op(tp, x, std::numeric_limits<T>::infinity(), "relu");
}

/// min(max(x, 0), 6)
template <scalar T>
var<T> relu6(tape<T>& tp, var<T> x) {
  return detail::clamp_op(tp, x, T(6), "relu6");
}

}  // namespace jaq
