// jaq/hw/loop_order.hpp: a loop order: a permutation of the five tile loops, outermost first.
//
// Orders are numbered 0..119 in the order Python's itertools.permutations yields them from
// (B, OW, OH, IC, OC): lexicographic by loop position, 0 = B>OW>OH>IC>OC, 1 = B>OW>OH>OC>IC,
// ..., 119 = OC>IC>OH>OW>B. This index is the cross-order tie rule's scan order.
//
//   auto o = jaq::hw::loop_order::from_index(1);
//   assert(o.to_string() == "B>OW>OH>OC>IC" && o.index() == 1);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace jaq::hw {

/// The five tile loops; the numeric value is the position in the (B, OW, OH, IC, OC) tuple.
enum class loop : std::uint8_t { B = 0, OW = 1, OH = 2, IC = 3, OC = 4 };

inline constexpr int num_loops = 5;
inline constexpr int num_loop_orders = 120;

constexpr const char* to_string(loop l) {
  constexpr const char* names[] = {"B", "OW", "OH", "IC", "OC"};
  return names[static_cast<int>(l)];
}

/// Data a loop touches: B, OW, OH -> activations and outputs; IC -> activations and weights;
/// OC -> weights and outputs.
constexpr bool touches_weights(loop l) { return l == loop::IC || l == loop::OC; }
constexpr bool touches_activations(loop l) { return l != loop::OC; }
constexpr bool touches_outputs(loop l) { return l != loop::IC; }

class loop_order {
 public:
  /// Default: B>OW>OH>IC>OC (index 0).
  constexpr loop_order() : loops_{loop::B, loop::OW, loop::OH, loop::IC, loop::OC} {}
  constexpr explicit loop_order(std::array<loop, 5> outer_to_inner) : loops_(outer_to_inner) {}

  /// The order with itertools.permutations index i (0..119).
  static constexpr loop_order from_index(int i) {
    // Lexicographic unranking in the factorial number system over the loops not yet placed.
    constexpr int facts[5] = {24, 6, 2, 1, 1};
    std::array<int, 5> pool{0, 1, 2, 3, 4};
    std::array<loop, 5> out{};
    for (int pos = 0, n = 5; pos < 5; ++pos, --n) {
      const int k = i / facts[pos];
      i %= facts[pos];
      out[pos] = static_cast<loop>(pool[k]);
      for (int j = k; j + 1 < n; ++j) pool[j] = pool[j + 1];
    }
    return loop_order(out);
  }

  /// Its itertools.permutations index, 0..119.
  constexpr int index() const {
    int idx = 0;
    constexpr int facts[5] = {24, 6, 2, 1, 1};
    for (int pos = 0; pos < 5; ++pos) {
      int smaller_later = 0;
      for (int j = pos + 1; j < 5; ++j)
        if (static_cast<int>(loops_[j]) < static_cast<int>(loops_[pos])) ++smaller_later;
      idx += smaller_later * facts[pos];
    }
    return idx;
  }

  /// Loops outermost first.
  constexpr const std::array<loop, 5>& outer_to_inner() const { return loops_; }
  constexpr loop operator[](int pos) const { return loops_[pos]; }
  /// True when each of the five loops appears once.
  constexpr bool is_permutation() const {
    unsigned seen = 0;
    for (loop l : loops_) seen |= 1u << static_cast<int>(l);
    return seen == 31u;
  }

  /// "B>OW>OH>IC>OC" (outermost first).
  std::string to_string() const {
    std::string s;
    for (int i = 0; i < 5; ++i) {
      if (i) s += '>';
      s += hw::to_string(loops_[i]);
    }
    return s;
  }

  /// Parses "B>OW>OH>IC>OC"; nullopt unless it names each loop once.
  static std::optional<loop_order> parse(std::string_view s) {
    std::array<loop, 5> out{};
    int n = 0;
    while (true) {
      const auto gt = s.find('>');
      const std::string_view tok = s.substr(0, gt);
      std::optional<loop> l;
      for (int k = 0; k < 5; ++k)
        if (tok == hw::to_string(static_cast<loop>(k))) l = static_cast<loop>(k);
      if (!l || n == 5) return std::nullopt;
      out[n++] = *l;
      if (gt == std::string_view::npos) break;
      s.remove_prefix(gt + 1);
    }
    loop_order o(out);
    if (n != 5 || !o.is_permutation()) return std::nullopt;
    return o;
  }

  friend constexpr bool operator==(const loop_order&, const loop_order&) = default;

 private:
  std::array<loop, 5> loops_;
};

inline std::ostream& operator<<(std::ostream& os, const loop_order& o) { return os << o.to_string(); }

}  // namespace jaq::hw
