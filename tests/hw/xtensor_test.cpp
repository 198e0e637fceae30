// Tests of jaq/hw/interop/xtensor.hpp: mapping results as xtensor arrays equal the results
// field by field; layer lists from an array equal the same layers written by hand.
#include "jaq/hw/interop/xtensor.hpp"

#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace hw = jaq::hw;

TEST_CASE("mapping results as arrays: every number in its column, views without a copy") {
  const auto cfg = hw::reference_config();
  auto layers = hw::networks::resnet18({.batch = 1, .precision = {4, 4}});
  layers.push_back({.name = "too_big", .K = 64, .O = 1, .S = 1, .IC = 1, .OC = 32, .B = 1});  // its smallest weight tile overflows WBUF
  std::vector<hw::mapping_result> rs;
  std::vector<std::string> names;
  for (const auto& l : layers) {
    rs.push_back(hw::map_layer_reference(cfg, l));
    names.push_back(l.name);
  }
  REQUIRE_FALSE(rs.back().ok());
  const auto a = hw::to_xtensor(rs, names);
  REQUIRE(a.counts.shape()[0] == layers.size());
  std::int64_t cycles = 0;
  double energy = 0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    CHECK(a.ok(i) == rs[i].ok());
    if (!rs[i].ok()) {
      CHECK(a.count("total_cycles")(i) == 0);
      continue;
    }
    const auto& m = rs[i].value();
    CHECK(a.count("total_cycles")(i) == m.total_cycles);
    CHECK(a.count("num_oc")(i) == m.tile.num_oc);
    CHECK(a.count("order_index")(i) == m.order.index());
    CHECK(a.count("obuf_wr_bits")(i) == m.obuf_wr_bits);
    CHECK(a.energy("energy_nJ")(i) == m.energy_nJ);
    CHECK(a.energy("energy_dram_nJ")(i) == m.energy_dram_nJ);
    cycles += m.total_cycles;
    energy += m.energy_nJ;
    if (m.energy_nJ > rs[worst].value().energy_nJ) worst = i;
  }
  CHECK(xt::sum(a.count("total_cycles"))() == cycles);
  CHECK(xt::sum(a.energy("energy_nJ"))() == doctest::Approx(energy).epsilon(1e-12));
  CHECK(std::size_t(xt::argmax(a.energy("energy_nJ"))()) == worst);
  // a view reads the array itself
  CHECK(&a.count("b")(0) == &a.counts(0, 0));
  CHECK_THROWS_WITH_AS(a.count("cycles"), doctest::Contains("no column 'cycles'"), jaq::config_error);
  CHECK_THROWS_AS(hw::to_xtensor(rs, {}), jaq::config_error);
}

TEST_CASE("layers from an xtensor array, checked like the layer CSV") {
  const xt::xtensor<std::int64_t, 2> a = {{3, 56, 1, 64, 64, 1, 0, 8, 8, 1}, {3, 28, 2, 32, 32, 4, 0, 4, 2, 32}};
  const auto ls = hw::layers_from_xtensor(a, "x");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0] == hw::layer{.name = "x0", .K = 3, .O = 56, .S = 1, .IC = 64, .OC = 64, .B = 1});
  CHECK(ls[1] == hw::layer{.name = "x1", .K = 3, .O = 28, .S = 2, .IC = 32, .OC = 32, .B = 4, .iprec = 4, .wprec = 2, .groups = 32});
  CHECK_THROWS_WITH_AS(hw::layers_from_xtensor(xt::xtensor<std::int64_t, 2>{{3, 56, 1, 64, 64, 1, 0, 9, 8, 1}}),
                       doctest::Contains("row 0: iprec: precision must be in 1..8, got 9"), jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::layers_from_xtensor(xt::xtensor<std::int64_t, 2>{{3, 56, 1, 64, 60, 1, 0, 8, 8, 8}}),
                       doctest::Contains("groups: 8 does not divide"), jaq::config_error);
  CHECK_THROWS_AS(hw::layers_from_xtensor(xt::xtensor<std::int64_t, 2>{{3, 56, 1}}), jaq::config_error);
}
