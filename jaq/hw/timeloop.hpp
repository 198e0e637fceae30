// jaq/hw/timeloop.hpp: a layer's BitFusion mapping as a Timeloop problem and mapping (YAML).
//
// For each layer, the problem (Timeloop's CNN-Layer shape: C, M, R, S, N, P, Q with the stride
// as Wstride/Hstride) and the mapping jaq found, level by level, outermost first:
//
//   DRAM   temporal  the tile counts (num_b, num_ow, num_oh, num_ic, num_oc) in jaq's loop order
//   OBUF   temporal  all factors 1: holds the whole on-chip tile's Outputs   (keeps Outputs)
//   IBUF   temporal  all factors 1: holds the tile's Inputs                  (keeps Inputs)
//   WBUF   temporal  the loops inside one tile, as the compute formula counts them: b, oc/M, ow,
//                    oh, K, K, ic/(N*pf)                                     (keeps Weights)
//   WBUF   spatial   the array: C over the N*pf fused rows, M over the M columns
//
// BitFusion's three buffers sit side by side; Timeloop has no sibling buffers, so they are a
// chain in which each keeps one data space and bypasses the other two, with every factor at
// the outer two equal to 1 (each holds exactly the tile jaq's capacity filter sized). The
// double buffering (half of each buffer per tile) is not a Timeloop notion; the buffer depths to
// give Timeloop are half the configured bytes (docs/hw.md, "Timeloop").
//
// The problem is the layer padded to the mapping: jaq's cost model charges whole tiles (a tile of
// 4 rows over an output of 7 computes 8), so the exported instance is what the factors cover,
// num * tile per dimension, and every dimension's factors multiply to it exactly. The layer's
// own sizes are given beside it (`jaq_layer`), as are jaq's figures for the mapping (cycles,
// energy in nJ). A grouped layer is exported as one group (`groups` runs of it). An im2col layer
// (the first conv) reduces over R*S*C folded onto the rows, which CNN-Layer cannot say: it is
// exported with R and S temporal and marked, and Timeloop's cycle count for it will differ.
//
//   const auto t = jaq::hw::to_timeloop(layer, mapping, cfg);     // factors, permutations
//   jaq::hw::write_timeloop_yaml(std::cout, t, "search --preset fmnist --seed 1");
//   jaq::hw::write_timeloop_dir("out/timeloop", layers, mappings, cfg, settings);  // a file per layer
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/accelerator.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/loop_order.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/version.hpp"

