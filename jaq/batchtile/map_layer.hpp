// jaq/batchtile/map_layer.hpp: BatchTile's exact best mapping of one layer.
//
// Same answer as hw::map_layer_reference, field for field, found by scoring far fewer
// (tiling, order) pairs:
//   - orders: only one representative per class of orders that give identical results
//     (detail/order_classes.hpp), the class's first order in itertools order;
//   - candidates: a tiling whose lower bound on total cycles (compute + the latency of its
//     bare tiles, valid under every order) exceeds the best total found so far cannot win, nor
//     tie: the tie rule needs equal cycles. Candidates are scored cheapest bound first.
// The winner is the lexicographic minimum of (total cycles, energy, order index, nest index):
// exactly the spec's two-level scan (first in nest order within an order unless strictly
// better; first order in itertools order unless strictly better), but independent of the order
// in which pairs are visited, which is what lets BatchTile prune and reorder freely. The full
// result of the winner is then computed by the reference's own functions (hw::evaluate,
// hw::energy_of, hw::finish_mapping).
//
//   jaq::batchtile::map_stats st;
//   jaq::batchtile::map_workspace ws;
//   auto r = jaq::batchtile::map_layer(cfg, layer, em, ws, &st);   // == map_layer_reference
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/batchtile/build_candidates.hpp"
#include "jaq/batchtile/candidate_batch.hpp"
#include "jaq/batchtile/detail/order_classes.hpp"
#include "jaq/batchtile/score_batch.hpp"
#include "jaq/config.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace jaq::batchtile {

/// Work counters of one or more mappings. A "pair" is one (tiling, loop order) scored for total
/// cycles and energy.
struct map_stats {
  std::int64_t layers = 0;
  std::int64_t candidates = 0;        // tilings passing the capacity filter
  std::int64_t pairs_exhaustive = 0;  // candidates x 120: the pairs the reference scores
  std::int64_t pairs_scored = 0;      // pairs BatchTile actually scored (real lanes, no padding)
  std::int64_t scalar_layers = 0;     // layers too large for the exact double kernel
  map_stats& operator+=(const map_stats& o) {
    layers += o.layers;
    candidates += o.candidates;
    pairs_exhaustive += o.pairs_exhaustive;
    pairs_scored += o.pairs_scored;
    scalar_layers += o.scalar_layers;
    return *this;
  }
};

inline std::ostream& operator<<(std::ostream& os, const map_stats& s) {
  return os << "map_stats{layers=" << s.layers << ", candidates=" << s.candidates << ", pairs_exhaustive=" << s.pairs_exhaustive
            << ", pairs_scored=" << s.pairs_scored << ", scalar_layers=" << s.scalar_layers << "}";
}

/// How much BatchTile may cut (all settings give the same result; the switches exist so that
/// the tests can check each cut on its own).
struct map_options {
  bool collapse_orders = true;  // score one representative per class of identical orders
  bool prune = true;            // skip candidates whose lower bound exceeds the best total
};

inline std::ostream& operator<<(std::ostream& os, const map_options& o) {
  return os << "map_options{collapse_orders=" << o.collapse_orders << ", prune=" << o.prune << "}";
}

/// Reusable buffers for map_layer (one per thread).
struct map_workspace {
  candidate_batch cb;
  std::vector<double> total, energy;
  struct group_range {
    std::size_t lo, hi;
  };
  std::vector<group_range> groups;
};

