// jaq/hw/accelerator.hpp: the hardware template as a tag type, described by `traits<Tag>`.
//
// The tag says what the hardware is (a BitFusion array with given max/min fused precision);
// `traits` says how the library describes it (fusion factor, name, which synthesis row scales its
// core energy and area). Algorithms take the tag as a template parameter checked by `accelerator`.
//
//   using acc = jaq::hw::bitfusion<>;                        // pmax 8, pmin 2: the paper's array
//   static_assert(jaq::hw::traits<acc>::fusion(4, 2) == 8);
#pragma once

#include <concepts>
#include <cstdint>

#include "jaq/hw/precision.hpp"

namespace jaq::hw {

/// A BitFusion-style bit-fusible systolic array: fusion units built from PMin-bit bricks that
/// fuse up to PMax bits. Both are powers of two with 1 <= PMin <= PMax <= 16.
template <int PMax = 8, int PMin = 2>
requires(PMin >= 1 && PMin <= PMax && PMax <= 16 && (PMax & (PMax - 1)) == 0 && (PMin & (PMin - 1)) == 0) struct bitfusion {
};

/// What the library knows about a hardware tag; specialised per template.
template <class Tag>
struct traits;

template <int PMax, int PMin>
struct traits<bitfusion<PMax, PMin>> {
  static constexpr int pmax = PMax;
  static constexpr int pmin = PMin;
  static constexpr const char* name = "bitfusion";
  /// Products per fusion unit per cycle for activation bits ip and weight bits wp.
  static constexpr std::int64_t fusion(std::int64_t ip, std::int64_t wp) { return fusion_factor(ip, wp, PMax, PMin); }
  /// The synthesis-table row its core energy and area scale from: a 4x4 array, PMax/PMin.
  static constexpr int synth_n = 4;
  static constexpr int synth_m = 4;
};

/// A hardware tag with a traits specialisation giving its fusion factor.
template <class Tag>
concept accelerator = requires(std::int64_t b) {
  { traits<Tag>::pmax } -> std::convertible_to<int>;
  { traits<Tag>::pmin } -> std::convertible_to<int>;
  { traits<Tag>::name } -> std::convertible_to<const char*>;
  { traits<Tag>::fusion(b, b) } -> std::same_as<std::int64_t>;
};

}  // namespace jaq::hw
