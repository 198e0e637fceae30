// jaq/quant/minmax.hpp: the asymmetric min/max uniform quantizer with a straight-through
// estimator (the baseline quantizer of Auto-NBA).
//
//   scale = (max - min) / (2^b - 1),  q = clamp(round((x - min) / scale), 0, 2^b - 1),
//   x_hat = q * scale + min;   d x_hat / d x = 1 where min <= x <= max, else 0.
// Activations: per tensor, the batch's min/max while training and a running average of them at
// evaluation (`minmax_observer`). Weights: per output channel, from the current weights. Nothing
// here is learned, so there is no parameter gradient. A range with max == min quantizes every
// element to min (scale 0 would divide by zero).
//
//   jaq::quant::minmax_range r = jaq::quant::minmax_of(x);
//   jaq::quant::minmax_forward(x, r, 4, x_hat);
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <limits>
#include <ostream>
#include <span>

#include "jaq/config.hpp"
#include "jaq/quant/round.hpp"

namespace jaq::quant {

/// The clipping range [lo, hi] of a min/max quantizer.
struct minmax_range {
  float lo = 0.0f;
  float hi = 0.0f;
  friend std::ostream& operator<<(std::ostream& os, const minmax_range& r) { return os << "[" << r.lo << ", " << r.hi << "]"; }
};

template <std::floating_point T>
JAQ_HOST_DEVICE inline T minmax_value(T x, T lo, T hi, int levels) {
  const T scale = (hi - lo) / T(levels);
  if (!(scale > T(0))) return lo;
  T q = round_half_even((x - lo) / scale);
  q = q < T(0) ? T(0) : (q > T(levels) ? T(levels) : q);
  return q * scale + lo;
}

template <std::floating_point T>
JAQ_HOST_DEVICE inline T minmax_grad_input(T x, T lo, T hi) {
  return (x >= lo && x <= hi) ? T(1) : T(0);
}

/// min and max of x (an empty span gives [0, 0]).
inline minmax_range minmax_of(std::span<const float> x) {
  if (x.empty()) return {};
  auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  return {*lo, *hi};
}

/// x_hat for every element with `bits` bits (1..8, checked by the caller).
inline void minmax_forward(std::span<const float> x, minmax_range r, int bits, std::span<float> out) {
  JAQ_ASSERT(out.size() == x.size() && bits >= 1 && bits <= 8);
  const int levels = (1 << bits) - 1;
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = minmax_value(x[i], r.lo, r.hi, levels);
}

inline void minmax_backward(std::span<const float> x, minmax_range r, std::span<const float> grad_out, std::span<float> grad_in) {
  for (std::size_t i = 0; i < x.size(); ++i) grad_in[i] = grad_out[i] * minmax_grad_input(x[i], r.lo, r.hi);
}

/// Per-output-channel weights: x is (C, inner), one range per row, taken from x itself.
inline void minmax_forward_per_channel(std::span<const float> x, std::size_t channels, int bits, std::span<float> out) {
  JAQ_ASSERT(channels > 0 && x.size() % channels == 0);
  const std::size_t inner = x.size() / channels;
  for (std::size_t k = 0; k < channels; ++k) {
    auto row = x.subspan(k * inner, inner);
    minmax_forward(row, minmax_of(row), bits, out.subspan(k * inner, inner));
  }
}

/// The running range of an activation quantizer: batch range while training, an exponential
/// moving average of batch ranges for evaluation.
struct minmax_observer {
  float momentum = 0.1f;  ///< weight of the new batch in the running average
  minmax_range running{};
  bool seen = false;

  /// Range to use on this batch; updates the running average when training.
  minmax_range observe(std::span<const float> x, bool training) {
    if (!training && seen) return running;
    const minmax_range b = minmax_of(x);
    if (!seen) {
      running = b;
      seen = true;
    } else {
      running.lo += momentum * (b.lo - running.lo);
      running.hi += momentum * (b.hi - running.hi);
    }
    return b;
  }
};

}  // namespace jaq::quant