namespace jaq::hw {

/// Timeloop's CNN-Layer dimensions, in the order jaq writes them.
enum class tl_dim : int { C = 0, M, R, S, N, P, Q };
inline constexpr int tl_num_dims = 7;
inline constexpr std::array<char, tl_num_dims> tl_dim_names = {'C', 'M', 'R', 'S', 'N', 'P', 'Q'};

/// One entry of a Timeloop mapping: a level's temporal or spatial factors and loop permutation.
struct timeloop_level {
  std::string target;  ///< DRAM, OBUF, IBUF, WBUF
  bool spatial = false;
  std::array<std::int64_t, tl_num_dims> factors{1, 1, 1, 1, 1, 1, 1};
  std::string permutation;                ///< innermost dimension first, Timeloop's convention
  std::vector<std::string> keep, bypass;  ///< data spaces this level keeps / bypasses (temporal levels)
  std::int64_t& operator[](tl_dim d) { return factors[static_cast<std::size_t>(d)]; }
  std::int64_t operator[](tl_dim d) const { return factors[static_cast<std::size_t>(d)]; }
};

/// A layer's problem and mapping for Timeloop, with jaq's own figures for it.
struct timeloop_layer {
  std::string name;
  layer source;                                      ///< the layer as jaq mapped it (all groups)
  std::array<std::int64_t, tl_num_dims> instance{};  ///< the padded one-group problem the factors cover
  std::int64_t stride = 1;
  std::vector<timeloop_level> mapping;  ///< outermost level first
  accel_config accel;
  std::int64_t total_cycles = 0;
  double energy_nJ = 0;
  std::int64_t fused_rows = 0;  ///< N * pf: the rows' lanes at this precision
  std::int64_t operator[](tl_dim d) const { return instance[static_cast<std::size_t>(d)]; }
  /// The product of dimension d's factors over every level: equals instance[d].
  std::int64_t factor_product(tl_dim d) const {
    std::int64_t p = 1;
    for (const auto& lv : mapping) p *= lv[d];
    return p;
  }
};

namespace detail {
inline tl_dim tl_dim_of(loop l) {
  switch (l) {
    case loop::B:
      return tl_dim::N;
    case loop::OW:
      return tl_dim::P;
    case loop::OH:
      return tl_dim::Q;
    case loop::IC:
      return tl_dim::C;
    case loop::OC:
      return tl_dim::M;
  }
  return tl_dim::N;
}
}  // namespace detail

/// Layer `l`'s mapping `m` (from map_layer_reference or batchtile::map_layer on `cfg`, hardware
/// `Acc`) as a Timeloop problem and mapping. Throws config_error if `m` is not `l`'s.
template <accelerator Acc = bitfusion<>, accel_config_like C>
timeloop_layer to_timeloop(const layer& l, const layer_mapping& m, const C& cfg) {
  if (m.name != l.name) throw config_error("timeloop export", "mapping", "'" + m.name + "' given for layer '" + l.name + "'");
  const layer g = group_layer(l);
  const auto p = make_params<Acc>(cfg, g);
  const tiling& t = m.tile;
  timeloop_layer out;
  out.name = l.name;
  out.source = l;
  out.stride = l.S;
  out.accel = to_runtime(cfg);
  out.total_cycles = m.total_cycles;
  out.energy_nJ = m.energy_nJ;
  out.fused_rows = p.npf;

  // DRAM: the tile counts, in jaq's order (outermost first) reversed into Timeloop's innermost-first string.
  timeloop_level dram{.target = "DRAM", .keep = {"Weights", "Inputs", "Outputs"}};
  dram[tl_dim::N] = t.num_b;
  dram[tl_dim::P] = t.num_ow;
  dram[tl_dim::Q] = t.num_oh;
  dram[tl_dim::C] = t.num_ic;
  dram[tl_dim::M] = t.num_oc;
  dram.permutation = "RS";
  const auto& order = m.order.outer_to_inner();
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    dram.permutation += tl_dim_names[static_cast<std::size_t>(detail::tl_dim_of(*it))];

  // Inside one tile: the array spreads C over min(ic, N*pf) rows and M over min(oc, M)
  // columns; the rest of the tile is temporal at the innermost buffer.
  const std::int64_t sc = std::min(t.ic, p.npf), sm = std::min(t.oc, p.M);
  timeloop_level inner{.target = "WBUF", .permutation = "CSRQPMN", .keep = {"Weights"}, .bypass = {"Inputs", "Outputs"}};
  inner[tl_dim::N] = t.b;
  inner[tl_dim::M] = ceil_div(t.oc, sm);
  inner[tl_dim::P] = t.ow;
  inner[tl_dim::Q] = t.oh;
  inner[tl_dim::R] = l.K;
  inner[tl_dim::S] = l.K;
  inner[tl_dim::C] = ceil_div(t.ic, sc);
  timeloop_level array{.target = "WBUF", .spatial = true, .permutation = "CMRSNPQ"};
  array[tl_dim::C] = sc;
  array[tl_dim::M] = sm;

  out.mapping = {dram, timeloop_level{.target = "OBUF", .permutation = "CMRSNPQ", .keep = {"Outputs"}, .bypass = {"Weights", "Inputs"}},
                 timeloop_level{.target = "IBUF", .permutation = "CMRSNPQ", .keep = {"Inputs"}, .bypass = {"Weights", "Outputs"}}, inner,
                 array};
  for (int d = 0; d < tl_num_dims; ++d) out.instance[static_cast<std::size_t>(d)] = out.factor_product(static_cast<tl_dim>(d));
  return out;
}

/// Writes `t` as one Timeloop YAML document: `problem` (shape and instance) and `mapping`, with
/// comments giving the units, the layer's own sizes, jaq's figures, the jaq version and
/// `settings` (what made it, e.g. the command line).
inline void write_timeloop_yaml(std::ostream& os, const timeloop_layer& t, const std::string& settings) {
  const layer& l = t.source;
  const accel_config& a = t.accel;
  os << "# Timeloop problem and mapping of layer '" << t.name << "', written by jaq " << version_string << "\n"
     << "# settings: " << settings << "\n"
     << "# accelerator: BitFusion N=" << a.N << " M=" << a.M << ", WBUF " << a.wbuf_bytes << " B, IBUF " << a.ibuf_bytes << " B, OBUF "
     << a.obuf_bytes << " B (half of each per tile: give Timeloop depths of " << a.wbuf_bytes / 2 << ", " << a.ibuf_bytes / 2 << ", "
     << a.obuf_bytes / 2 << " B), DRAM " << a.if_width << " bits/cycle, " << a.frequency_hz << " Hz\n"
     << "# the layer: K=" << l.K << " O=" << l.O << " S=" << l.S << " IC=" << l.IC << " OC=" << l.OC << " B=" << l.B
     << " groups=" << l.groups << " iprec=" << l.iprec << " wprec=" << l.wprec << " bits, im2col=" << (l.im2col ? 1 : 0)
     << "; fused rows N*pf=" << t.fused_rows << "\n"
     << "# the instance below is one group, padded to whole tiles (jaq's cost model charges whole tiles)\n"
     << "# jaq's figures for this mapping (all groups): total_cycles=" << t.total_cycles << " cycles, energy=" << t.energy_nJ << " nJ\n";
  if (l.im2col)
    os << "# im2col: BitFusion folds R*S*C onto the rows; CNN-Layer cannot, so R and S are temporal here and\n"
          "# Timeloop's cycle count for this layer will differ from jaq's\n";
  os << "problem:\n"
     << "  shape:\n"
     << "    name: CNN-Layer\n"
     << "    dimensions: [ C, M, R, S, N, P, Q ]\n"
     << "    coefficients:\n"
     << "      - { name: Wstride, default: 1 }\n"
     << "      - { name: Hstride, default: 1 }\n"
     << "      - { name: Wdilation, default: 1 }\n"
     << "      - { name: Hdilation, default: 1 }\n"
     << "    data-spaces:\n"
     << "      - name: Weights\n"
     << "        projection: [ [ [C] ], [ [M] ], [ [R] ], [ [S] ] ]\n"
     << "      - name: Inputs\n"
     << "        projection: [ [ [N] ], [ [C] ], [ [R, Wdilation], [P, Wstride] ], [ [S, Hdilation], [Q, Hstride] ] ]\n"
     << "      - name: Outputs\n"
     << "        projection: [ [ [N] ], [ [M] ], [ [Q] ], [ [P] ] ]\n"
     << "        read-write: True\n"
     << "  instance:\n";
  for (int d = 0; d < tl_num_dims; ++d)
    os << "    " << tl_dim_names[static_cast<std::size_t>(d)] << ": " << t.instance[static_cast<std::size_t>(d)] << "\n";
  os << "    Wstride: " << t.stride << "\n"
     << "    Hstride: " << t.stride << "\n"
     << "mapping:\n";
  for (const timeloop_level& lv : t.mapping) {
    os << "  - target: " << lv.target << "\n"
       << "    type: " << (lv.spatial ? "spatial" : "temporal") << "\n"
       << "    factors: ";
    for (int d = 0; d < tl_num_dims; ++d)
      os << (d ? " " : "") << tl_dim_names[static_cast<std::size_t>(d)] << "=" << lv.factors[static_cast<std::size_t>(d)];
    os << "\n    permutation: " << lv.permutation << "\n";
    if (lv.spatial) os << "    split: 1\n";  // C across the rows (X), M across the columns
    if (!lv.spatial && !lv.bypass.empty()) {
      auto list = [&](const std::vector<std::string>& v) {
        os << "[ ";
        for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
        os << " ]";
      };
      os << "  - target: " << lv.target << "\n"
         << "    type: datatype\n"
         << "    keep: ";
      list(lv.keep);
      os << "\n    bypass: ";
      list(lv.bypass);
      os << "\n";
    }
  }
}

/// A file name for layer `i` named `name`: its index (so a listing keeps the network's order)
/// and the name with anything but letters, digits, '.', '-' and '_' replaced by '_'.
inline std::string timeloop_file_name(std::size_t i, const std::string& name) {
  std::string n = name;
  for (char& c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  char idx[24];
  std::snprintf(idx, sizeof idx, "%03zu_", i);
  return idx + n + ".yaml";
}

/// Every mapped layer as its own Timeloop document in `dir` (made if missing, data_error if it
/// cannot be written into; each file written atomically). A layer without a mapping (no tiling fits) is skipped. Returns the
/// file names written, in layer order.
template <accelerator Acc = bitfusion<>, accel_config_like C>
std::vector<std::string> write_timeloop_dir(const std::filesystem::path& dir, const std::vector<layer>& layers,
                                            const std::vector<mapping_result>& maps, const C& cfg, const std::string& settings) {
  if (layers.size() != maps.size())
    throw config_error("timeloop export", "mappings", std::to_string(maps.size()) + " for " + std::to_string(layers.size()) + " layers");
  prepare_output_dir(dir);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!maps[i].ok()) continue;
    std::ostringstream os;
    write_timeloop_yaml(os, to_timeloop<Acc>(layers[i], maps[i].value(), cfg), settings);
    names.push_back(timeloop_file_name(i, layers[i].name));
    write_file_atomic(dir / names.back(), os.str());
  }
  return names;
}

}  // namespace jaq::hw
