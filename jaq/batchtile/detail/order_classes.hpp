// jaq/batchtile/detail/order_classes.hpp: which of the 120 loop orders can give different results.
//
// The DRAM promotion walk multiplies buffer sizes by loop counts from the innermost loop out.
// Two facts collapse the 120 orders (each proved exhaustively against the reference by
// tests/batchtile/order_classes_test.cpp and the mapper property tests):
//   1. A loop whose count is 1 changes nothing: multiplying by 1 keeps every size, and a size
//      that was within half its buffer stays within it. Only the relative order of the
//      *active* loops (count > 1) matters.
//   2. Two active loops that touch the same buffers and have the same count are
//      interchangeable: swapping them gives the same sequence of multiplications and checks.
//      B, OW and OH all touch (act, out); OW and OH always have equal counts (square tiles).
// So an order is described by its "signature": the active loops from outermost to innermost,
// each replaced by a label that is equal for interchangeable loops. Orders with the same
// signature give bit-identical results; among them the tie rule (first in
// itertools.permutations order) picks the one with the smallest index, the representative.
//
// `order_classes::get().representatives(key)` lists, for a tiling's key (active mask and count
// equalities among B/OW/OH), the representative order indices in increasing order: 12 for a
// typical batch-1 conv instead of 120.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace jaq::batchtile::detail {

/// Loop ids in the spec's tuple order (B, OW, OH, IC, OC); also their itertools positions.
enum loop_id : int { loop_b = 0, loop_ow = 1, loop_oh = 2, loop_ic = 3, loop_oc = 4 };
inline constexpr int num_loops = 5;
inline constexpr int num_orders = 120;

/// Buffers a loop touches, as bits: weights 1, activations 2, outputs 4.
inline constexpr int touch_w = 1, touch_a = 2, touch_o = 4;
inline constexpr std::array<int, num_loops> loop_touches = {
    touch_a | touch_o,  // B
    touch_a | touch_o,  // OW
    touch_a | touch_o,  // OH
    touch_w | touch_a,  // IC
    touch_w | touch_o,  // OC
};

/// The 120 permutations of (0..4) in itertools.permutations order (lexicographic), outermost
/// loop first.
inline const std::array<std::array<std::int8_t, num_loops>, num_orders>& all_orders() {
  static const auto table = [] {
    std::array<std::array<std::int8_t, num_loops>, num_orders> t{};
    std::array<std::int8_t, num_loops> p{0, 1, 2, 3, 4};
    int i = 0;
    do t[static_cast<std::size_t>(i++)] = p;
    while (std::next_permutation(p.begin(), p.end()));
    return t;
  }();
  return table;
}

/// A tiling's order key: bits 0-4 the active loops (count > 1), bit 5 num_b == num_ow,
/// bit 6 num_b == num_oh, bit 7 num_ow == num_oh (equality bits only where both are active).
using order_key = std::uint8_t;

inline order_key make_order_key(const std::array<std::int64_t, num_loops>& counts) {
  unsigned key = 0;
  for (int l = 0; l < num_loops; ++l)
    if (counts[static_cast<std::size_t>(l)] > 1) key |= 1u << l;
  auto both = [&](int a, int b) { return ((key >> a) & 1u) && ((key >> b) & 1u); };
  if (both(loop_b, loop_ow) && counts[loop_b] == counts[loop_ow]) key |= 1u << 5;
  if (both(loop_b, loop_oh) && counts[loop_b] == counts[loop_oh]) key |= 1u << 6;
  if (both(loop_ow, loop_oh) && counts[loop_ow] == counts[loop_oh]) key |= 1u << 7;
  return static_cast<order_key>(key);
}

class order_classes {
 public:
  static const order_classes& get() {
    static const order_classes instance;
    return instance;
  }
  /// Representative order indices for `key`, increasing.
  const std::vector<std::int8_t>& representatives(order_key key) const { return reps_[key]; }

  /// The signature of order `o` under `key`: labels of the active loops, outermost first,
  /// padded with -1. Orders with equal signatures give identical walks.
  static std::array<std::int8_t, num_loops> signature(order_key key, int o) {
    std::array<std::int8_t, num_loops> label{};
    for (int l = 0; l < num_loops; ++l) label[static_cast<std::size_t>(l)] = static_cast<std::int8_t>(l);
    // Interchangeable B/OW/OH loops share the label of the first of them.
    if (key & (1u << 5)) label[loop_ow] = label[loop_b];
    if (key & (1u << 6)) label[loop_oh] = label[loop_b];
    if (key & (1u << 7)) label[loop_oh] = label[loop_ow];
    std::array<std::int8_t, num_loops> sig;
    sig.fill(-1);
    int k = 0;
    for (std::int8_t l : all_orders()[static_cast<std::size_t>(o)])
      if (key & (1u << l)) sig[static_cast<std::size_t>(k++)] = label[static_cast<std::size_t>(l)];
    return sig;
  }

 private:
  order_classes() {
    for (unsigned key = 0; key < 256; ++key) {
      std::vector<std::array<std::int8_t, num_loops>> seen;
      for (int o = 0; o < num_orders; ++o) {
        const auto sig = signature(static_cast<order_key>(key), o);
        if (std::find(seen.begin(), seen.end(), sig) == seen.end()) {
          seen.push_back(sig);
          reps_[key].push_back(static_cast<std::int8_t>(o));
        }
      }
    }
  }
  std::array<std::vector<std::int8_t>, 256> reps_;
};

}  // namespace jaq::batchtile::detail
