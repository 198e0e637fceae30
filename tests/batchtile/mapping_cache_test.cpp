// Tests of jaq/batchtile/mapping_cache.hpp: hits return the stored mapping under the asking
// layer's name, keys separate everything a mapping depends on, capacity bounds it, and
// concurrent use from TBB gives the uncached answers.
#include "jaq/batchtile/mapping_cache.hpp"

#include <doctest/doctest.h>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

namespace {
const hw::layer conv{.name = "a", .K = 3, .O = 14, .S = 1, .IC = 64, .OC = 64, .B = 1};
}

TEST_CASE("a hit returns the stored mapping under the asking layer's name") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  bt::mapping_cache cache;
  hw::layer twin = conv;
  twin.name = "b";
  const std::vector<hw::layer> layers{conv, twin};
  const auto r = bt::map_layers(jaq::serial_backend{}, cfg, layers, em, &cache);
  CHECK(cache.stats().misses == 1);
  CHECK(cache.stats().hits == 1);
  CHECK(cache.stats().size == 1);
  REQUIRE(r[1].ok());
  CHECK(r[1].value().name == "b");
  CHECK(r[1] == hw::map_layer_reference(cfg, twin, em));
}

TEST_CASE("precision, shape, configuration and energy model all separate keys") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  using acc = hw::bitfusion<>;
  using flow = hw::proxy_stationary;
  const bt::mapping_key k = bt::make_mapping_key<acc, flow>(cfg, conv, em);
  hw::layer l2 = conv;
  l2.name = "other";
  CHECK(bt::make_mapping_key<acc, flow>(cfg, l2, em) == k);  // the name is not in the key
  l2.wprec = 4;
  CHECK_FALSE(bt::make_mapping_key<acc, flow>(cfg, l2, em) == k);
  hw::layer l3 = conv;
  l3.S = 2;
  CHECK_FALSE(bt::make_mapping_key<acc, flow>(cfg, l3, em) == k);
  hw::accel_config c2 = cfg;
  c2.if_width = 128;
  CHECK_FALSE(bt::make_mapping_key<acc, flow>(c2, conv, em) == k);
  hw::energy_model em2 = em;
  em2.obuf_wr *= 2;
  CHECK_FALSE(bt::make_mapping_key<acc, flow>(cfg, conv, em2) == k);
  CHECK_FALSE(bt::make_mapping_key<acc, hw::weight_stationary>(cfg, conv, em) == k);
}

TEST_CASE("a full cache clears itself and counts the evictions; clear() empties it") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  bt::mapping_cache cache({.capacity = 3});
  std::vector<hw::layer> layers;
  for (int oc = 1; oc <= 5; ++oc) {
    hw::layer l = conv;
    l.OC = 32 * oc;
    layers.push_back(l);
  }
  bt::map_layers(jaq::serial_backend{}, cfg, layers, em, &cache);
  CHECK(cache.stats().size <= 3);
  CHECK(cache.stats().evictions == 3);
  CHECK(cache.stats().misses == 5);
  cache.clear();
  CHECK(cache.stats().size == 0);
}

TEST_CASE("shared by two TBB threads, the cache gives the uncached answers") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  std::vector<hw::layer> layers;
  for (int rep = 0; rep < 8; ++rep)
    for (int ic : {16, 32, 64}) {
      hw::layer l = conv;
      l.IC = ic;
      l.name = "l" + std::to_string(rep) + "_" + std::to_string(ic);
      layers.push_back(l);
    }
  bt::mapping_cache cache;
  const auto cached = bt::map_layers(jaq::tbb_backend{2}, cfg, layers, em, &cache);
  const auto plain = bt::map_layers(jaq::serial_backend{}, cfg, layers, em);
  CHECK(cached == plain);
  const auto s = cache.stats();
  CHECK(s.hits + s.misses == 24);
  CHECK(s.size == 3);
}
