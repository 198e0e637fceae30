// jaq/hw/interop/xtensor.hpp: mapping results as xtensor arrays, and layer lists from one
// (Bazel: //jaq/hw:xtensor).
//
// A mapping_result is a variant (a mapping or the reason none fits), so a list of them is no
// array to adapt. to_xtensor(results) lays their numbers out once, as two row-major arrays with
// one row per layer: every count (tiling, loop order index, cycles, bits) exactly in int64, every
// energy in double, and a mask of the layers that mapped. Their columns are then xt::view's
// of those arrays: sums, arg-maxes and masks over a network cost no copy. layers_from_xtensor
// reads the other way: an (L, 10) integer array of layer shapes becomes a layer list, checked
// like the layer CSV.
//
//   const auto a = jaq::hw::to_xtensor(results, names);
//   auto cycles = a.count("total_cycles");            // xt::view, (layers)
//   std::int64_t total = xt::sum(cycles)();
//   auto worst = xt::argmax(a.energy("energy_nJ"))();
//   auto layers = jaq::hw::layers_from_xtensor(xt::xtensor<std::int64_t, 2>{{3, 56, 1, 64, 64, 1, 0, 8, 8, 1}});
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "jaq/core/error.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/hw/precision.hpp"

namespace jaq::hw {

/// The numeric columns of a list of mapping results, one row per layer (zeros where none fits).
struct mapping_arrays {
  std::vector<std::string> names;       ///< layer names, one per row
  xt::xtensor<std::int64_t, 2> counts;  ///< (layers, count_columns().size())
  xt::xtensor<double, 2> energies;      ///< (layers, energy_columns().size()), nJ
  xt::xtensor<bool, 1> ok;              ///< the layer mapped (else its row is zeros)

  static const std::vector<std::string>& count_columns() {
    static const std::vector<std::string> c = {"b",
                                               "num_b",
                                               "ow",
                                               "num_ow",
                                               "oh",
                                               "num_oh",
                                               "ic",
                                               "num_ic",
                                               "oc",
                                               "num_oc",
                                               "order_index",
                                               "groups",
                                               "total_cycles",
                                               "compute_cycles",
                                               "stall_cycles",
                                               "dram_rd_bits",
                                               "dram_wr_bits",
                                               "wbuf_rd_bits",
                                               "wbuf_wr_bits",
                                               "ibuf_rd_bits",
                                               "ibuf_wr_bits",
                                               "obuf_rd_bits",
                                               "obuf_wr_bits"};
    return c;
  }
  static const std::vector<std::string>& energy_columns() {
    static const std::vector<std::string> c = {"energy_nJ", "energy_core_nJ", "energy_sram_nJ", "energy_dram_nJ"};
    return c;
  }
  /// Column `name` of the counts, as a view (no copy); config_error for an unknown name.
  auto count(const std::string& name) const { return xt::view(counts, xt::all(), column(count_columns(), name)); }
  /// Column `name` of the energies (nJ), as a view.
  auto energy(const std::string& name) const { return xt::view(energies, xt::all(), column(energy_columns(), name)); }

 private:
  static std::size_t column(const std::vector<std::string>& cols, const std::string& name) {
    const auto it = std::find(cols.begin(), cols.end(), name);
    if (it == cols.end()) throw config_error("mapping_arrays", "column", "no column '" + name + "'");
    return static_cast<std::size_t>(it - cols.begin());
  }
};

/// The numbers of `results` (named by `names`, one per result) as xtensor arrays.
inline mapping_arrays to_xtensor(const std::vector<mapping_result>& results, const std::vector<std::string>& names) {
  if (names.size() != results.size())
    throw config_error("to_xtensor", "names", std::to_string(names.size()) + " names for " + std::to_string(results.size()) + " results");
  const std::size_t n = results.size(), nc = mapping_arrays::count_columns().size(), ne = mapping_arrays::energy_columns().size();
  mapping_arrays a;
  a.names = names;
  a.counts = xt::zeros<std::int64_t>({n, nc});
  a.energies = xt::zeros<double>({n, ne});
  a.ok = xt::zeros<bool>({n});
  for (std::size_t i = 0; i < n; ++i) {
    if (!results[i].ok()) continue;
    const layer_mapping& m = results[i].value();
    const tiling& t = m.tile;
    const std::array<std::int64_t, 23> c = {t.b,
                                            t.num_b,
                                            t.ow,
                                            t.num_ow,
                                            t.oh,
                                            t.num_oh,
                                            t.ic,
                                            t.num_ic,
                                            t.oc,
                                            t.num_oc,
                                            m.order.index(),
                                            m.groups,
                                            m.total_cycles,
                                            m.compute_cycles,
                                            m.stall_cycles,
                                            m.dram_rd_bits,
                                            m.dram_wr_bits,
                                            m.wbuf_rd_bits,
                                            m.wbuf_wr_bits,
                                            m.ibuf_rd_bits,
                                            m.ibuf_wr_bits,
                                            m.obuf_rd_bits,
                                            m.obuf_wr_bits};
    static_assert(c.size() == 23);
    for (std::size_t k = 0; k < nc; ++k) a.counts(i, k) = c[k];
    const std::array<double, 4> e = {m.energy_nJ, m.energy_core_nJ, m.energy_sram_nJ, m.energy_dram_nJ};
    for (std::size_t k = 0; k < ne; ++k) a.energies(i, k) = e[k];
    a.ok(i) = true;
  }
  return a;
}

/// The columns layers_from_xtensor reads, in order (the layer CSV's, but the name).
inline const std::vector<std::string>& layer_array_columns() {
  static const std::vector<std::string> c = {"K", "O", "S", "IC", "OC", "B", "im2col", "iprec", "wprec", "groups"};
  return c;
}

/// Layers from an (L, 10) integer array with the columns of layer_array_columns(), named
/// `prefix` + row index; each row checked as a layer CSV row is (config_error naming the row
/// and the column).
template <class E>
std::vector<layer> layers_from_xtensor(const E& a, const std::string& prefix = "layer") {
  const auto& shape = a.shape();
  if (shape.size() != 2 || shape[1] != layer_array_columns().size())
    throw config_error("layers_from_xtensor", "shape", "expected (layers, " + std::to_string(layer_array_columns().size()) + ")");
  std::vector<layer> out;
  for (std::size_t r = 0; r < shape[0]; ++r) {
    const std::string where = "layers_from_xtensor: row " + std::to_string(r);
    auto v = [&](std::size_t k) { return static_cast<std::int64_t>(a(r, k)); };
    // the flag and the precisions are checked before narrowing to layer's fields (a huge value
    // would wrap into 1..8); sizes and groups by hw::validate, the rule every layer meets
    if (v(6) != 0 && v(6) != 1) throw config_error(where, "im2col", "must be 0 or 1, got " + std::to_string(v(6)));
    for (std::size_t k : {7u, 8u})
      if (!valid_bits(v(k))) throw config_error(where, layer_array_columns()[k], "precision must be in 1..8, got " + std::to_string(v(k)));
    const layer l{.name = prefix + std::to_string(r),
                  .K = v(0),
                  .O = v(1),
                  .S = v(2),
                  .IC = v(3),
                  .OC = v(4),
                  .B = v(5),
                  .im2col = v(6) == 1,
                  .iprec = static_cast<int>(v(7)),
                  .wprec = static_cast<int>(v(8)),
                  .groups = v(9)};
    validate(l, where);
    out.push_back(l);
  }
  return out;
}

}  // namespace jaq::hw
