// Tests of jaq/batchtile/build_candidates.hpp: the SoA batch holds exactly the reference's fitting
// candidates with their figures, and its lower bound never exceeds a real total.
#include "jaq/batchtile/build_candidates.hpp"

#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>

#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/energy_model.hpp"
#include "tests/batchtile/random_cases.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

TEST_CASE("the batch is the reference's fitting candidates, each once, with its nest position") {
  jaq::rng g(5);
  bt::candidate_batch cb;
  for (int it = 0; it < 80; ++it) {
    const hw::accel_config cfg = bt::testing::random_config(g);
    const hw::layer l = hw::group_layer(bt::testing::random_layer(g, it));
    const hw::energy_model em = hw::make_energy_model(cfg);
    const hw::layer_params p = hw::make_params(cfg, l);
    const auto visited = bt::build_candidates<hw::proxy_stationary>(p, em, cb);
    const auto cands = hw::tiling_candidates(p);
    CHECK(visited == static_cast<std::int64_t>(cands.size()));
    std::size_t fitting = 0;
    for (const auto& t : cands) fitting += hw::fits(p, hw::tile_bits(p, t));
    REQUIRE(cb.size() == fitting);
    CHECK(cb.padded() % bt::kernel_pad == 0);
    std::set<std::int32_t> seen;
    for (std::size_t i = 0; i < cb.size(); ++i) {
      const hw::tiling& t = cb.tiles[i];
      CHECK(t == cands[static_cast<std::size_t>(cb.nest[i])]);
      CHECK(seen.insert(cb.nest[i]).second);
      const hw::tile_footprint f = hw::tile_bits(p, t);
      CHECK(cb.w_tile[i] == static_cast<double>(f.w));
      CHECK(cb.a_tile[i] == static_cast<double>(f.a));
      CHECK(cb.o_tile[i] == static_cast<double>(f.o));
      CHECK(cb.compute_i[i] == hw::compute_cycles(p, t));
      CHECK(cb.cnt[bt::detail::loop_oc][i] == static_cast<double>(t.num_oc));
      if (i > 0 && cb.key[i] == cb.key[i - 1]) CHECK(cb.lower[i - 1] <= cb.lower[i]);
      if (i > 0) CHECK(cb.key[i - 1] <= cb.key[i]);
    }
  }
}

TEST_CASE("the lower bound is at most the total cycles under every order") {
  jaq::rng g(9);
  bt::candidate_batch cb;
  int tight = 0;
  for (int it = 0; it < 40; ++it) {
    const hw::accel_config cfg = bt::testing::random_config(g);
    const hw::layer l = hw::group_layer(bt::testing::random_layer(g, it));
    const hw::layer_params p = hw::make_params(cfg, l);
    bt::build_candidates<hw::proxy_stationary>(p, hw::make_energy_model(cfg), cb);
    for (std::size_t i = 0; i < cb.size(); i += 3)
      for (int o = 0; o < 120; o += 7) {
        const auto c = hw::evaluate(p, cb.tiles[i], hw::loop_order::from_index(o));
        CHECK(cb.lower[i] <= c.total_cycles);
        tight += cb.lower[i] == c.total_cycles;
      }
  }
  CHECK(tight > 0);  // the bound is attained (not vacuous)
}

TEST_CASE("a layer whose walk could pass 2^52 is flagged inexact") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::layer big{.name = "big", .K = 3, .O = 1024, .S = 1, .IC = 1024, .OC = 1024, .B = 1};
  bt::candidate_batch cb;
  bt::build_candidates<hw::proxy_stationary>(hw::make_params(cfg, big), hw::make_energy_model(cfg), cb);
  CHECK(cb.size() > 0);
  CHECK_FALSE(cb.exact);
  const hw::layer small{.name = "small", .K = 3, .O = 56, .S = 1, .IC = 64, .OC = 64, .B = 1};
  bt::build_candidates<hw::proxy_stationary>(hw::make_params(cfg, small), hw::make_energy_model(cfg), cb);
  CHECK(cb.exact);
  std::ostringstream os;
  os << cb;
  CHECK(os.str().find("candidate_batch{" + std::to_string(cb.size()) + " candidates") == 0);
}
