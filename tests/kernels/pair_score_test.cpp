// Tests of the CUDA BatchTile kernel's logic on the CPU: the per-thread body and the reduction's
// tie rule (kernels/detail/pair_score.hpp) run on the host through the same host-side driver the
// device path uses (kernels/batchtile.hpp, map_items), and must give what BatchTile gives, field
// for field, errors included. On a GPU machine tests/kernels/gpu_test.cpp checks the device
// against the same references.
#include "kernels/detail/pair_score.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"
#include "kernels/batchtile.hpp"
#include "tests/batchtile/random_cases.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;
namespace kd = jaq::cuda::detail;

namespace {

template <class Flow>
std::vector<hw::mapping_result> twin_layers(const hw::accel_config& cfg, std::span<const hw::layer> layers, bt::map_stats* st = nullptr,
                                            bt::mapping_cache* cache = nullptr) {
  const hw::energy_model em = hw::make_energy_model(cfg);
  std::vector<kd::map_item> items;
  for (const hw::layer& l : layers) items.push_back({0, &l});
  return kd::map_items<hw::bitfusion<>, Flow, hw::accel_config>(kd::on_host_twin<Flow>(), std::span<const hw::accel_config>(&cfg, 1),
                                                                std::span<const hw::energy_model>(&em, 1), items, cache, st);
}

template <class Flow>
void check_random_layers(std::uint64_t seed) {
  jaq::rng g(seed);
  for (int c = 0; c < 6; ++c) {
    const hw::accel_config cfg = bt::testing::random_config(g);
    std::vector<hw::layer> layers;
    for (int i = 0; i < 25; ++i) layers.push_back(bt::testing::random_layer(g, i));
    const hw::energy_model em = hw::make_energy_model(cfg);
    bt::map_stats s_cpu, s_twin;
    const auto cpu =
        bt::map_layers<hw::bitfusion<>, Flow>(jaq::serial_backend{}, cfg, std::span<const hw::layer>(layers), em, nullptr, &s_cpu);
    const auto twin = twin_layers<Flow>(cfg, layers, &s_twin);
    REQUIRE(twin.size() == cpu.size());
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      CAPTURE(cfg);
      CAPTURE(layers[i]);
      CHECK(twin[i] == cpu[i]);
    }
    // The twin scores every fitting pair: its candidate count is BatchTile's.
    CHECK(s_twin.candidates == s_cpu.candidates);
    CHECK(s_twin.pairs_exhaustive == s_cpu.pairs_exhaustive);
    CHECK(s_twin.layers == s_cpu.layers);
  }
}

}  // namespace

TEST_CASE("the kernel body equals the cost model pair by pair, in the documented pair numbering") {
  jaq::rng g(5);
  for (int n = 0; n < 30; ++n) {
    const hw::accel_config cfg = bt::testing::random_config(g);
    hw::layer l = bt::testing::random_layer(g, n);
    l.iprec = l.wprec = 4;
    const auto p = hw::make_params(cfg, hw::group_layer(l));
    const kd::map_job j = kd::make_job(p, hw::make_energy_model(cfg));
    const std::vector<hw::tiling> all = hw::tiling_candidates(p);
    REQUIRE(j.tilings() == static_cast<std::int64_t>(all.size()));
    for (int k = 0; k < 40; ++k) {
      const auto nest = static_cast<std::int64_t>(g.below(all.size()));
      const int order = static_cast<int>(g.below(120));
      const kd::pair_key key = kd::score_pair<hw::proxy_stationary>(j, nest * 120 + order);
      const hw::tiling& t = all[static_cast<std::size_t>(nest)];
      CHECK(kd::tiling_at(j, nest) == t);
      if (!hw::fits(p, hw::tile_bits(p, t))) {
        CHECK(key.none());
        continue;
      }
      const auto c = hw::evaluate(p, t, hw::loop_order::from_index(order));
      CHECK(key.cycles == c.total_cycles);
      CHECK(key.energy == hw::energy_of(c, j.em).total);
      CHECK(key.order == order);
      CHECK(key.nest == nest);
    }
  }
}

TEST_CASE("the tie rule is the lexicographic order of (cycles, energy, order, nest), none last") {
  const kd::pair_key none{};
  const kd::pair_key a{10, 2.0, 5, 7};
  CHECK(kd::before(a, none));
  CHECK_FALSE(kd::before(none, a));
  CHECK(kd::before(kd::pair_key{9, 9.0, 119, 100}, a));   // fewer cycles wins
  CHECK(kd::before(kd::pair_key{10, 1.5, 119, 100}, a));  // then lower energy
  CHECK(kd::before(kd::pair_key{10, 2.0, 4, 100}, a));    // then the earlier order
  CHECK(kd::before(kd::pair_key{10, 2.0, 5, 6}, a));      // then the earlier tiling
  CHECK_FALSE(kd::before(a, a));
}

TEST_CASE("host twin == BatchTile on random layers and configurations, every dataflow") {
  check_random_layers<hw::proxy_stationary>(11);
  check_random_layers<hw::input_stationary>(12);
  check_random_layers<hw::output_stationary>(13);
  check_random_layers<hw::weight_stationary>(14);
}

TEST_CASE("host twin == BatchTile on ResNet-18 rows, with the cache, and errors in input order") {
  const hw::accel_config cfg = hw::reference_config();
  const auto net = hw::networks::resnet18({.batch = 1, .precision = {.iprec = 4, .wprec = 4}});
  std::vector<hw::layer> layers(net.begin(), net.end());
  bt::mapping_cache cache;
  const auto cpu = bt::map_layers(jaq::serial_backend{}, cfg, std::span<const hw::layer>(layers), hw::make_energy_model(cfg));
  CHECK(twin_layers<hw::proxy_stationary>(cfg, layers, nullptr, &cache) == cpu);
  CHECK(twin_layers<hw::proxy_stationary>(cfg, layers, nullptr, &cache) == cpu);  // all hits now

  // A layer no tiling fits is a mapping_error value; a malformed layer throws, the first in order.
  hw::accel_config tiny = cfg;
  tiny.ibuf_bytes = 1024;  // half: 4096 bits, less than one 33x33 8-bit input window
  hw::layer huge = layers[0];
  huge.name = "huge";
  huge.K = 33;
  huge.O = 1;
  huge.im2col = false;
  huge.iprec = 8;
  std::vector<hw::layer> mixed = {layers[1], huge};
  const auto cpu_mixed = bt::map_layers(jaq::serial_backend{}, tiny, std::span<const hw::layer>(mixed), hw::make_energy_model(tiny));
  CHECK_FALSE(cpu_mixed[1].ok());
  CHECK(twin_layers<hw::proxy_stationary>(tiny, mixed) == cpu_mixed);

  hw::layer bad = layers[2];
  bad.name = "bad";
  bad.IC = 0;
  hw::layer wide = layers[3];
  wide.name = "wide";
  wide.iprec = 16;
  std::vector<hw::layer> failing = {layers[1], wide, bad};
  std::string cpu_what, twin_what;
  try {
    (void)bt::map_layers(jaq::serial_backend{}, cfg, std::span<const hw::layer>(failing), hw::make_energy_model(cfg));
  } catch (const jaq::error& e) {
    cpu_what = e.what();
  }
  try {
    (void)twin_layers<hw::proxy_stationary>(cfg, failing);
  } catch (const jaq::error& e) {
    twin_what = e.what();
  }
  CHECK_FALSE(cpu_what.empty());
  CHECK(twin_what == cpu_what);
}
