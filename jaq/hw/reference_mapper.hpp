// jaq/hw/reference_mapper.hpp: the exhaustive scalar mapping search, the ground truth.
//
// A plain loop nest mirroring the spec: for each of the 120 loop orders, every candidate tiling
// in nest order (b, o, ic, oc) that passes the capacity filter is scored; the first candidate wins
// unless a later one is strictly better (fewer cycles, or equal cycles and strictly lower energy);
// the 120 per-order winners are then scanned in itertools.permutations order with the same rule.
// It is deliberately unoptimised: BatchTile (jaq/batchtile) is tested against it field by field.
//
//   auto em = jaq::hw::make_energy_model(cfg);
//   jaq::hw::mapping_result r = jaq::hw::map_layer_reference(cfg, l, em);
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/accelerator.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/dataflow.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/loop_order.hpp"
#include "jaq/hw/mapping.hpp"

namespace jaq::hw {

/// The best (tiling, order) of one group's conv with its integer cost and energies.
struct group_winner {
  tiling tile;
  loop_order order;
  candidate_cost cost;
  energy_breakdown energy;
};

inline std::ostream& operator<<(std::ostream& os, const group_winner& w) {
  return os << "group_winner{" << w.tile << ", order=" << w.order << ", " << w.cost << ", " << w.energy << "}";
}

/// The error value when the first candidate (the smallest tile in every buffer; every tile
/// size grows with every tile dimension) overflows; nullopt when it fits.
template <class Sz>
std::optional<mapping_error> no_fit_error(const basic_layer_params<Sz>& p, const std::string& name) {
  const tile_footprint f = tile_bits(p, first_tiling(p));
  if (f.w > p.cap_w) return mapping_error{name, buffer::wbuf, f.w, p.cap_w};
  if (f.a > p.cap_a) return mapping_error{name, buffer::ibuf, f.a, p.cap_a};
  if (f.o > p.cap_o) return mapping_error{name, buffer::obuf, f.o, p.cap_o};
  return std::nullopt;
}

/// The mapping of the whole layer from its per-group winner: every count times `groups`,
/// energies recomputed from the scaled counts by the same chain (groups == 1: unchanged).
template <accel_config_like C>
layer_mapping finish_mapping(const layer& l, const group_winner& w, const energy_model& em, const C& cfg) {
  const std::int64_t g = l.groups;
  candidate_cost c = w.cost;
  c.compute_cycles *= g;
  c.stall_cycles *= g;
  c.total_cycles *= g;
  c.dram_rd *= g;
  c.dram_wr *= g;
  c.sram.wgt_rd *= g;
  c.sram.wgt_wr *= g;
  c.sram.act_rd *= g;
  c.sram.act_wr *= g;
  c.sram.out_rd *= g;
  c.sram.out_wr *= g;
  const energy_breakdown e = g == 1 ? w.energy : energy_of(c, em);
  layer_mapping m;
  m.name = l.name;
  m.tile = w.tile;
  m.order = w.order;
  m.scheme = c.scheme;
  m.groups = g;
  m.total_cycles = c.total_cycles;
  m.compute_cycles = c.compute_cycles;
  m.stall_cycles = c.stall_cycles;
  m.energy_nJ = e.total;
  m.energy_core_nJ = e.core;
  m.energy_sram_nJ = e.sram;
  m.energy_dram_nJ = e.dram;
  m.dram_rd_bits = c.dram_rd;
  m.dram_wr_bits = c.dram_wr;
  m.wbuf_rd_bits = c.sram.wgt_rd;
  m.wbuf_wr_bits = c.sram.wgt_wr;
  m.ibuf_rd_bits = c.sram.act_rd;
  m.ibuf_wr_bits = c.sram.act_wr;
  m.obuf_rd_bits = c.sram.out_rd;
  m.obuf_wr_bits = c.sram.out_wr;
  m.latency_s = static_cast<double>(c.total_cycles) / static_cast<double>(cfg.frequency_hz);
  m.wbuf_fit = em.wbuf_fit;
  m.ibuf_fit = em.ibuf_fit;
  m.obuf_fit = em.obuf_fit;
  return m;
}

/// Exhaustive search of layer `l` on configuration `cfg`. Throws config_error for a malformed
/// configuration or layer and hardware_error for one too large for exact 64-bit counts; a layer no tiling fits
/// gives a mapping_error naming the buffer.
template <accelerator Acc = bitfusion<>, dataflow Df = proxy_stationary, accel_config_like C>
mapping_result map_layer_reference(const C& cfg, const layer& l, const energy_model& em) {
  validate(to_runtime(cfg));
  validate(l);
  // groups > 1: `groups` independent convs IC/groups -> OC/groups, run one after another with
  // the same mapping; the search runs on one group (docs/hw.md).
  const layer g = group_layer(l);
  const auto p = make_params<Acc>(cfg, g);
  if (auto err = no_fit_error(p, l.name)) return *err;
  check_exact_range(p, l.name);
  const std::vector<tiling> cands = tiling_candidates(p);

  std::optional<group_winner> best;  // across orders
  for (int oi = 0; oi < num_loop_orders; ++oi) {
    const loop_order order = loop_order::from_index(oi);
    std::optional<group_winner> best_in_order;
    for (const tiling& t : cands) {
      if (!fits(p, tile_bits(p, t))) continue;
      const candidate_cost c = evaluate<Df>(p, t, order);
      const energy_breakdown e = energy_of(c, em);
      if (!best_in_order || strictly_better(c.total_cycles, e.total, best_in_order->cost.total_cycles, best_in_order->energy.total))
        best_in_order = group_winner{t, order, c, e};
    }
    JAQ_ASSERT(best_in_order.has_value());  // the first candidate fits (no_fit_error)
    if (!best ||
        strictly_better(best_in_order->cost.total_cycles, best_in_order->energy.total, best->cost.total_cycles, best->energy.total))
      best = best_in_order;
  }
  return finish_mapping(l, *best, em, cfg);
}

/// Same, with the energy model of `cfg` from the embedded 45 nm tables.
template <accelerator Acc = bitfusion<>, dataflow Df = proxy_stationary, accel_config_like C>
mapping_result map_layer_reference(const C& cfg, const layer& l) {
  return map_layer_reference<Acc, Df>(cfg, l, make_energy_model<Acc>(cfg));
}

/// Every layer of a network, in order.
template <accelerator Acc = bitfusion<>, dataflow Df = proxy_stationary, accel_config_like C>
std::vector<mapping_result> map_network_reference(const C& cfg, const std::vector<layer>& layers, const energy_model& em) {
  std::vector<mapping_result> out;
  out.reserve(layers.size());
  for (const layer& l : layers) out.push_back(map_layer_reference<Acc, Df>(cfg, l, em));
  return out;
}

}  // namespace jaq::hw
