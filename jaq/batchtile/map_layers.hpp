// jaq/batchtile/map_layers.hpp: BatchTile over many layers and configurations, in parallel.
//
// The execution backend is the first template parameter (STYLE #4): serial_backend and
// tbb_backend run map_layer on the host, in parallel across layers and configurations. A
// device backend goes through `device_mapper<B>`, the seam a device library fills: including
// kernels/batchtile.hpp fills it for cuda_backend (every pair scored on the GPU, the same
// answers); without that header a cuda_backend call does not compile. Results are in input order and do not depend on the backend or thread count;
// if layers throw (malformed, too large), the error of the first such layer in input order is
// rethrown after all have run.
//
//   auto em = jaq::hw::make_energy_model(cfg);
//   std::vector<jaq::hw::mapping_result> r =
//       jaq::batchtile::map_layers(jaq::tbb_backend{2}, cfg, layers, em);
//   auto grid = jaq::batchtile::map_grid(jaq::tbb_backend{}, configs, layers);   // [config][layer]
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "jaq/batchtile/map_layer.hpp"
#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::batchtile {

namespace detail {

/// Runs job(i, ws, stats) for i in [0, n) in chunks of `grain`, one workspace per chunk;
/// sums the chunks' stats in chunk order and rethrows the first failing index's exception.
template <host_backend B, class Job>
void run_indexed(B backend, std::int64_t n, std::int64_t grain, map_stats* stats, Job&& job) {
  if (n <= 0) return;
  const std::int64_t chunks = (n + grain - 1) / grain;
  std::vector<map_stats> part(static_cast<std::size_t>(chunks));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  // Workspaces are lent to tasks from a pool for the duration of this call: at most one per
  // concurrently running task is ever created, and their buffers are reused across tasks.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<map_workspace>> pool;
  parallel_for(backend, 0, chunks, [&](std::int64_t c) {
    std::unique_ptr<map_workspace> ws;
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!pool.empty()) {
        ws = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!ws) ws = std::make_unique<map_workspace>();
    const std::int64_t lo = c * grain, hi = lo + grain < n ? lo + grain : n;
    for (std::int64_t i = lo; i < hi; ++i) {
      try {
        job(i, *ws, part[static_cast<std::size_t>(c)]);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(ws));
  });
  if (stats)
    for (const map_stats& s : part) *stats += s;
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// map_layer through the cache (if any).
template <class Acc, class Flow, hw::accel_config_like C>
hw::mapping_result map_cached(const C& cfg, const hw::layer& l, const hw::energy_model& em, map_workspace& ws, map_stats& st,
                              mapping_cache* cache, const map_options& opt) {
  if (!cache) return map_layer<Acc, Flow>(cfg, l, em, ws, &st, opt);
  const mapping_key key = make_mapping_key<Acc, Flow>(hw::to_runtime(cfg), l, em);
  if (auto hit = cache->find(key, l.name)) return *hit;
  hw::mapping_result r = map_layer<Acc, Flow>(cfg, l, em, ws, &st, opt);
  cache->insert(key, r);
  return r;
}

}  // namespace detail

/// The seam for backends that do not run on the host: a device library specialises it with
/// static `map_layers<Acc, Flow>(backend, cfg, layers, em, cache, stats)` and
/// `map_grid<Acc, Flow>(backend, configs, layers, cache, stats)` (kernels/batchtile.hpp does,
/// for cuda_backend).
template <class B>
struct device_mapper;

/// A backend whose device_mapper is filled in (its header is included).
template <class B>
concept has_device_mapper = backend<B> && !host_backend<B> && requires {
  sizeof(device_mapper<B>);
};

/// A backend map_layers and map_grid run on: a host backend, or a device one whose mapper is in.
template <class B>
concept mapping_backend = host_backend<B> || has_device_mapper<B>;

/// Layers per parallel task: fine-grained, so that work stealing balances uneven layers and busy
/// cores (workspaces are pooled, so a task costs no allocation).
inline constexpr std::int64_t layers_per_task = 2;

/// Best mapping of every layer on one configuration, in input order.
/// `cfg` is a run-time accel_config or a fixed_accel_config (its sizes then compile-time
/// constants in the mapping search); both give the same mappings.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, class B, hw::accel_config_like C>
requires host_backend<B> std::vector<hw::mapping_result> map_layers(B backend, const C& cfg, std::span<const hw::layer> layers,
                                                                    const hw::energy_model& em, mapping_cache* cache = nullptr,
                                                                    map_stats* stats = nullptr, const map_options& opt = {}) {
  std::vector<std::optional<hw::mapping_result>> out(layers.size());
  const auto n = static_cast<std::int64_t>(layers.size());
  detail::run_indexed(backend, n, layers_per_task, stats, [&](std::int64_t i, map_workspace& ws, map_stats& st) {
    const auto k = static_cast<std::size_t>(i);
    out[k] = detail::map_cached<Acc, Flow>(cfg, layers[k], em, ws, st, cache, opt);
  });
  std::vector<hw::mapping_result> r;
  r.reserve(out.size());
  for (auto& o : out) r.push_back(std::move(*o));
  return r;
}

/// Best mapping of every layer on every configuration: result[c][l]. Energy models come from
/// the embedded tables; a configuration they cannot describe throws hardware_error.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, class B>
requires host_backend<B> std::vector<std::vector<hw::mapping_result>> map_grid(B backend, std::span<const hw::accel_config> configs,
                                                                               std::span<const hw::layer> layers,
                                                                               mapping_cache* cache = nullptr, map_stats* stats = nullptr,
                                                                               const map_options& opt = {}) {
  std::vector<hw::energy_model> ems;
  ems.reserve(configs.size());
  for (const auto& c : configs) ems.push_back(hw::make_energy_model<Acc>(c));
  const auto nl = static_cast<std::int64_t>(layers.size());
  std::vector<std::optional<hw::mapping_result>> flat(configs.size() * layers.size());
  const auto nf = static_cast<std::int64_t>(flat.size());
  detail::run_indexed(backend, nf, layers_per_task, stats, [&](std::int64_t i, map_workspace& ws, map_stats& st) {
    const auto c = static_cast<std::size_t>(i / nl);
    const auto l = static_cast<std::size_t>(i % nl);
    flat[static_cast<std::size_t>(i)] = detail::map_cached<Acc, Flow>(configs[c], layers[l], ems[c], ws, st, cache, opt);
  });
  std::vector<std::vector<hw::mapping_result>> r(configs.size());
  for (std::size_t c = 0; c < configs.size(); ++c) {
    r[c].reserve(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) r[c].push_back(std::move(*flat[c * layers.size() + l]));
  }
  return r;
}

/// map_layers on a device backend, through its device_mapper (same results as on the host).
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, class B, hw::accel_config_like C>
requires has_device_mapper<B> std::vector<hw::mapping_result> map_layers(B backend, const C& cfg, std::span<const hw::layer> layers,
                                                                         const hw::energy_model& em, mapping_cache* cache = nullptr,
                                                                         map_stats* stats = nullptr) {
  return device_mapper<B>::template map_layers<Acc, Flow>(backend, cfg, layers, em, cache, stats);
}

/// map_grid on a device backend, through its device_mapper.
template <hw::accelerator Acc = hw::bitfusion<>, hw::dataflow Flow = hw::proxy_stationary, class B>
requires has_device_mapper<B> std::vector<std::vector<hw::mapping_result>> map_grid(B backend, std::span<const hw::accel_config> configs,
                                                                                    std::span<const hw::layer> layers,
                                                                                    mapping_cache* cache = nullptr,
                                                                                    map_stats* stats = nullptr) {
  return device_mapper<B>::template map_grid<Acc, Flow>(backend, configs, layers, cache, stats);
}

}  // namespace jaq::batchtile
