// kernels/batchtile.hpp: BatchTile on a CUDA device, with the CPU's answers.
//
// jaq::cuda::map_layers and map_grid give what jaq::batchtile::map_layers and map_grid give, field
// for field (integers exact, energies bit-identical, the same errors in the same order), with
// every pair of every (configuration, layer) scored on the GPU in one launch. The host does
// what BatchTile's map_layer does around its scorer: validates each layer, takes one group,
// answers the no-fit case and refuses a layer too large for exact 64-bit counts, looks the
// mapping cache up; the winner's full figures come from the reference's own functions
// (hw::evaluate, hw::energy_of, hw::finish_mapping), after checking that they equal what the
// device reported.
//
// Including this header also plugs the device into BatchTile's backend seam: with it,
// jaq::batchtile::map_layers(jaq::cuda_backend{}, cfg, layers, em) runs here.
//
//   auto r = jaq::cuda::map_layers(jaq::cuda_backend{0}, cfg, layers, em);   // == batchtile's
//   auto g = jaq::cuda::map_grid(jaq::cuda_backend{0}, configs, layers);     // [config][layer]
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layer.hpp"
#include "jaq/batchtile/map_layers.hpp"
#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/reference_mapper.hpp"
#include "kernels/detail/batchtile_launch.hpp"
#include "kernels/device.hpp"

