// jaq/hw/dataflow.hpp: the stationary (dataflow) policy as a tag type checked by `dataflow`.
//
// The cost model counts SRAM accesses under one of three stationary schemes (input, output or
// weight stationary). The spec's policy, `proxy_stationary`, picks per tiling the scheme with the
// smallest proxy (ties IS, then OS, then WS); the fixed tags force one scheme everywhere.
//
//   jaq::hw::map_layer_reference<jaq::hw::bitfusion<>, jaq::hw::proxy_stationary>(cfg, l, em);
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>

namespace jaq::hw {

/// The three stationary schemes of the model.
enum class stationary : std::uint8_t { input = 0, output = 1, weight = 2 };

inline const char* to_string(stationary s) {
  switch (s) {
    case stationary::input:
      return "IS";
    case stationary::output:
      return "OS";
    case stationary::weight:
      return "WS";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, stationary s) { return os << to_string(s); }

/// The spec's rule: the smallest of the IS/OS/WS proxies wins, ties go IS, then OS, then WS.
struct proxy_stationary {};
/// Always input stationary.
struct input_stationary {};
/// Always output stationary.
struct output_stationary {};
/// Always weight stationary.
struct weight_stationary {};

template <class Tag>
struct dataflow_traits;  // how a dataflow tag chooses its scheme from the three proxies

template <>
struct dataflow_traits<proxy_stationary> {
  static constexpr const char* name = "proxy";
  static constexpr stationary choose(std::int64_t is, std::int64_t os, std::int64_t ws) {
    if (is <= os && is <= ws) return stationary::input;
    if (os <= ws) return stationary::output;
    return stationary::weight;
  }
};
template <>
struct dataflow_traits<input_stationary> {
  static constexpr const char* name = "IS";
  static constexpr stationary choose(std::int64_t, std::int64_t, std::int64_t) { return stationary::input; }
};
template <>
struct dataflow_traits<output_stationary> {
  static constexpr const char* name = "OS";
  static constexpr stationary choose(std::int64_t, std::int64_t, std::int64_t) { return stationary::output; }
};
template <>
struct dataflow_traits<weight_stationary> {
  static constexpr const char* name = "WS";
  static constexpr stationary choose(std::int64_t, std::int64_t, std::int64_t) { return stationary::weight; }
};

/// A dataflow tag: dataflow_traits<Tag>::choose(is, os, ws) picks a stationary scheme.
template <class Tag>
concept dataflow = requires(std::int64_t p) {
  { dataflow_traits<Tag>::choose(p, p, p) } -> std::same_as<stationary>;
  { dataflow_traits<Tag>::name } -> std::convertible_to<const char*>;
};

}  // namespace jaq::hw