namespace detail {

struct best_pair {
  double cycles = std::numeric_limits<double>::infinity();
  double energy = std::numeric_limits<double>::infinity();
  int order = num_orders;
  std::int32_t nest = std::numeric_limits<std::int32_t>::max();
  std::int32_t slot = -1;  // index into the candidate batch
  /// True when (c, e, o, n) comes first in the spec's tie rule as a total order: lexicographic
  /// (total cycles, energy, order index, nest index).
  bool improved_by(double c, double e, int o, std::int32_t n) const {
    if (c != cycles) return c < cycles;
    if (e != energy) return e < energy;
    if (o != order) return o < order;
    return n < nest;
  }
};

/// True when hw::check_exact_range(p) provably cannot throw, by bounding each quantity it checks
/// over all candidates at once: a tile size times its count is below twice the full size
/// (num_x * x < X + x <= 2X), every other factor is at most its full-layer value. Evaluated in
/// long double with a factor 4 of headroom under the 2^62 limit. When false, map_layer asks the
/// reference's own exact check. (Saves the check's per-candidate 128-bit loop on every ordinary
/// layer; tests/batchtile/map_layer_test.cpp checks it never says true where the check throws.)
template <class Sz>
bool certainly_exact(const hw::basic_layer_params<Sz>& p) {
  using R = long double;
  const R K = static_cast<R>(p.K), O = static_cast<R>(p.O), S = static_cast<R>(p.S);
  const R IC = static_cast<R>(p.IC), OC = static_cast<R>(p.OC), B = static_cast<R>(p.B);
  const R M = static_cast<R>(p.M), npf = static_cast<R>(p.npf);
  const R K2 = K * K, prec = 8;          // ip, wp <= 8
  const R side_sum = K * O + 2 * S * O;  // (K + (o-1)S) * num_o < K O + 2 S O
  // Over all candidates, with T = num_b num_o^2 num_ic num_oc:
  const R wT = (2 * K2 * IC + npf * IC) * 2 * OC * prec * B * O * O;   // w * T
  const R aT = p.im2col ? 4 * O * O * K2 * 2 * IC * 2 * B * prec * OC  // a * T
                        : side_sum * side_sum * 2 * IC * 2 * B * prec * OC;
  const R ocp_num = 2 * OC + M * OC;                                                                               // ceil(oc/M) M num_oc
  const R oT = 4 * O * O * ocp_num * 2 * B * 32 * IC;                                                              // out * T
  const R tile_max = std::max({(K2 * IC + npf) * OC * prec,                                                        // w
                               p.im2col ? O * O * K2 * IC * B * prec : (K + O * S) * (K + O * S) * IC * B * prec,  // a
                               O * O * (OC + M) * B * 32});                                                        // out
  const R sram = K2 * 2 * IC * 4 * O * O * 2 * B * 2 * OC * 32;                                                    // T R P oc 32
  const R comp = 4 * O * O * 2 * B * (2 * OC / M + OC) * (2 * K2 * IC + npf * IC);
  const R os_loop = (K2 * IC + npf) * K2;
  const R P = O * O * B, ocp = OC + M;
  const R prox = os_loop * P * (8 + ocp * 40) + ocp * P * (32 + os_loop * 16) + os_loop * ocp * (8 + P * 40);
  const R limit = static_cast<R>(std::int64_t{1} << 60);  // 2^62 / 4
  return tile_max < limit && wT + aT + 2 * oT < limit && sram + oT < limit && comp < limit && prox < limit;
}

/// The reference's refusals before any search, in its order: the mapping_error value when no
/// tiling fits (the first candidate has the smallest tile in every buffer, so it fits iff any
/// does), else hardware_error when a count could leave int64 (hw::check_exact_range, asked only
/// when certainly_exact cannot vouch for the layer). Shared with the CUDA path (kernels/).
template <class Sz>
std::optional<hw::mapping_error> refuse_before_search(const hw::basic_layer_params<Sz>& p, const std::string& name) {
  if (auto err = hw::no_fit_error(p, name)) return err;
  if (!certainly_exact(p)) hw::check_exact_range(p, name);
  return std::nullopt;
}

}  // namespace detail

