// jaq/quant/bit_set.hpp: a compile-time list of bit-widths with a run-time choice among them.
//
// `dispatch` turns a run-time width into a compile-time one once, outside the inner loop: it
// calls f(std::integral_constant<int, B>{}) for the matching B, so every width gets its own
// instantiation of the kernel (the codes' range is a constant there) and no virtual call or
// switch runs per element. A width outside the set is a config_error naming the layer.
//
//   using candidates = jaq::quant::bit_set<2, 3, 4, 8>;
//   candidates::dispatch(bits, "conv2", [&](auto b) {
//     lsq_forward<jaq::quant::signed_grid<b()>>(w, step, out);   // one instantiation per width
//   });
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "jaq/core/error.hpp"
#include "jaq/quant/grid.hpp"

namespace jaq::quant {

namespace detail {
template <int... W>
constexpr bool strictly_increasing() {
  constexpr std::array<int, sizeof...(W)> w{W...};
  for (std::size_t i = 1; i < w.size(); ++i)
    if (w[i - 1] >= w[i]) return false;
  return true;
}
}  // namespace detail

template <int... Widths>
requires(sizeof...(Widths) > 0 && ((Widths >= 1 && Widths <= 8) && ...) && detail::strictly_increasing<Widths...>()) struct bit_set {
  static constexpr std::size_t size = sizeof...(Widths);
  static constexpr std::array<int, size> widths{Widths...};

  static constexpr bool contains(int bits) { return ((bits == Widths) || ...); }

  /// Position of `bits` in the set; -1 when absent.
  static constexpr int index_of(int bits) {
    for (std::size_t i = 0; i < size; ++i)
      if (widths[i] == bits) return static_cast<int>(i);
    return -1;
  }

  /// "2,3,4,8"
  static std::string to_string() {
    std::string s;
    for (std::size_t i = 0; i < size; ++i) s += (i ? "," : "") + std::to_string(widths[i]);
    return s;
  }

  /// Throws config_error(where, "bits", ...) when `bits` is not in the set.
  static void check(int bits, const std::string& where) {
    if (!contains(bits))
      throw config_error(where, "bits", "unsupported bit-width " + std::to_string(bits) + " (supported: " + to_string() + ")");
  }

  /// Calls f(std::integral_constant<int, bits>{}) and returns its result; every instantiation
  /// must return the same type.
  template <class F>
  static decltype(auto) dispatch(int bits, const std::string& where, F&& f) {
    check(bits, where);
    using first = std::integral_constant<int, widths[0]>;
    using R = std::invoke_result_t<F&, first>;
    static_assert((std::is_same_v<R, std::invoke_result_t<F&, std::integral_constant<int, Widths>>> && ...),
                  "bit_set::dispatch: f must return the same type for every width");
    return dispatch_checked<Widths...>(bits, f);
  }

 private:
  // `bits` is known to be in the set: the last candidate needs no comparison.
  template <int W0, int... Rest, class F>
  static decltype(auto) dispatch_checked(int bits, F& f) {
    if constexpr (sizeof...(Rest) == 0) {
      return f(std::integral_constant<int, W0>{});
    } else {
      if (bits == W0) return f(std::integral_constant<int, W0>{});
      return dispatch_checked<Rest...>(bits, f);
    }
  }

 public:
  friend std::ostream& operator<<(std::ostream& os, bit_set) { return os << "{" << to_string() << "}"; }
};

/// Every width 1..8: the set the fixed-precision quantizers dispatch over.
using all_bits = bit_set<1, 2, 3, 4, 5, 6, 7, 8>;

/// Calls f(G{}) with G = signed_grid<bits> or unsigned_grid<bits>, bits dispatched over Set.
template <class Set = all_bits, class F>
decltype(auto) with_grid(int bits, bool is_signed, const std::string& where, F&& f) {
  return Set::dispatch(bits, where, [&](auto b) {
    if (is_signed) return f(signed_grid<b()>{});
    return f(unsigned_grid<b()>{});
  });
}

}  // namespace jaq::quant
