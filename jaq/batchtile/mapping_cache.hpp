// jaq/batchtile/mapping_cache.hpp: a thread-safe, bounded cache of layer mappings.
//
// Keyed by everything a mapping depends on: the layer's shape (K, O, S, IC, OC, B, im2col,
// groups), its precision pair, the configuration (all seven fields), the energy model's values
// and the hardware/dataflow types. The layer's name is not part of the key: a hit is returned
// under the asking layer's name. When the cache holds `capacity` entries, the next insertion
// clears it first (counted in `evictions`): hardware search revisits the same few shapes many
// times, so a simple epoch clear keeps memory bounded without bookkeeping on every hit.
//
//   jaq::batchtile::mapping_cache cache({.capacity = 1 << 16});
//   auto r = jaq::batchtile::map_layers(jaq::tbb_backend{}, cfg, layers, em, &cache);
//   std::cout << cache.stats();   // hits, misses, evictions, size
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <shared_mutex>
#include <typeinfo>
#include <unordered_map>

#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/mapping.hpp"

namespace jaq::batchtile {

/// Everything a mapping result depends on (but the layer's name).
struct mapping_key {
  std::int64_t K = 0, O = 0, S = 0, IC = 0, OC = 0, B = 0, groups = 0;
  bool im2col = false;
  int iprec = 0, wprec = 0;
  std::int64_t N = 0, M = 0, wbuf = 0, ibuf = 0, obuf = 0, if_width = 0;
  std::uint64_t frequency_bits = 0;  // the double's bits: exact equality
  std::uint64_t energy_bits[7] = {};
  std::size_t model = 0;  // hash of the hardware and dataflow tag types
  friend bool operator==(const mapping_key&, const mapping_key&) = default;
};

template <class Acc, class Flow>
mapping_key make_mapping_key(const hw::accel_config& c, const hw::layer& l, const hw::energy_model& em) {
  mapping_key k;
  k.K = l.K;
  k.O = l.O;
  k.S = l.S;
  k.IC = l.IC;
  k.OC = l.OC;
  k.B = l.B;
  k.groups = l.groups;
  k.im2col = l.im2col;
  k.iprec = l.iprec;
  k.wprec = l.wprec;
  k.N = c.N;
  k.M = c.M;
  k.wbuf = c.wbuf_bytes;
  k.ibuf = c.ibuf_bytes;
  k.obuf = c.obuf_bytes;
  k.if_width = c.if_width;
  k.frequency_bits = std::bit_cast<std::uint64_t>(c.frequency_hz);
  const double e[7] = {em.core_nJ_per_cycle, em.wbuf_rd, em.wbuf_wr, em.ibuf_rd, em.ibuf_wr, em.obuf_rd, em.obuf_wr};
  for (int i = 0; i < 7; ++i) k.energy_bits[i] = std::bit_cast<std::uint64_t>(e[i]);
  // dram_per_bit is folded into the model hash so the key stays a flat array of words
  k.model = typeid(Acc).hash_code() * 31 + typeid(Flow).hash_code() * 17 +
            std::hash<std::uint64_t>{}(std::bit_cast<std::uint64_t>(em.dram_per_bit));
  return k;
}

struct mapping_key_hash {
  std::size_t operator()(const mapping_key& k) const {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
    for (std::int64_t v : {k.K, k.O, k.S, k.IC, k.OC, k.B, k.groups, k.N, k.M, k.wbuf, k.ibuf, k.obuf, k.if_width})
      mix(static_cast<std::uint64_t>(v));
    mix(static_cast<std::uint64_t>(k.im2col) | (static_cast<std::uint64_t>(k.iprec) << 8) | (static_cast<std::uint64_t>(k.wprec) << 16));
    mix(k.frequency_bits);
    for (std::uint64_t v : k.energy_bits) mix(v);
    mix(k.model);
    return static_cast<std::size_t>(h);
  }
};

struct cache_options {
  std::size_t capacity = std::size_t{1} << 16;  // entries before the cache clears itself
};

struct cache_stats {
  std::int64_t hits = 0, misses = 0, evictions = 0;
  std::size_t size = 0;
};

inline std::ostream& operator<<(std::ostream& os, const cache_stats& s) {
  return os << "cache_stats{hits=" << s.hits << ", misses=" << s.misses << ", evictions=" << s.evictions << ", size=" << s.size << "}";
}

class mapping_cache {
 public:
  explicit mapping_cache(cache_options opt = {}) : opt_(opt) {
    if (opt_.capacity == 0) opt_.capacity = 1;
  }
  mapping_cache(const mapping_cache&) = delete;
  mapping_cache& operator=(const mapping_cache&) = delete;

  /// The cached result for `key`, renamed to `name`; counts a hit or a miss.
  std::optional<hw::mapping_result> find(const mapping_key& key, const std::string& name) const {
    std::shared_lock lock(mutex_);
    const auto it = map_.find(key);
    if (it == map_.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return renamed(it->second, name);
  }

  /// Stores `r` under `key` (clearing the cache first if it is full).
  void insert(const mapping_key& key, const hw::mapping_result& r) {
    std::unique_lock lock(mutex_);
    if (map_.size() >= opt_.capacity && map_.find(key) == map_.end()) {
      evictions_.fetch_add(static_cast<std::int64_t>(map_.size()), std::memory_order_relaxed);
      map_.clear();
    }
    map_.insert_or_assign(key, r);
  }

  void clear() {
    std::unique_lock lock(mutex_);
    map_.clear();
  }

  cache_stats stats() const {
    std::shared_lock lock(mutex_);
    return {hits_.load(), misses_.load(), evictions_.load(), map_.size()};
  }

  void reset_stats() {
    hits_ = 0;
    misses_ = 0;
    evictions_ = 0;
  }

 private:
  static hw::mapping_result renamed(const hw::mapping_result& r, const std::string& name) {
    if (r.ok()) {
      hw::layer_mapping m = r.value();
      m.name = name;
      return m;
    }
    hw::mapping_error e = r.error();
    e.layer = name;
    return e;
  }

  cache_options opt_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<mapping_key, hw::mapping_result, mapping_key_hash> map_;
  mutable std::atomic<std::int64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace jaq::batchtile
