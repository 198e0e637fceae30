// Tests of jaq/batchtile/map_layers.hpp: the parallel drivers give the per-layer answers in input
// order for every backend and thread count, and surface errors deterministically.
#include "jaq/batchtile/map_layers.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "jaq/hw/reference_mapper.hpp"
#include "tests/batchtile/random_cases.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

// The CUDA scorer lives in kernels/ (kernels/batchtile.hpp fills the device seam): without that
// header, asking for it is a compile-time error, not a silent fallback.
template <class B>
concept can_map_on = requires(B b, const hw::accel_config& c, std::span<const hw::layer> l, const hw::energy_model& em) {
  bt::map_layers(b, c, l, em);
};
static_assert(can_map_on<jaq::serial_backend>);
static_assert(can_map_on<jaq::tbb_backend>);
static_assert(!can_map_on<jaq::cuda_backend>, "the CUDA scorer needs kernels/batchtile.hpp");

TEST_CASE("serial, one-thread and two-thread TBB runs equal the reference, in input order") {
  jaq::rng g(21);
  const hw::accel_config cfg = bt::testing::random_config(g);
  std::vector<hw::layer> layers;
  for (int i = 0; i < 40; ++i) layers.push_back(bt::testing::random_layer(g, i));
  const hw::energy_model em = hw::make_energy_model(cfg);
  const auto ref = hw::map_network_reference(cfg, layers, em);
  bt::map_stats s1, s2;
  const auto serial = bt::map_layers(jaq::serial_backend{}, cfg, layers, em, nullptr, &s1);
  const auto one = bt::map_layers(jaq::tbb_backend{1}, cfg, layers, em);
  const auto two = bt::map_layers(jaq::tbb_backend{2}, cfg, layers, em, nullptr, &s2);
  CHECK(serial == ref);
  CHECK(one == ref);
  CHECK(two == ref);
  CHECK(s1.layers == 40);
  CHECK(s1.pairs_scored == s2.pairs_scored);  // same work whatever the split
}

TEST_CASE("map_grid equals map_layers per configuration") {
  jaq::rng g(22);
  std::vector<hw::accel_config> cfgs;
  for (int i = 0; i < 4; ++i) cfgs.push_back(bt::testing::random_config(g));
  std::vector<hw::layer> layers;
  for (int i = 0; i < 10; ++i) layers.push_back(bt::testing::random_layer(g, i));
  const auto grid = bt::map_grid(jaq::tbb_backend{2}, cfgs, layers);
  REQUIRE(grid.size() == cfgs.size());
  for (std::size_t c = 0; c < cfgs.size(); ++c)
    CHECK(grid[c] == hw::map_network_reference(cfgs[c], layers, hw::make_energy_model(cfgs[c])));
}

TEST_CASE("the first failing layer's error is rethrown after the others ran") {
  const hw::accel_config cfg = hw::reference_config();
  std::vector<hw::layer> layers(6, hw::layer{.name = "ok", .K = 3, .O = 8, .S = 1, .IC = 16, .OC = 32, .B = 1});
  layers[2].name = "bad2";
  layers[2].iprec = 0;
  layers[4].name = "bad4";
  layers[4].OC = -1;
  try {
    bt::map_layers(jaq::tbb_backend{2}, cfg, layers, hw::make_energy_model(cfg));
    FAIL("expected a config_error");
  } catch (const jaq::config_error& e) {
    CHECK(std::string(e.what()).find("bad2") != std::string::npos);
  }
}
