// jaq/quant/round.hpp: the one rounding function every quantizer and the integer reference use.
//
// Round half to even, as PyTorch's torch.round and C++ std::nearbyint in the default
// floating-point environment do. Written out (floor + exact fractional part) instead of calling
// std::nearbyint so that the result does not depend on the current rounding mode (fesetround)
// and so that CUDA kernels share it through JAQ_HOST_DEVICE.
//
//   jaq::quant::round_half_even(2.5f);   // 2
//   jaq::quant::round_half_even(-0.5f);  // -0
//   jaq::quant::round_half_even(3.5f);   // 4
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>

#include "jaq/config.hpp"

namespace jaq::quant {

/// Nearest integer to x, ties to the even neighbour; NaN stays NaN, +-inf stay.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T round_half_even(T x) {
  // From 2^(mantissa bits) on every float is an integer (and NaN/inf fail the test): as is.
  constexpr T big = T(std::int64_t(1) << (std::numeric_limits<T>::digits - 1));
  if (!(x < big && x > -big)) return x;
  // floor through an integer conversion (a truncating instruction, no libm call on SSE2)
  const auto i = static_cast<std::int64_t>(x);
  T f = static_cast<T>(i);
  if (f > x) f -= T(1);
  // x - floor(x) is exact (the fractional bits of x), so the comparisons with 1/2 are exact too.
  const T d = x - f;
  if (d > T(0.5)) return f + T(1);
  if (d < T(0.5)) return f;
  const auto fi = static_cast<std::int64_t>(f);
  return (fi % 2 == 0) ? f : f + T(1);
}

}  // namespace jaq::quant
