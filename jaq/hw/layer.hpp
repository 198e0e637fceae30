// jaq/hw/layer.hpp: one conv / fully connected layer as the cost model sees it.
//
// Square kernel K, square output O, stride S, channels IC -> OC, batch B, the im2col flag (first
// layer of a network), the precision pair and jaq's extension, `groups` (1: the original model).
// A fully connected layer is K=1, O=1, S=1. No padding term: O is given, not derived.
//
//   jaq::hw::layer conv1{.name = "conv1", .K = 7, .O = 112, .S = 2, .IC = 3, .OC = 64,
//                        .B = 1, .im2col = true, .iprec = 8, .wprec = 8};
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>

#include "jaq/core/error.hpp"
#include "jaq/hw/precision.hpp"

namespace jaq::hw {

struct layer {
  std::string name;
  std::int64_t K = 1;       // kernel side
  std::int64_t O = 1;       // output side
  std::int64_t S = 1;       // stride
  std::int64_t IC = 1;      // input channels (all groups)
  std::int64_t OC = 1;      // output channels (all groups)
  std::int64_t B = 1;       // batch
  bool im2col = false;      // lowered with im2col (first layer)
  int iprec = 8;            // activation bits, 1..8
  int wprec = 8;            // weight bits, 1..8
  std::int64_t groups = 1;  // extension: IC and OC split into `groups` independent convs
  precision_pair precision() const { return {.iprec = iprec, .wprec = wprec}; }
  friend bool operator==(const layer&, const layer&) = default;
};

/// Everything of a layer a mapping depends on, its name aside: layers with equal keys map
/// alike on every configuration (what the cost table and the hardware evaluator deduplicate by).
using shape_key =
    std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool, int, int, std::int64_t>;
inline shape_key shape_key_of(const layer& l) { return {l.K, l.O, l.S, l.IC, l.OC, l.B, l.im2col, l.iprec, l.wprec, l.groups}; }

/// Largest accepted layer dimension: keeps every count of the model exact in 64 bits
/// (see docs/hw.md; the reference mapper also checks each product).
inline constexpr std::int64_t max_layer_dim = std::int64_t{1} << 20;

/// Throws config_error (naming `where`, the layer and field) unless the layer is well formed:
/// sizes in 1..max_layer_dim, precisions 1..8, groups dividing IC and OC.
inline void validate(const layer& l, const std::string& where = "layer") {
  const std::string w = where + ": layer '" + l.name + "'";
  auto check = [&](const char* field, std::int64_t v) {
    if (v <= 0) throw config_error(w, field, "must be positive, got " + std::to_string(v));
    if (v > max_layer_dim) throw config_error(w, field, "too large (" + std::to_string(v) + " > " + std::to_string(max_layer_dim) + ")");
  };
  check("K", l.K);
  check("O", l.O);
  check("S", l.S);
  check("IC", l.IC);
  check("OC", l.OC);
  check("B", l.B);
  check("groups", l.groups);
  if (!valid_bits(l.iprec)) throw config_error(w, "iprec", "must be in 1..8, got " + std::to_string(l.iprec));
  if (!valid_bits(l.wprec)) throw config_error(w, "wprec", "must be in 1..8, got " + std::to_string(l.wprec));
  if (l.IC % l.groups != 0 || l.OC % l.groups != 0)
    throw config_error(w, "groups",
                       std::to_string(l.groups) + " does not divide IC=" + std::to_string(l.IC) + " and OC=" + std::to_string(l.OC));
}

inline std::ostream& operator<<(std::ostream& os, const layer& l) {
  os << "layer{" << l.name << ": K=" << l.K << ", O=" << l.O << ", S=" << l.S << ", IC=" << l.IC << ", OC=" << l.OC << ", B=" << l.B
     << ", im2col=" << (l.im2col ? 1 : 0) << ", prec=" << l.iprec << '/' << l.wprec;
  if (l.groups != 1) os << ", groups=" << l.groups;
  return os << '}';
}

}  // namespace jaq::hw
