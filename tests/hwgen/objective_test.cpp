// Tests of jaq/hwgen/objective.hpp: the cost's figures are the reference mapper's sums.
#include "jaq/hwgen/objective.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "jaq/hw/reference_mapper.hpp"

namespace hg = jaq::hwgen;
namespace hw = jaq::hw;

namespace {
std::vector<hw::layer> small_net() {
  return {{.name = "stem", .K = 3, .O = 16, .S = 1, .IC = 3, .OC = 16, .B = 1, .im2col = true},
          {.name = "dw", .K = 3, .O = 16, .S = 1, .IC = 16, .OC = 16, .B = 1, .groups = 16},
          {.name = "pw", .K = 1, .O = 16, .S = 1, .IC = 16, .OC = 64, .B = 1},
          {.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 64, .OC = 10, .B = 1}};
}
}  // namespace

TEST_CASE("the reference configuration costs the sum of the lambdas") {
  hg::cost_evaluator ev(small_net(), {.lambda_latency = 1, .lambda_energy = 2, .lambda_area = 0.5});
  const hw::accel_config ref = hw::reference_config();
  const auto s = ev.score(jaq::serial_backend{}, std::span<const hw::accel_config>(&ref, 1));
  REQUIRE(s[0].feasible);
  CHECK(s[0].cost == doctest::Approx(3.5));
  CHECK(ev.reference().cost == 3.5);
}

TEST_CASE("latency and energy are the reference mapper's per-layer sums, area is hw::area_of") {
  const auto layers = small_net();
  hg::cost_evaluator ev(layers, {});
  const hw::accel_config c{.N = 8, .M = 16, .wbuf_bytes = 32768, .ibuf_bytes = 16384, .obuf_bytes = 8192, .if_width = 128};
  const auto s = ev.score(jaq::tbb_backend{2}, std::span<const hw::accel_config>(&c, 1))[0];
  REQUIRE(s.feasible);
  double lat = 0, en = 0;
  for (const auto& r : hw::map_network_reference(c, layers, hw::make_energy_model(c))) {
    lat += r.value().latency_s;
    en += r.value().energy_nJ;
  }
  CHECK(s.latency_s == lat);
  CHECK(s.energy_nJ == en);
  CHECK(s.area_mm2 == hw::area_of(c).total_mm2);
  const auto& r = ev.reference();
  CHECK(s.cost == doctest::Approx(lat / r.latency_s + en / r.energy_nJ + s.area_mm2 / r.area_mm2));
}

TEST_CASE("repeated layers are mapped once, and the sums are still those of every layer in order") {
  // a stage of repeated blocks: the same dw/pw pair four times, names aside
  std::vector<hw::layer> layers{small_net()[0]};
  for (int b = 0; b < 4; ++b)
    for (std::size_t i : {std::size_t(1), std::size_t(2)}) {
      hw::layer l = small_net()[i];
      l.name += "." + std::to_string(b);
      layers.push_back(l);
    }
  layers.push_back(small_net()[3]);
  hg::cost_evaluator ev(layers, {});
  CHECK(ev.distinct_layers().size() == 4);
  CHECK(ev.layers().size() == 10);
  const std::vector<hw::accel_config> cs{hw::reference_config(),
                                         {.N = 8, .M = 16, .wbuf_bytes = 32768, .ibuf_bytes = 16384, .obuf_bytes = 8192, .if_width = 128}};
  const auto s = ev.score(jaq::tbb_backend{2}, cs);
  for (std::size_t k = 0; k < cs.size(); ++k) {
    REQUIRE(s[k].feasible);
    double lat = 0, en = 0;  // the reference mapper, layer by layer, summed in order
    for (const auto& r : hw::map_network_reference(cs[k], layers, hw::make_energy_model(cs[k]))) {
      lat += r.value().latency_s;
      en += r.value().energy_nJ;
    }
    CHECK(s[k].latency_s == lat);
    CHECK(s[k].energy_nJ == en);
  }
}

TEST_CASE("a configuration repeated in a batch scores as it does alone, infeasible ones too") {
  hg::cost_evaluator ev(small_net(), {.area_budget_mm2 = 1.0});
  const hw::accel_config c{.N = 8, .M = 16, .wbuf_bytes = 32768, .ibuf_bytes = 16384, .obuf_bytes = 8192, .if_width = 128};
  const hw::accel_config big{.N = 64, .M = 128, .wbuf_bytes = 262144, .ibuf_bytes = 131072, .obuf_bytes = 65536, .if_width = 192};
  const std::vector<hw::accel_config> batch{c, big, hw::reference_config(), c, big, c};
  const auto s = ev.score(jaq::tbb_backend{2}, batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto alone = ev.score(jaq::serial_backend{}, std::span<const hw::accel_config>(&batch[i], 1))[0];
    CAPTURE(i);
    CHECK(s[i].config == batch[i]);
    CHECK(s[i].feasible == alone.feasible);
    CHECK(s[i].reason == alone.reason);
    CHECK(s[i].latency_s == alone.latency_s);
    CHECK(s[i].energy_nJ == alone.energy_nJ);
    CHECK(s[i].area_mm2 == alone.area_mm2);
    CHECK((s[i].cost == alone.cost || (std::isinf(s[i].cost) && std::isinf(alone.cost))));
  }
  CHECK_FALSE(s[4].feasible);  // over the budget
}

TEST_CASE("over the area budget, or a layer that fits nowhere: infeasible, with the reason") {
  hg::cost_evaluator ev(small_net(), {.area_budget_mm2 = 1.0});
  const std::vector<hw::accel_config> cs{
      {.N = 64, .M = 128, .wbuf_bytes = 262144, .ibuf_bytes = 131072, .obuf_bytes = 65536, .if_width = 192},  // large
      {.N = 4, .M = 8, .wbuf_bytes = 16, .ibuf_bytes = 16384, .obuf_bytes = 8192, .if_width = 64}};  // WBUF too small for any weight tile
  const auto s = ev.score(jaq::serial_backend{}, cs);
  CHECK_FALSE(s[0].feasible);
  CHECK(s[0].reason.find("budget") != std::string::npos);
  CHECK_FALSE(s[1].feasible);
  CHECK(s[1].reason.find("WBUF") != std::string::npos);
}

TEST_CASE("a malformed objective is a config_error naming the field") {
  CHECK_THROWS_WITH_AS(hg::cost_evaluator(small_net(), {.lambda_energy = -1}), doctest::Contains("lambda_energy"), jaq::config_error);
  CHECK_THROWS_WITH_AS(hg::cost_evaluator(small_net(), {.area_budget_mm2 = 0}), doctest::Contains("area_budget_mm2"), jaq::config_error);
  CHECK_THROWS_AS(hg::cost_evaluator({}, {}), jaq::config_error);
}
