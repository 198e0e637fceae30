// jaq/quant/grid.hpp: integer grids of a b-bit quantizer, at compile time and at run time.
//
// A grid is the set of integer codes {-Q_N, ..., Q_P} a quantizer rounds to. The bit-width is a
// checked template parameter (1..8), signed or unsigned; `qrange` is the same information as a
// run-time value, for code paths that do not need the width in the type.
//
//   using w4 = jaq::quant::signed_grid<4>;    // codes -8..7, stored as int8
//   using a4 = jaq::quant::unsigned_grid<4>;  // codes 0..15, stored as uint8
//   static_assert(w4::q_n == 8 && w4::q_p == 7);
//   auto r = jaq::quant::qrange::of(4, true, "conv2.weight");  // throws config_error for 0 or 9
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>

#include "jaq/config.hpp"
#include "jaq/core/error.hpp"

namespace jaq::quant {

/// Signed b-bit grid (weights, signed activations): Q_N = 2^(b-1), Q_P = 2^(b-1) - 1.
/// For b = 1 the grid is {-1, 0}.
template <int Bits>
requires(1 <= Bits && Bits <= 8) struct signed_grid {
  static constexpr int bits = Bits;
  static constexpr bool is_signed = true;
  static constexpr int q_n = 1 << (Bits - 1);
  static constexpr int q_p = (1 << (Bits - 1)) - 1;
  using storage = std::int8_t;
};

/// Unsigned b-bit grid (activations after ReLU): Q_N = 0, Q_P = 2^b - 1.
template <int Bits>
requires(1 <= Bits && Bits <= 8) struct unsigned_grid {
  static constexpr int bits = Bits;
  static constexpr bool is_signed = false;
  static constexpr int q_n = 0;
  static constexpr int q_p = (1 << Bits) - 1;
  using storage = std::uint8_t;
};

/// A compile-time grid: a signed_grid or unsigned_grid instantiation (or any type like them).
template <class G>
concept grid = requires {
  { G::bits } -> std::convertible_to<int>;
  { G::q_n } -> std::convertible_to<int>;
  { G::q_p } -> std::convertible_to<int>;
  { G::is_signed } -> std::convertible_to<bool>;
  typename G::storage;
}
&&(G::bits >= 1 && G::bits <= 8);

/// Highest bit-width any jaq quantizer supports (codes fit int8/uint8 storage).
inline constexpr int max_bits = 8;

/// A grid known at run time: codes -q_n..q_p.
struct qrange {
  int bits = 8;
  bool is_signed = true;
  int q_n = 128;
  int q_p = 127;

  /// The grid of `bits` bits; throws config_error naming `where` when bits is not in 1..8.
  static qrange of(int bits, bool is_signed, const std::string& where) {
    if (bits < 1 || bits > max_bits) throw config_error(where, "bits", "unsupported bit-width " + std::to_string(bits) + " (must be 1..8)");
    return is_signed ? qrange{bits, true, 1 << (bits - 1), (1 << (bits - 1)) - 1} : qrange{bits, false, 0, (1 << bits) - 1};
  }

  template <grid G>
  static constexpr qrange of() {
    return qrange{G::bits, G::is_signed, G::q_n, G::q_p};
  }

  friend bool operator==(const qrange&, const qrange&) = default;
  friend std::ostream& operator<<(std::ostream& os, const qrange& r) {
    return os << (r.is_signed ? "int" : "uint") << r.bits << "[" << -r.q_n << ".." << r.q_p << "]";
  }
};

}  // namespace jaq::quant
