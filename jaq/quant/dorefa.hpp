// jaq/quant/dorefa.hpp: DoReFa weight quantization (Zhou et al. 2016), often paired with PACT.
//
//   t = tanh(w),  M = max_j |t_j|,  r = t / (2 M) + 1/2 in [0, 1],
//   w_q = 2 * round((2^k - 1) * r) / (2^k - 1) - 1            (rounding half to even)
// Backward is straight-through over the rounding only: d w_q / d w is the derivative of the
// smooth surrogate 2 r(w) - 1, including its dependence on M through the arg-max element (as
// the original implementation, which does not stop the gradient through the max):
//   d w_q_i / d w_j = [i == j] (1 - t_j^2) / M  -  t_i / M^2 * [j == argmax] sign(t_j) (1 - t_j^2)
// A tensor of zeros (M = 0) quantizes to r = 1/2 and passes no gradient.
//
//   std::vector<float> w{0.1f, -0.4f, 0.9f}, wq(3);
//   jaq::quant::dorefa_forward(w, 2, wq);      // -> [1/3, -1/3, 1]  (the spec's worked vector)
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "jaq/config.hpp"
#include "jaq/quant/round.hpp"

namespace jaq::quant {

/// The normaliser M = max |tanh(w)| and the index where it is reached (first one).
struct dorefa_norm {
  double m = 0.0;
  std::size_t argmax = 0;
};

template <class T>
dorefa_norm dorefa_normaliser(std::span<const T> w) {
  dorefa_norm n;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double a = std::abs(std::tanh(double(w[i])));
    if (a > n.m) n = {a, i};
  }
  return n;
}

/// One weight's quantized value for normaliser m > 0 and `levels` = 2^k - 1.
template <class T>
JAQ_HOST_DEVICE inline T dorefa_value(T w, T m, int levels) {
  const T r = std::tanh(w) / (T(2) * m) + T(0.5);
  return T(2) * (round_half_even(T(levels) * r) / T(levels)) - T(1);
}

/// w_q for every element (k = bits, 1..8).
template <class T>
void dorefa_forward(std::span<const T> w, int bits, std::span<T> out) {
  JAQ_ASSERT(out.size() == w.size());
  const int levels = (1 << bits) - 1;
  const dorefa_norm n = dorefa_normaliser(w);
  for (std::size_t i = 0; i < w.size(); ++i) out[i] = n.m > 0.0 ? dorefa_value(w[i], T(n.m), levels) : T(0);
}

/// grad_w = (d w_q / d w)^T grad_out through the straight-through surrogate (overwrites grad_w).
template <class T>
void dorefa_backward(std::span<const T> w, std::span<const T> grad_out, std::span<T> grad_w) {
  JAQ_ASSERT(grad_out.size() == w.size() && grad_w.size() == w.size());
  const dorefa_norm n = dorefa_normaliser(w);
  if (n.m == 0.0) {
    for (auto& g : grad_w) g = T(0);
    return;
  }
  double dot = 0.0;  // sum_i g_i t_i
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double t = std::tanh(double(w[i]));
    dot += double(grad_out[i]) * t;
    grad_w[i] = T(double(grad_out[i]) * (1.0 - t * t) / n.m);
  }
  const double ta = std::tanh(double(w[n.argmax]));
  const double dm = (ta < 0 ? -1.0 : 1.0) * (1.0 - ta * ta);  // d M / d w_argmax
  grad_w[n.argmax] = T(double(grad_w[n.argmax]) - dot / (n.m * n.m) * dm);
}

}  // namespace jaq::quant
