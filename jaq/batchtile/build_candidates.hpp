// jaq/batchtile/build_candidates.hpp: enumerate a layer's tilings into a candidate_batch.
//
// Visits the spec's candidates in nest order (b, o, ic, oc), drops those failing the capacity
// filter (and stops early along a loop once a tile overflows: footprints only grow with tile
// sizes), computes each survivor's order-independent values with the hw cost model's own
// functions (hw::make_tiling, tile_bits, fits, compute_cycles, proxies, sram_accesses: the ones
// the scalar reference uses) and lays the batch out sorted by (order key, lower bound), so that
// the candidates sharing a set of representative loop orders are contiguous and cheapest-first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "jaq/batchtile/candidate_batch.hpp"
#include "jaq/batchtile/detail/order_classes.hpp"
#include "jaq/config.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/dataflow.hpp"
#include "jaq/hw/energy_model.hpp"

namespace jaq::batchtile {

namespace detail {

/// The first two terms of hw::energy_of's chain (core, WBUF reads), in its order, no FMA.
JAQ_NO_FP_CONTRACT inline double chain_head(std::int64_t compute, std::int64_t wgt_rd, const hw::energy_model& em) {
  const double t_core = static_cast<double>(compute) * em.core_nJ_per_cycle;
  const double t_wr = static_cast<double>(wgt_rd) * em.wbuf_rd;
  double total = t_core;
  total += t_wr;
  return total;
}

/// 2^51: below it, doubles hold integers, their sums and products exactly, and the scorer's
/// division-free ceiling is exact (score_body.inc).
inline constexpr double exact_limit = 2251799813685248.0;

}  // namespace detail

/// Fills `cb` with every tiling of the (one-group) layer `p` that passes the capacity filter.
/// Returns the number of candidates of the full nest (fitting or not). Preconditions: p from
/// hw::make_params of a validated layer's group (hw::group_layer).
/// With `group_by_key` false the batch is sorted by lower bound alone (for scoring every
/// candidate under every order, where the key does not matter).
template <hw::dataflow Flow, class Sz>
std::int64_t build_candidates(const hw::basic_layer_params<Sz>& p, const hw::energy_model& em, candidate_batch& cb,
                              bool group_by_key = true) {
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

  std::vector<detail::candidate_item>& items = cb.items;
  items.clear();
  const hw::candidate_axes ax = hw::candidate_tiles(p);
  const double max_cap = std::max({k.cap_w, k.cap_a, k.cap_o});
  const hw::dram_walk no_walk{};
  // Every footprint is non-decreasing in every tile size, so once a tiling overflows, larger
  // tiles along the innermost varying loop overflow too: break there (the first candidate of a
  // loop overflowing ends the enclosing loop as well). Nest positions are counted, not visited.
  const auto nb = ax.b.size(), no = ax.o.size(), nic = ax.ic.size(), noc = ax.oc.size();
  for (std::size_t ib = 0; ib < nb; ++ib) {
    bool any_o = false;
    for (std::size_t io = 0; io < no; ++io) {
      bool any_ic = false;
      for (std::size_t iic = 0; iic < nic; ++iic) {
        bool any_oc = false;
        for (std::size_t ioc = 0; ioc < noc; ++ioc) {
          const auto here = static_cast<std::int32_t>(((ib * no + io) * nic + iic) * noc + ioc);
          const hw::tiling t = hw::make_tiling(p, ax.b[ib], ax.o[io], ax.ic[iic], ax.oc[ioc]);
          const hw::tile_footprint f = hw::tile_bits(p, t);
          if (!hw::fits(p, f)) break;
          any_oc = true;
          const hw::stationary_proxies px = hw::proxies(p, t);
          const hw::stationary scheme = hw::dataflow_traits<Flow>::choose(px.is, px.os, px.ws);
          const hw::sram_traffic fixed = hw::sram_accesses(p, t, no_walk, scheme);
          detail::candidate_item it{.t = t,
                                    .w = f.w,
                                    .a = f.a,
                                    .o = f.o,
                                    .compute = hw::compute_cycles(p, t),
                                    .wgt_rd = fixed.wgt_rd,
                                    .act_rd = fixed.act_rd,
                                    .out_add = fixed.out_rd,
                                    .lower = 0,
                                    .nest = here,
                                    .key = detail::make_order_key({t.num_b, t.num_ow, t.num_oh, t.num_ic, t.num_oc})};
          // Under any order: total = compute + stall >= compute + latency, and the latency's
          // two ceilings only grow as max_write grows from the bare tile sizes.
          it.lower = it.compute + hw::ceil_div(f.w + f.a + f.o, p.if_width) + hw::ceil_div(f.o, p.if_width);
          // Every walk size is at most its tile x T <= max_cap x T; the kernel forms sums of at
          // most four of them, and out_rd = walk + the fixed OBUF term.
          const double T = static_cast<double>(t.tiles());
          if (4.0 * max_cap * T >= detail::exact_limit || static_cast<double>(it.out_add) + max_cap * T >= detail::exact_limit ||
              static_cast<double>(it.compute) >= detail::exact_limit)
            cb.exact = false;
          items.push_back(it);
        }
        if (!any_oc) break;
        any_ic = true;
      }
      if (!any_ic) break;
      any_o = true;
    }
    if (!any_o) break;
  }
  const auto nest = static_cast<std::int64_t>(nb * no * nic * noc);
  // Sort by (key, lower bound, nest) through one 64-bit word per candidate (lower < 2^53 in an
  // exact batch; an inexact one is not scored by the kernel, its order does not matter).
  auto& sk = cb.sort_keys;
  sk.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::uint64_t lo = std::min<std::uint64_t>(static_cast<std::uint64_t>(items[i].lower), (std::uint64_t{1} << 56) - 1);
    const std::uint64_t key = group_by_key ? items[i].key : 0;
    sk[i] = {(key << 56) | lo, static_cast<std::uint32_t>(i)};  // i increases with nest
  }
  std::sort(sk.begin(), sk.end());
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
    const detail::candidate_item& it = items[sk[i].second];
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
    cb.w_tile[i] = static_cast<double>(it.w);
    cb.a_tile[i] = static_cast<double>(it.a);
    cb.o_tile[i] = static_cast<double>(it.o);
    cb.compute[i] = static_cast<double>(it.compute);
    // The chain's first two terms and act_rd's term, as hw::energy_of forms them.
    cb.e_prefix[i] = detail::chain_head(it.compute, it.wgt_rd, em);
    cb.e_act_rd[i] = static_cast<double>(it.act_rd) * em.ibuf_rd;
    cb.sram_o_add[i] = static_cast<double>(it.out_add);
  }
  return nest;
}

}  // namespace jaq::batchtile
