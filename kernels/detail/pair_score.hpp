// kernels/detail/pair_score.hpp: one (tiling, loop order) pair of one mapping job, scored by the
// cost model's own functions (jaq/hw/cost_model.hpp, JAQ_HOST_DEVICE), and the tie rule as a
// total order. The CUDA kernel (kernels/batchtile.cu) runs these per thread; the host twin
// below runs the very same functions serially, which is how the CPU machines test the kernel's
// logic against BatchTile without a GPU (tests/kernels/pair_score_test.cpp).
//
// Pair q of a job is tiling q / 120 (nest order: b outermost, then o, ic, oc innermost, over
// every candidate, fitting or not) under loop order q % 120 (itertools order). The best pair is
// the lexicographic minimum of (total cycles, energy, order index, nest index): exactly the
// spec's two-level scan (docs/batchtile.md, "The tie rule as a total order"), so any grouping
// of the reduction gives the same pair. Counts are exact int64 (the host refuses a layer
// hw::check_exact_range refuses before launching); energies are the spec's chain in double,
// with no fused multiply-add (nvcc --fmad=false, JAQ_NO_FP_CONTRACT on the host), so the
// device's doubles equal the host's.
#pragma once

#include <cstdint>

#include "jaq/config.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/dataflow.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/loop_order.hpp"
#include "jaq/hw/tiling.hpp"

namespace jaq::cuda::detail {

inline constexpr int orders_per_tiling = hw::num_loop_orders;  // 120

/// One (configuration, layer) search: the formulas' inputs for one group of the layer, the
/// configuration's energy model, and the number of candidate tile sizes of each loop.
struct map_job {
  hw::layer_params p{};
  hw::energy_model em{};
  std::int32_t nb = 0, no = 0, nic = 0, noc = 0;
  JAQ_HOST_DEVICE std::int64_t tilings() const { return std::int64_t{nb} * no * nic * noc; }
  JAQ_HOST_DEVICE std::int64_t pairs() const { return tilings() * orders_per_tiling; }
};

/// A scored pair, or none (cycles == INT64_MAX) when its tiling does not fit.
struct pair_key {
  std::int64_t cycles = INT64_MAX;
  double energy = 0;
  std::int32_t order = orders_per_tiling;
  std::int32_t nest = INT32_MAX;
  JAQ_HOST_DEVICE bool none() const { return cycles == INT64_MAX; }
};

/// True when `a` comes before `b` in the tie rule's total order.
JAQ_HOST_DEVICE inline bool before(const pair_key& a, const pair_key& b) {
  if (a.cycles != b.cycles) return a.cycles < b.cycles;
  if (a.energy != b.energy) return a.energy < b.energy;
  if (a.order != b.order) return a.order < b.order;
  return a.nest < b.nest;
}

/// The tiling with nest index `nest`.
JAQ_HOST_DEVICE inline hw::tiling tiling_at(const map_job& j, std::int64_t nest) {
  std::int64_t r = nest;
  const auto ioc = static_cast<std::int32_t>(r % j.noc);
  r /= j.noc;
  const auto iic = static_cast<std::int32_t>(r % j.nic);
  r /= j.nic;
  const auto io = static_cast<std::int32_t>(r % j.no);
  const auto ib = static_cast<std::int32_t>(r / j.no);
  const hw::layer_params& p = j.p;
  return hw::make_tiling(p, hw::tile_size(p.B, 1, ib), hw::tile_size(p.O, 1, io), hw::tile_size(p.IC, 1, iic),
                         hw::tile_size(p.OC, p.im2col ? 1 : p.M, ioc));
}

/// True when the tiling with nest index `nest` passes the capacity filter.
JAQ_HOST_DEVICE inline bool fits_at(const map_job& j, std::int64_t nest) {
  const hw::tiling t = tiling_at(j, nest);
  return hw::fits(j.p, hw::tile_bits(j.p, t));
}

/// Pair q of job j, scored (none when its tiling does not fit).
template <class Flow>
JAQ_HOST_DEVICE pair_key score_pair(const map_job& j, std::int64_t q) {
  const std::int64_t nest = q / orders_per_tiling;
  const auto order = static_cast<std::int32_t>(q % orders_per_tiling);
  const hw::tiling t = tiling_at(j, nest);
  pair_key k;
  if (!hw::fits(j.p, hw::tile_bits(j.p, t))) return k;
  const hw::candidate_cost c = hw::evaluate<Flow>(j.p, t, hw::loop_order::from_index(order));
  k.cycles = c.total_cycles;
  k.energy = hw::energy_of(c, j.em).total;
  k.order = order;
  k.nest = static_cast<std::int32_t>(nest);
  return k;
}

/// What the device returns per job: the best pair and the number of fitting tilings.
struct job_best {
  pair_key best{};
  std::int64_t fitting = 0;
};

/// The host twin of the kernel: every pair of every job scored serially by score_pair and
/// reduced with `before`, in pair order. Same answer as the device's grouped reduction (a
/// lexicographic minimum does not depend on grouping).
template <class Flow>
job_best best_pair_host(const map_job& j) {
  job_best r;
  for (std::int64_t q = 0; q < j.pairs(); ++q) {
    const pair_key k = score_pair<Flow>(j, q);
    if (k.none()) continue;
    if (k.order == 0) ++r.fitting;
    if (before(k, r.best)) r.best = k;
  }
  return r;
}

}  // namespace jaq::cuda::detail
