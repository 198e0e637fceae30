// jaq/hwgen/objective.hpp: the cost a hardware search minimises, scored with BatchTile.
//
// cost = lambda_L * latency / latency_ref + lambda_E * energy / energy_ref
//      + lambda_A * area / area_ref,
// where latency (s) and energy (nJ) are summed over every layer of the network at its best
// mapping, area (mm^2) is hw::area_of, and *_ref are those of a reference configuration (the
// spec's by default), so the reference costs lambda_L + lambda_E + lambda_A. A configuration is
// infeasible, with the reason said, if its area exceeds the budget (it is then not mapped at
// all) or if some layer fits no tiling on it. Layers of the same shape and precisions (the
// repeated blocks of a stage) are mapped once per configuration, and a configuration that
// recurs in a batch (a sharpened policy samples its favourite many times) once per batch; the
// sums still run over every layer in order, so the figures are those of mapping each layer.
//
//   jaq::hwgen::cost_evaluator ev(layers, {.lambda_area = 0.5, .area_budget_mm2 = 8.0});
//   auto s = ev.score(jaq::tbb_backend{}, configs);   // one config_score per configuration
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer.hpp"

namespace jaq::hwgen {

struct objective {
  double lambda_latency = 1.0;
  double lambda_energy = 1.0;
  double lambda_area = 1.0;
  double area_budget_mm2 = std::numeric_limits<double>::infinity();
  hw::accel_config reference = hw::reference_config();  // the normaliser
};

/// One configuration's figures and cost.
struct config_score {
  hw::accel_config config;
  double latency_s = 0, energy_nJ = 0, area_mm2 = 0;
  double cost = std::numeric_limits<double>::infinity();
  bool feasible = false;
  std::string reason;  // why it is infeasible ("" when feasible)
};

inline std::ostream& operator<<(std::ostream& os, const config_score& s) {
  os << "config_score{" << s.config << ", latency_s=" << s.latency_s << ", energy_nJ=" << s.energy_nJ << ", area_mm2=" << s.area_mm2
     << ", cost=" << s.cost;
  if (!s.feasible) os << ", infeasible: " << (s.reason.empty() ? std::string("not evaluated") : s.reason);
  return os << "}";
}

class cost_evaluator {
 public:
  /// Throws config_error if the objective is malformed or the reference configuration cannot
  /// map every layer (its figures normalise the cost).
  cost_evaluator(std::vector<hw::layer> layers, objective obj, batchtile::mapping_cache* cache = nullptr)
      : layers_(std::move(layers)), obj_(obj), cache_(cache) {
    if (layers_.empty()) throw config_error("cost_evaluator", "layers", "no layers to map");
    std::map<hw::shape_key, std::size_t> seen;
    for (const hw::layer& l : layers_) {
      const auto [it, fresh] = seen.try_emplace(hw::shape_key_of(l), distinct_.size());
      if (fresh) distinct_.push_back(l);
      index_.push_back(it->second);
    }
    auto nonneg = [](const char* f, double v) {
      if (!(v >= 0)) throw config_error("objective", f, "must be >= 0, got " + std::to_string(v));
    };
    nonneg("lambda_latency", obj_.lambda_latency);
    nonneg("lambda_energy", obj_.lambda_energy);
    nonneg("lambda_area", obj_.lambda_area);
    if (!(obj_.area_budget_mm2 > 0))
      throw config_error("objective", "area_budget_mm2", "must be positive, got " + std::to_string(obj_.area_budget_mm2));
    hw::validate(obj_.reference, "objective.reference");
    ref_ = raw(serial_backend{}, std::span<const hw::accel_config>(&obj_.reference, 1),
               /*check_budget=*/false)[0];
    if (!ref_.feasible) throw config_error("objective", "reference", "the reference configuration is infeasible: " + ref_.reason);
    ref_.cost = obj_.lambda_latency + obj_.lambda_energy + obj_.lambda_area;
  }

  const objective& goal() const { return obj_; }
  const std::vector<hw::layer>& layers() const { return layers_; }
  /// The layers of distinct shape and precisions, each mapped once per configuration.
  const std::vector<hw::layer>& distinct_layers() const { return distinct_; }
  /// The reference configuration's figures (its cost is the sum of the lambdas).
  const config_score& reference() const { return ref_; }

  /// Scores every configuration (parallel across configurations and layers on `backend`).
  template <class B>
  requires batchtile::mapping_backend<B> std::vector<config_score> score(B backend, std::span<const hw::accel_config> configs)
  const {
    std::vector<config_score> s = raw(backend, configs, /*check_budget=*/true);
    for (config_score& c : s)
      if (c.feasible)
        c.cost = obj_.lambda_latency * (c.latency_s / ref_.latency_s) + obj_.lambda_energy * (c.energy_nJ / ref_.energy_nJ) +
                 obj_.lambda_area * (c.area_mm2 / ref_.area_mm2);
    return s;
  }

 private:
  template <class B>
  std::vector<config_score> raw(B backend, std::span<const hw::accel_config> configs, bool check_budget) const {
    std::vector<config_score> out(configs.size());
    std::vector<hw::accel_config> to_map;
    std::vector<std::size_t> where;                            // out[where[k]] is to_map[k]'s first occurrence
    std::vector<std::pair<std::size_t, std::size_t>> repeats;  // (index in out, its first occurrence)
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const auto seen = std::find(configs.begin(), configs.begin() + std::ptrdiff_t(i), configs[i]);
      if (seen != configs.begin() + std::ptrdiff_t(i)) {
        repeats.push_back({i, std::size_t(seen - configs.begin())});
        continue;
      }
      config_score& s = out[i];
      s.config = configs[i];
      try {
        hw::validate(configs[i]);
        s.area_mm2 = hw::area_of(configs[i]).total_mm2;
      } catch (const error& e) {
        s.reason = e.what();
        continue;
      }
      if (check_budget && s.area_mm2 > obj_.area_budget_mm2) {
        s.reason = "area " + std::to_string(s.area_mm2) + " mm^2 over the budget of " + std::to_string(obj_.area_budget_mm2) + " mm^2";
        continue;
      }
      to_map.push_back(configs[i]);
      where.push_back(i);
    }
    const auto grid =
        batchtile::map_grid(backend, std::span<const hw::accel_config>(to_map), std::span<const hw::layer>(distinct_), cache_);
    for (std::size_t k = 0; k < grid.size(); ++k) {
      config_score& s = out[where[k]];
      s.feasible = true;
      for (const std::size_t d : index_) {  // every layer in order, as mapping each would sum
        const hw::mapping_result& r = grid[k][d];
        if (!r.ok()) {
          s.feasible = false;
          s.reason = r.error().message();
          break;
        }
        s.latency_s += r.value().latency_s;
        s.energy_nJ += r.value().energy_nJ;
      }
      if (!s.feasible) s.latency_s = s.energy_nJ = 0;
    }
    for (const auto& [i, first] : repeats) out[i] = out[first];
    return out;
  }

  std::vector<hw::layer> layers_;
  std::vector<hw::layer> distinct_;  // first instance of each (shape, precisions)
  std::vector<std::size_t> index_;   // layers_[i] is distinct_[index_[i]]
  objective obj_;
  batchtile::mapping_cache* cache_;
  config_score ref_;
};

}  // namespace jaq::hwgen