/// The best mapping of layer `l` on `cfg`: equal to hw::map_layer_reference<Acc, Flow>(cfg, l,
/// em) in every field, including its errors (config_error for a malformed layer, a
/// mapping_error value when no tiling fits, hardware_error for a layer too large for exact
/// 64-bit counts). A grouped layer is searched on one group and scaled, as the reference does.
/// `ws` holds reusable buffers (one per thread); `stats`, if given, is added to.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, hw::accel_config_like C>
hw::mapping_result map_layer(const C& cfg, const hw::layer& l, const hw::energy_model& em, map_workspace& ws, map_stats* stats = nullptr,
                             const map_options& opt = {}) {
  hw::validate(l);
  const hw::layer g = hw::group_layer(l);
  const auto p = hw::make_params<Acc>(cfg, g);
  map_stats st;
  st.layers = 1;
  if (auto err = detail::refuse_before_search(p, l.name)) {
    if (stats) *stats += st;
    return *err;
  }
  candidate_batch& cb = ws.cb;
  build_candidates<Flow>(p, em, cb, /*group_by_key=*/opt.collapse_orders);
  const std::size_t n = cb.size();
  JAQ_ASSERT(n > 0);  // the first candidate fits (refuse_before_search)
  st.candidates = static_cast<std::int64_t>(n);
  st.pairs_exhaustive = st.candidates * detail::num_orders;
  if (!cb.exact) {
    // Some value could pass 2^51, past which the double kernel is not proved exact: the 64-bit reference answers.
    st.scalar_layers = 1;
    st.pairs_scored = st.pairs_exhaustive;
    if (stats) *stats += st;
    return hw::map_layer_reference<Acc, Flow>(cfg, l, em);
  }
  ws.total.resize(cb.padded());
  ws.energy.resize(cb.padded());
  const auto& orders = detail::all_orders();
  static const std::vector<std::int8_t> every_order = [] {
    std::vector<std::int8_t> v(detail::num_orders);
    for (int o = 0; o < detail::num_orders; ++o) v[static_cast<std::size_t>(o)] = static_cast<std::int8_t>(o);
    return v;
  }();

  // Runs of equal key are contiguous (the batch is sorted by key, then lower bound); visit them
  // cheapest lower bound first so that the bound tightens early.
  using group = map_workspace::group_range;
  std::vector<group>& groups = ws.groups;
  groups.clear();
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    // Without the order classes every candidate is scored under all 120 orders: one group.
    while (j < n && (cb.key[j] == cb.key[i] || !opt.collapse_orders)) ++j;
    groups.push_back({i, j});
    i = j;
  }
  std::sort(groups.begin(), groups.end(), [&](const group& a, const group& b) { return cb.lower[a.lo] < cb.lower[b.lo]; });

  detail::best_pair best;
  auto score = [&](std::size_t lo, std::size_t hi, int o) {
    score_order(cb, lo, hi, orders[static_cast<std::size_t>(o)], ws.total.data(), ws.energy.data());
    st.pairs_scored += static_cast<std::int64_t>(hi - lo);
    for (std::size_t i = lo; i < hi; ++i)
      if (best.improved_by(ws.total[i], ws.energy[i], o, cb.nest[i])) {
        best.cycles = ws.total[i];
        best.energy = ws.energy[i];
        best.order = o;
        best.nest = cb.nest[i];
        best.slot = static_cast<std::int32_t>(i);
      }
  };
  // The end of the prefix of [lo, hi) whose lower bound does not exceed the best total: the
  // rest can neither beat it nor tie it (a tie needs equal cycles).
  auto cut = [&](std::size_t lo, std::size_t hi) {
    if (!opt.prune || best.slot < 0) return hi;
    const auto limit = static_cast<std::int64_t>(best.cycles);
    const auto first = cb.lower.begin();
    return static_cast<std::size_t>(
        std::upper_bound(first + static_cast<std::ptrdiff_t>(lo), first + static_cast<std::ptrdiff_t>(hi), limit) - first);
  };
  auto reps_of = [&](detail::order_key key) -> const std::vector<std::int8_t>& {
    return opt.collapse_orders ? detail::order_classes::get().representatives(key) : every_order;
  };
  // Seed the bound with the candidate of the smallest lower bound alone, then sweep.
  const std::size_t seed = groups[0].lo;
  if (opt.prune)
    for (std::int8_t o : reps_of(cb.key[seed])) score(seed, seed + 1, o);
  for (const group& gr : groups) {
    const std::size_t lo = (opt.prune && gr.lo == seed) ? seed + 1 : gr.lo;
    for (std::int8_t o : reps_of(cb.key[gr.lo])) {
      const std::size_t hi = cut(lo, gr.hi);
      if (hi <= lo) break;
      score(lo, hi, o);
    }
  }
  if (stats) *stats += st;
  JAQ_ASSERT(best.slot >= 0);

  // The winner's full figures from the reference's own formulas.
  const hw::tiling& t = cb.tiles[static_cast<std::size_t>(best.slot)];
  const hw::loop_order order = hw::loop_order::from_index(best.order);
  const hw::candidate_cost cost = hw::evaluate<Flow>(p, t, order);
  const hw::energy_breakdown e = hw::energy_of(cost, em);
  JAQ_ASSERT(static_cast<double>(cost.total_cycles) == best.cycles && e.total == best.energy);
  return hw::finish_mapping(l, hw::group_winner{t, order, cost, e}, em, cfg);
}

/// Same, with the energy model of `cfg` from the embedded 45 nm tables and fresh buffers.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, hw::accel_config_like C>
hw::mapping_result map_layer(const C& cfg, const hw::layer& l) {
  map_workspace ws;
  return map_layer<Acc, Flow>(cfg, l, hw::make_energy_model<Acc>(cfg), ws);
}

}  // namespace jaq::batchtile