namespace jaq::cuda {

namespace detail {

/// The device job of one group's params: the candidate counts of each loop.
inline map_job make_job(const hw::layer_params& p, const hw::energy_model& em) {
  const hw::candidate_axes ax = hw::candidate_tiles(p);
  map_job j;
  j.p = p;
  j.em = em;
  j.nb = static_cast<std::int32_t>(ax.b.size());
  j.no = static_cast<std::int32_t>(ax.o.size());
  j.nic = static_cast<std::int32_t>(ax.ic.size());
  j.noc = static_cast<std::int32_t>(ax.oc.size());
  return j;
}

/// One (configuration, layer) to map.
struct map_item {
  std::size_t config;  // index into the configurations
  const hw::layer* layer;
};

/// Maps every item: cache hits and host-decided cases (errors, no fit) on the host, the rest by
/// one call of `score(jobs, best) -> status` (the device launch, or the host twin in the tests).
/// Results in item order; the first failing item's exception is rethrown after all have run.
template <class Acc, class Flow, class C, class Score>
std::vector<hw::mapping_result> map_items(Score&& score, std::span<const C> configs, std::span<const hw::energy_model> ems,
                                          std::span<const map_item> items, batchtile::mapping_cache* cache, batchtile::map_stats* stats) {
  const std::size_t n = items.size();
  std::vector<std::optional<hw::mapping_result>> out(n);
  std::vector<std::exception_ptr> errors(n);
  std::vector<map_job> jobs;
  std::vector<std::size_t> job_item;
  std::vector<std::optional<batchtile::mapping_key>> keys(n);
  batchtile::map_stats st;
  for (std::size_t i = 0; i < n; ++i) {
    const hw::layer& l = *items[i].layer;
    const C& cfg = configs[items[i].config];
    const hw::energy_model& em = ems[items[i].config];
    try {
      if (cache) {
        keys[i] = batchtile::make_mapping_key<Acc, Flow>(hw::to_runtime(cfg), l, em);
        if (auto hit = cache->find(*keys[i], l.name)) {
          out[i] = *hit;
          continue;
        }
      }
      hw::validate(l);
      const hw::layer_params p = hw::make_params<Acc>(hw::to_runtime(cfg), hw::group_layer(l));
      st.layers += 1;
      if (auto err = batchtile::detail::refuse_before_search(p, l.name)) {
        out[i] = *err;
        if (cache) cache->insert(*keys[i], *out[i]);  // as batchtile's map_cached keeps every result
        continue;
      }
      jobs.push_back(make_job(p, em));
      job_item.push_back(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  std::vector<job_best> best(jobs.size());
  check(score(std::span<const map_job>(jobs), std::span<job_best>(best)));
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    const std::size_t i = job_item[k];
    const hw::layer& l = *items[i].layer;
    const map_job& j = jobs[k];
    const job_best& r = best[k];
    st.candidates += r.fitting;
    st.pairs_exhaustive += r.fitting * orders_per_tiling;
    st.pairs_scored += r.fitting * orders_per_tiling;
    if (r.best.none()) {  // cannot happen after no_fit_error said the first tiling fits
      errors[i] = std::make_exception_ptr(error("CUDA BatchTile: no fitting tiling reported for layer '" + l.name + "'"));
      continue;
    }
    const hw::tiling t = tiling_at(j, r.best.nest);
    const hw::loop_order order = hw::loop_order::from_index(r.best.order);
    const hw::candidate_cost cost = hw::evaluate<Flow>(j.p, t, order);
    const hw::energy_breakdown e = hw::energy_of(cost, j.em);
    if (cost.total_cycles != r.best.cycles || e.total != r.best.energy) {
      errors[i] = std::make_exception_ptr(error("CUDA BatchTile: the device's figures for layer '" + l.name + "' (" +
                                                std::to_string(r.best.cycles) + " cycles) differ from the host's (" +
                                                std::to_string(cost.total_cycles) + ")"));
      continue;
    }
    out[i] = hw::finish_mapping(l, hw::group_winner{t, order, cost, e}, j.em, configs[items[i].config]);
    if (cache && keys[i]) cache->insert(*keys[i], *out[i]);
  }
  if (stats) *stats += st;
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::vector<hw::mapping_result> r;
  r.reserve(n);
  for (auto& o : out) r.push_back(std::move(*o));
  return r;
}

/// The device launch as map_items's scorer.
template <class Flow>
auto on_device(cuda_backend dev) {
  return [dev](std::span<const map_job> jobs, std::span<job_best> best) { return best_pairs(dev.device, flow_of<Flow>(), jobs, best); };
}

/// The kernel's host twin (kernels/detail/pair_score.hpp) as map_items's scorer.
template <class Flow>
auto on_host_twin() {
  return [](std::span<const map_job> jobs, std::span<job_best> best) {
    for (std::size_t k = 0; k < jobs.size(); ++k) best[k] = best_pair_host<Flow>(jobs[k]);
    return status::success();
  };
}

}  // namespace detail

/// Best mapping of every layer on one configuration, in input order: batchtile::map_layers's
/// answer, scored on device `dev.device`.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, hw::accel_config_like C>
std::vector<hw::mapping_result> map_layers(cuda_backend dev, const C& cfg, std::span<const hw::layer> layers, const hw::energy_model& em,
                                           batchtile::mapping_cache* cache = nullptr, batchtile::map_stats* stats = nullptr) {
  std::vector<detail::map_item> items;
  items.reserve(layers.size());
  for (const hw::layer& l : layers) items.push_back({0, &l});
  return detail::map_items<Acc, Flow, C>(detail::on_device<Flow>(dev), std::span<const C>(&cfg, 1),
                                         std::span<const hw::energy_model>(&em, 1), items, cache, stats);
}

/// Best mapping of every layer on every configuration, result[c][l], in one launch:
/// batchtile::map_grid's answer.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary>
std::vector<std::vector<hw::mapping_result>> map_grid(cuda_backend dev, std::span<const hw::accel_config> configs,
                                                      std::span<const hw::layer> layers, batchtile::mapping_cache* cache = nullptr,
                                                      batchtile::map_stats* stats = nullptr) {
  std::vector<hw::energy_model> ems;
  ems.reserve(configs.size());
  for (const auto& c : configs) ems.push_back(hw::make_energy_model<Acc>(c));
  std::vector<detail::map_item> items;
  items.reserve(configs.size() * layers.size());
  for (std::size_t c = 0; c < configs.size(); ++c)
    for (const hw::layer& l : layers) items.push_back({c, &l});
  std::vector<hw::mapping_result> flat =
      detail::map_items<Acc, Flow, hw::accel_config>(detail::on_device<Flow>(dev), configs, ems, items, cache, stats);
  std::vector<std::vector<hw::mapping_result>> r(configs.size());
  for (std::size_t c = 0; c < configs.size(); ++c)
    for (std::size_t l = 0; l < layers.size(); ++l) r[c].push_back(std::move(flat[c * layers.size() + l]));
  return r;
}

}  // namespace jaq::cuda

namespace jaq::batchtile {

/// BatchTile's backend seam, filled for the CUDA device (see map_layers.hpp).
template <>
struct device_mapper<cuda_backend> {
  template <class Acc, class Flow, class C>
  static std::vector<hw::mapping_result> map_layers(cuda_backend dev, const C& cfg, std::span<const hw::layer> layers,
                                                    const hw::energy_model& em, mapping_cache* cache, map_stats* stats) {
    return cuda::map_layers<Acc, Flow>(dev, cfg, layers, em, cache, stats);
  }
  template <class Acc, class Flow>
  static std::vector<std::vector<hw::mapping_result>> map_grid(cuda_backend dev, std::span<const hw::accel_config> configs,
                                                               std::span<const hw::layer> layers, mapping_cache* cache, map_stats* stats) {
    return cuda::map_grid<Acc, Flow>(dev, configs, layers, cache, stats);
  }
};

}  // namespace jaq::batchtile
