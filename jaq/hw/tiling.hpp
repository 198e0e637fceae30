// jaq/hw/tiling.hpp: one tiling of a layer: tile sizes and tile counts of the five loops.
//
// Tiles are powers of two capped at the full size (oc: powers of two times M unless im2col);
// counts are ceil(full / tile), a ragged last tile costing as much as a full one.
//
//   jaq::hw::tiling t{.b = 1, .num_b = 1, .ow = 4, .num_ow = 2, .oh = 4, .num_oh = 2,
//                     .ic = 1, .num_ic = 1, .oc = 8, .num_oc = 1};
#pragma once

#include <cstdint>
#include <ostream>

namespace jaq::hw {

struct tiling {
  std::int64_t b = 1, num_b = 1;    // batch tile and count
  std::int64_t ow = 1, num_ow = 1;  // output width tile and count
  std::int64_t oh = 1, num_oh = 1;  // output height tile and count (oh == ow: square tiles)
  std::int64_t ic = 1, num_ic = 1;  // input-channel tile and count
  std::int64_t oc = 1, num_oc = 1;  // output-channel tile and count
  /// Total tile count T.
  constexpr std::int64_t tiles() const { return num_b * num_ow * num_oh * num_ic * num_oc; }
  friend bool operator==(const tiling&, const tiling&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const tiling& t) {
  return os << "tiling{b=" << t.b << "x" << t.num_b << ", ow=" << t.ow << "x" << t.num_ow << ", oh=" << t.oh << "x" << t.num_oh
            << ", ic=" << t.ic << "x" << t.num_ic << ", oc=" << t.oc << "x" << t.num_oc << "}";
}

}  // namespace jaq::hw
