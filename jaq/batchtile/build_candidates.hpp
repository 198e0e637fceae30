// jaq/batchtile/build_candidates.hpp: enumerate a layer's tilings into a candidate_batch.
//
// Visits the spec's candidates in nest order (b, o, ic, oc), drops those failing the capacity
// filter, computes each survivor's order-independent values (hw::tile_figures: tile sizes,
// compute cycles, stationary scheme and SRAM counts, the same functions the scalar reference
// uses) and lays the batch out sorted by (order key, lower bound) so that the candidates sharing
// a set of representative loop orders are contiguous and cheapest-first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "jaq/batchtile/candidate_batch.hpp"
#include "jaq/batchtile/detail/order_classes.hpp"
#include "jaq/hw/cost_model.hpp"

namespace jaq::batchtile {

namespace detail {

/// The first two terms of hw::energy_of's chain (core, WBUF reads), in its order, no FMA.
JAQ_NO_FP_CONTRACT inline double chain_head(std::int64_t compute, std::int64_t wgt_rd,
                                            const hw::energy_model& em) {
  const double t_core = static_cast<double>(compute) * em.core_nJ_per_cycle;
  const double t_wr = static_cast<double>(wgt_rd) * em.wbuf_rd;
  double total = t_core;
  total += t_wr;
  return total;
}

/// 2^52: below it, doubles hold integers, their sums and products exactly (with margin).
inline constexpr double exact_limit = 4503599627370496.0;

}  // namespace detail

/// Fills `cb` with every tiling of the (one-group) layer `p` that passes the capacity filter.
/// Returns the number of candidates visited before the filter. Preconditions: p from
/// hw::make_params of a validated layer's group (hw::group_layer).
/// With `group_by_key` false the batch is sorted by lower bound alone (for scoring every
/// candidate under every order, where the key does not matter).
template <hw::dataflow Flow>
std::int64_t build_candidates(const hw::layer_params& p, const hw::energy_model& em,
                              candidate_batch& cb, bool group_by_key = true) {
  cb.clear();
  batch_constants& k = cb.k;
  k.cap_w = static_cast<double>(p.cap_w);
  k.cap_a = static_cast<double>(p.cap_a);
  k.cap_o = static_cast<double>(p.cap_o);
  k.if_width = static_cast<double>(p.if_width);
  k.e_wbuf_wr = em.wbuf_wr;
  k.e_ibuf_wr = em.ibuf_wr;
  k.e_obuf_rd = em.obuf_rd;
  k.e_obuf_wr = em.obuf_wr;
  k.e_dram_rd = em.dram_per_bit;
  k.e_dram_wr = em.dram_per_bit;

  struct item {
    hw::tiling t;
    hw::tile_footprint f;
    std::int64_t compute;
    hw::sram_traffic fixed;  // the order-independent SRAM terms (a walk of zeros)
    std::int32_t nest;
    detail::order_key key;
    std::int64_t lower;
  };
  std::vector<item> items;
  const hw::candidate_axes ax = hw::candidate_tiles(p);
  items.reserve(ax.b.size() * ax.o.size() * ax.ic.size() * ax.oc.size());
  std::int32_t nest = 0;
  const double max_cap = std::max({k.cap_w, k.cap_a, k.cap_o});
  const hw::dram_walk no_walk{};
  for (std::int64_t b : ax.b)
    for (std::int64_t o : ax.o)
      for (std::int64_t ic : ax.ic)
        for (std::int64_t oc : ax.oc) {
          const std::int32_t here = nest++;
          const hw::tiling t = hw::make_tiling(p, b, o, ic, oc);
          const hw::tile_footprint f = hw::tile_bits(p, t);
          if (!hw::fits(p, f)) continue;
          const hw::stationary_proxies px = hw::proxies(p, t);
          const hw::stationary scheme = hw::dataflow_traits<Flow>::choose(px.is, px.os, px.ws);
          item it{.t = t, .f = f, .compute = hw::compute_cycles(p, t),
                  .fixed = hw::sram_accesses(p, t, no_walk, scheme), .nest = here,
                  .key = detail::make_order_key({t.num_b, t.num_ow, t.num_oh, t.num_ic, t.num_oc}),
                  .lower = 0};
          // Under any order: total = compute + stall >= compute + latency, and the latency's
          // two ceilings only grow as max_write grows from the bare tile sizes.
          it.lower = it.compute + hw::ceil_div(f.w + f.a + f.o, p.if_width) +
                     hw::ceil_div(f.o, p.if_width);
          // Every walk size is at most its tile x T <= max_cap x T; the kernel forms sums of at
          // most four of them, and out_rd = walk + the fixed OBUF term.
          const double T = static_cast<double>(t.tiles());
          if (4.0 * max_cap * T >= detail::exact_limit ||
              static_cast<double>(it.fixed.out_rd) + max_cap * T >= detail::exact_limit ||
              static_cast<double>(it.compute) >= detail::exact_limit)
            cb.exact = false;
          items.push_back(it);
        }
  std::sort(items.begin(), items.end(), [group_by_key](const item& a, const item& b) {
    if (group_by_key && a.key != b.key) return a.key < b.key;
    if (a.lower != b.lower) return a.lower < b.lower;
    return a.nest < b.nest;
  });
  const std::size_t n = items.size();
  const std::size_t np = (n + kernel_pad - 1) / kernel_pad * kernel_pad;
  cb.tiles.resize(n);
  cb.nest.resize(n);
  cb.key.resize(n);
  cb.lower.resize(n);
  cb.compute_i.resize(n);
  for (auto& c : cb.cnt) c.assign(np, 1.0);
  cb.w_tile.assign(np, 0.0);
  cb.a_tile.assign(np, 0.0);
  cb.o_tile.assign(np, 0.0);
  cb.compute.assign(np, 0.0);
  cb.e_prefix.assign(np, 0.0);
  cb.e_act_rd.assign(np, 0.0);
  cb.sram_o_add.assign(np, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const item& it = items[i];
    cb.tiles[i] = it.t;
    cb.nest[i] = it.nest;
    cb.key[i] = it.key;
    cb.lower[i] = it.lower;
    cb.compute_i[i] = it.compute;
    cb.cnt[detail::loop_b][i] = static_cast<double>(it.t.num_b);
    cb.cnt[detail::loop_ow][i] = static_cast<double>(it.t.num_ow);
    cb.cnt[detail::loop_oh][i] = static_cast<double>(it.t.num_oh);
    cb.cnt[detail::loop_ic][i] = static_cast<double>(it.t.num_ic);
    cb.cnt[detail::loop_oc][i] = static_cast<double>(it.t.num_oc);
    cb.w_tile[i] = static_cast<double>(it.f.w);
    cb.a_tile[i] = static_cast<double>(it.f.a);
    cb.o_tile[i] = static_cast<double>(it.f.o);
    cb.compute[i] = static_cast<double>(it.compute);
    // The chain's first two terms and act_rd's term, as hw::energy_of forms them.
    cb.e_prefix[i] = detail::chain_head(it.compute, it.fixed.wgt_rd, em);
    cb.e_act_rd[i] = static_cast<double>(it.fixed.act_rd) * em.ibuf_rd;
    cb.sram_o_add[i] = static_cast<double>(it.fixed.out_rd);
  }
  return nest;
}

}  // namespace jaq::batchtile
