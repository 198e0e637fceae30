// jaq/quant/pact.hpp: PACT, the learned-clip activation quantizer (Choi et al. 2018).
//
//   y = clip(x, 0, alpha),  L = 2^k - 1,  code = round(y * L / alpha),  y_q = code * alpha / L
//   d y_q / d x     = 1 where 0 <= x < alpha, else 0       (straight through the whole quantizer)
//   d y_q / d alpha = 1 where x >= alpha, else 0
// The derivative deliberately does NOT include the term automatic differentiation would produce
// by going through the division by alpha for x < alpha (that term makes it LSQ, not PACT).
// Both the code and the value are evaluated in the published order, left to right
// (`y * L / alpha`, `code * alpha / L`): an exact tie such as y = 1, alpha = 2, k = 3
// (y * L / alpha = 3.5) then rounds half to even to 4, where `y / (alpha / L)` would see
// 3.4999999 in float and give 3. The codes are the integers an accelerator runs: the integer
// reference forward (jaq/quant/integer_conv.hpp) takes these codes with the scale alpha / L, and
// reproduces y_q to within one rounding of the final product. The paper's L2 penalty on alpha is
// the optimiser's weight decay on the alpha parameter.
//
//   using G = jaq::quant::unsigned_grid<2>;
//   jaq::quant::pact_forward<G>(x, alpha, y);                 // x = [-0.5, 0.7, 3] -> [0, 2/3, 2]
//   double d_alpha = jaq::quant::pact_backward<G>(x, alpha, g, g_x);
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include "jaq/config.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/round.hpp"

namespace jaq::quant {

/// The grid step alpha / (2^k - 1) for `levels` = 2^k - 1.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T pact_step(T alpha, int levels) {
  return alpha / T(levels);
}

/// Integer code in 0..levels: round(clip(x, 0, alpha) * levels / alpha), in that order.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T pact_code(T x, T alpha, int levels) {
  const T y = x < T(0) ? T(0) : (x > alpha ? alpha : x);
  const T c = round_half_even(y * T(levels) / alpha);
  return c > T(levels) ? T(levels) : c;
}

/// y_q = code * alpha / levels, in that order.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T pact_value(T x, T alpha, int levels) {
  return pact_code(x, alpha, levels) * alpha / T(levels);
}

template <std::floating_point T>
JAQ_HOST_DEVICE inline T pact_grad_input(T x, T alpha) {
  return (x >= T(0) && x < alpha) ? T(1) : T(0);
}

template <std::floating_point T>
JAQ_HOST_DEVICE inline T pact_grad_alpha(T x, T alpha) {
  return x >= alpha ? T(1) : T(0);
}

template <grid G>
requires(!G::is_signed) void pact_forward(std::span<const float> x, float alpha, std::span<float> out) {
  JAQ_ASSERT(out.size() == x.size() && alpha > 0.0f);
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = pact_value(x[i], alpha, G::q_p);
}

/// grad_in[i] = grad_out[i] * d y_q/d x; returns sum_i grad_out[i] * d y_q/d alpha.
template <grid G>
requires(!G::is_signed) double pact_backward(std::span<const float> x, float alpha, std::span<const float> grad_out,
                                             std::span<float> grad_in) {
  JAQ_ASSERT(grad_out.size() == x.size() && grad_in.size() == x.size());
  double da = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float g = grad_out[i];
    da += double(g) * double(pact_grad_alpha(x[i], alpha));
    grad_in[i] = g * pact_grad_input(x[i], alpha);
  }
  return da;
}

}  // namespace jaq::quant
