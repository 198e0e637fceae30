// jaq/hw/precision.hpp: the (activation, weight) precision pair of a layer and the fusion factor.
//
// Bit-widths are 1..8. A width fixed at compile time is a checked NTTP (`bits<4>`); a width read
// from a file is a run-time `precision_pair`, validated once. Both feed the same fusion factor:
//
//   static_assert(jaq::hw::fusion_factor(8, 2, /*pmax=*/8, /*pmin=*/2) == 4);
//   jaq::hw::precision_pair p{.iprec = 4, .wprec = 4};   // pf 4 on the reference array
#pragma once

#include <cstdint>
#include <ostream>

namespace jaq::hw {

/// A bit-width known at compile time; only 1..8 are representable.
template <int Bits>
requires(Bits >= 1 && Bits <= 8) struct bits {
  static constexpr int value = Bits;
};

/// Activation (input) and weight precision of one layer, in bits (each 1..8).
struct precision_pair {
  int iprec = 8;
  int wprec = 8;
  friend bool operator==(const precision_pair&, const precision_pair&) = default;
};

/// A precision pair fixed at compile time; converts to the run-time pair.
template <int IPrec, int WPrec>
requires(IPrec >= 1 && IPrec <= 8 && WPrec >= 1 && WPrec <= 8) struct fixed_precision {
  static constexpr int iprec = IPrec;
  static constexpr int wprec = WPrec;
  constexpr operator precision_pair() const { return {.iprec = IPrec, .wprec = WPrec}; }
};

/// True when a run-time width is one the model accepts (1..8).
constexpr bool valid_bits(std::int64_t b) { return b >= 1 && b <= 8; }

/// BitFusion fusion factor: how many (ip x wp) products one fusion unit computes per cycle,
/// `floor(pmax / max(ip, pmin)) * floor(pmax / max(wp, pmin))`.
constexpr std::int64_t fusion_factor(std::int64_t ip, std::int64_t wp, std::int64_t pmax, std::int64_t pmin) {
  const std::int64_t ei = ip > pmin ? ip : pmin;
  const std::int64_t ew = wp > pmin ? wp : pmin;
  return (pmax / ei) * (pmax / ew);
}

inline std::ostream& operator<<(std::ostream& os, const precision_pair& p) { return os << p.iprec << '/' << p.wprec; }

}  // namespace jaq::hw
