// jaq/search/cost_table.hpp: the hardware cost of every choice of a space on one accelerator:
// latency and energy per (block, operator, width), each the sum over the operator's layers of
// BatchTile's best mapping, held as xtensor arrays, plus the fixed layers (stem, head, fc). With
// separate_wa the width axis holds every (weight width i, activation width j) pair, at
// i * |bits| + j (width_index()).
//
// Every distinct (layer shape, precision) is mapped once (the same expand layer recurs in every
// block of a stage, and across widths only the precision changes), then scattered into the
// dense table. An identity skip costs 0. A layer that fits no tiling makes the table infeasible
// (`reason` names the layer and the buffer); such an accelerator is never adopted.
//
//   auto t = jaq::search::build_cost_table(jaq::tbb_backend{2}, space, jaq::hw::reference_config(), 1);
//   double lat = t.latency_s(b, o, w);      // xt::xtensor<double, 3> (blocks, ops, widths)
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/search/bridge.hpp"

namespace jaq::search {

struct cost_table {
  hw::accel_config accel{};
  xt::xtensor<double, 3> latency_s;  ///< (blocks, ops, widths)
  xt::xtensor<double, 3> energy_nJ;  ///< (blocks, ops, widths)
  double fixed_latency_s = 0;        ///< stem + head + fc
  double fixed_energy_nJ = 0;
  double area_mm2 = 0;
  bool feasible = true;
  std::string reason;         ///< why not feasible
  std::int64_t layers = 0;    ///< layer instances in the table
  std::int64_t distinct = 0;  ///< distinct (shape, precision) pairs mapped
  double build_ms = 0;        ///< wall time of this table

  /// The width-axis index of weights at bits[i] and activations at bits[j] (j ignored without
  /// separate_wa).
  static std::size_t width_index(const nas::space_config& s, std::size_t i, std::size_t j) {
    return s.separate_wa ? i * s.bits.size() + j : i;
  }

  /// Latency and energy of one derived network (its choices' entries plus the fixed layers).
  std::pair<double, double> network_cost(const nas::space_config& s, const nas::derived_arch& d) const {
    double lat = fixed_latency_s, en = fixed_energy_nJ;
    const auto& names = s.ops;
    auto index_of = [&](int bits) {
      std::size_t w = 0;
      while (w < s.bits.size() && s.bits[w] != bits) ++w;
      JAQ_ASSERT(w < s.bits.size());
      return w;
    };
    for (std::size_t b = 0; b < d.ops.size(); ++b) {
      std::size_t o = 0;
      while (o < names.size() && names[o] != d.ops[b]) ++o;
      JAQ_ASSERT(o < names.size());
      const std::size_t w = width_index(s, index_of(d.bits[b]), index_of(d.act_width(b)));
      lat += latency_s(b, o, w);
      en += energy_nJ(b, o, w);
    }
    return {lat, en};
  }
};

inline std::ostream& operator<<(std::ostream& os, const cost_table& t) {
  os << "cost_table{" << t.accel << ", " << t.latency_s.shape()[0] << "x" << t.latency_s.shape()[1] << "x" << t.latency_s.shape()[2] << ", "
     << t.layers << " layers (" << t.distinct << " distinct), " << t.build_ms << " ms";
  if (!t.feasible) os << ", infeasible: " << t.reason;
  return os << "}";
}

/// Maps every choice of `s` on `accel` with BatchTile. Throws config_error for a malformed
/// space or configuration; an unmappable layer is reported in the result, not thrown.
template <class B>
requires batchtile::mapping_backend<B> cost_table build_cost_table(B backend, const nas::space_config& s, const hw::accel_config& accel,
                                                                   std::int64_t batch, batchtile::mapping_cache* cache = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  s.validate(s.name);
  hw::validate(accel, "accelerator");
  const auto blocks = s.blocks();
  const auto ops = s.op_specs();
  const std::size_t nb = blocks.size(), no = ops.size(), nbits = s.bits.size();
  const std::size_t nw = s.separate_wa ? nbits * nbits : nbits;  // widths, or (weight, activation) pairs
  cost_table t;
  t.accel = accel;
  t.latency_s = xt::zeros<double>({nb, no, nw});
  t.energy_nJ = xt::zeros<double>({nb, no, nw});
  t.area_mm2 = hw::area_of(accel).total_mm2;

  // distinct layers, and where each instance goes: entry (b, o, w) or a fixed layer (b = nb)
  std::map<hw::shape_key, std::size_t> index;
  std::vector<hw::layer> distinct;
  struct use {
    std::size_t b, o, w, layer;
  };
  std::vector<use> uses;
  auto add = [&](const hw::layer& l, std::size_t b, std::size_t o, std::size_t w) {
    auto [it, fresh] = index.try_emplace(hw::shape_key_of(l), distinct.size());
    if (fresh) distinct.push_back(l);
    uses.push_back({b, o, w, it->second});
  };
  for (std::size_t b = 0; b < nb; ++b)
    for (std::size_t o = 0; o < no; ++o)
      for (std::size_t i = 0; i < nbits; ++i)
        for (std::size_t j = 0; j < (s.separate_wa ? nbits : 1); ++j) {
          const int act = s.separate_wa ? s.bits[j] : s.bits[i];
          for (const auto& l : op_layers(blocks[b], ops[o], s.bits[i], batch, act)) add(l, b, o, cost_table::width_index(s, i, j));
        }
  for (const auto& l : fixed_layers(s, batch)) add(l, nb, 0, 0);
  t.layers = std::int64_t(uses.size());
  t.distinct = std::int64_t(distinct.size());

  const auto em = hw::make_energy_model(accel);
  const auto results = batchtile::map_layers(backend, accel, std::span<const hw::layer>(distinct), em, cache);
  for (const auto& u : uses) {
    const hw::mapping_result& r = results[u.layer];
    if (!r.ok()) {
      if (t.feasible) t.reason = r.error().message();
      t.feasible = false;
      continue;
    }
    const auto& m = r.value();
    if (u.b == nb) {
      t.fixed_latency_s += m.latency_s;
      t.fixed_energy_nJ += m.energy_nJ;
    } else {
      t.latency_s(u.b, u.o, u.w) += m.latency_s;
      t.energy_nJ(u.b, u.o, u.w) += m.energy_nJ;
    }
  }
  t.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

/// Multiply-accumulates of every (block, operator) of `s` at batch 1, as a (blocks, ops, 1)
/// table (widths do not change them): the FLOPs term of an architecture search that does not
/// see the hardware (the sequential baseline).
inline xt::xtensor<double, 3> mac_table(const nas::space_config& s) {
  const auto blocks = s.blocks();
  const auto ops = s.op_specs();
  xt::xtensor<double, 3> m = xt::zeros<double>({blocks.size(), ops.size(), std::size_t(1)});
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (std::size_t o = 0; o < ops.size(); ++o)
      for (const auto& l : op_layers(blocks[b], ops[o], s.bits[0], 1)) m(b, o, 0) += macs(l);
  return m;
}

}  // namespace jaq::search
