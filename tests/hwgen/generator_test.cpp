// Tests of jaq/hwgen/generator.hpp: on a space small enough to score every configuration, the
// generator finds the brute-force optimum (fixed seed, fewer samples than configurations).
#include "jaq/hwgen/generator.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "jaq/hw/accel_json.hpp"

namespace hg = jaq::hwgen;
namespace hw = jaq::hw;

namespace {

std::vector<hw::layer> small_net() {
  return {{.name = "stem", .K = 3, .O = 16, .S = 1, .IC = 3, .OC = 16, .B = 1, .im2col = true},
          {.name = "expand", .K = 1, .O = 16, .S = 1, .IC = 16, .OC = 96, .B = 1},
          {.name = "dw", .K = 5, .O = 8, .S = 2, .IC = 96, .OC = 96, .B = 1, .groups = 96},
          {.name = "project", .K = 1, .O = 8, .S = 1, .IC = 96, .OC = 32, .B = 1},
          {.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 32, .OC = 10, .B = 1}};
}

// 4 x 4 x 3 x 3 x 3 x 4 = 1728 configurations.
hg::search_space small_space() {
  return {.N = {4, 8, 16, 32},
          .M = {8, 16, 32, 64},
          .wbuf_bytes = {16384, 32768, 65536},
          .ibuf_bytes = {8192, 16384, 32768},
          .obuf_bytes = {4096, 8192, 16384},
          .if_width = {64, 128, 192, 256}};
}

const hg::objective goal{.lambda_latency = 1.0, .lambda_energy = 1.0, .lambda_area = 0.25,
                         .area_budget_mm2 = 1.5};

}  // namespace

TEST_CASE("the generator finds the brute-force optimum with fewer samples than configurations") {
  jaq::batchtile::mapping_cache cache;
  const hg::cost_evaluator ev(small_net(), goal, &cache);
  const hg::search_space space = small_space();
  const auto bf = hg::brute_force(jaq::tbb_backend{2}, space, ev);
  const hg::config_score& opt = bf.first;
  const hg::choice& opt_choice = bf.second;
  REQUIRE(opt.feasible);
  INFO("brute force: " << opt);
  const hg::generator_options o{.iterations = 40, .batch = 16};
  REQUIRE(o.iterations * o.batch < space.count());
  jaq::rng gen(1);
  std::ostringstream log;
  const hg::generator_result r = hg::generate(jaq::tbb_backend{2}, space, ev, o, gen, &log);
  INFO("generator: " << r);
  CHECK(r.best.feasible);
  CHECK(r.best_choice == opt_choice);
  CHECK(r.best.config == opt.config);
  CHECK(r.best.cost == opt.cost);
  CHECK(r.evaluated == o.iterations * o.batch);
  CHECK(r.history.size() == static_cast<std::size_t>(o.iterations));
  // It learned: the last batches are better on average than the first, and less spread out.
  CHECK(r.history.back().mean_cost < r.history.front().mean_cost);
  CHECK(r.history.back().entropy < r.history.front().entropy);
  CHECK(log.str().find("iter 39") != std::string::npos);
}

TEST_CASE("learning, not luck: the optimum is found for most seeds") {
  // 640 uniform samples of 1728 configurations hit the optimum with probability
  // 1 - (1 - 1/1728)^640 = 0.31, about 3 seeds in 10; the generator must do far better.
  jaq::batchtile::mapping_cache cache;
  const hg::cost_evaluator ev(small_net(), goal, &cache);
  const auto opt = hg::brute_force(jaq::serial_backend{}, small_space(), ev).first;
  int found = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    jaq::rng gen(seed);
    const auto r = hg::generate(jaq::serial_backend{}, small_space(), ev,
                                {.iterations = 40, .batch = 16}, gen);
    found += r.best.cost == opt.cost;
  }
  CHECK(found >= 8);
}

TEST_CASE("same seed, same search; the JSON loads back as the best configuration") {
  const hg::cost_evaluator ev(small_net(), goal);
  const hg::generator_options o{.iterations = 5, .batch = 8};
  jaq::rng a(7), b(7);
  const auto ra = hg::generate(jaq::serial_backend{}, small_space(), ev, o, a);
  const auto rb = hg::generate(jaq::tbb_backend{2}, small_space(), ev, o, b);
  CHECK(ra.best.config == rb.best.config);
  CHECK(ra.best.cost == rb.best.cost);
  CHECK(ra.history.back().mean_cost == rb.history.back().mean_cost);
  REQUIRE(ra.best.feasible);
  const hw::accel_config back = hw::parse_accel_json(ra.accel_json().dump(), "best.json");
  CHECK(back == ra.best.config);
  const auto j = ra.best_json();
  CHECK(j["cost"].get<double>() == ra.best.cost);
  CHECK(j["evaluated"].get<std::int64_t>() == 40);
}

TEST_CASE("infeasible samples are counted and never kept as the best") {
  // A budget only the smallest arrays meet.
  const hg::cost_evaluator ev(small_net(), {.area_budget_mm2 = 0.3});
  jaq::rng gen(3);
  const auto r = hg::generate(jaq::serial_backend{}, small_space(), ev, {.iterations = 6, .batch = 8}, gen);
  CHECK(r.infeasible > 0);
  if (r.best.feasible) CHECK(r.best.area_mm2 <= 0.3);
}

TEST_CASE("malformed options are config_errors") {
  const hg::cost_evaluator ev(small_net(), goal);
  jaq::rng gen(1);
  CHECK_THROWS_AS(hg::generate(jaq::serial_backend{}, small_space(), ev, {.iterations = 0}, gen),
                  jaq::config_error);
  CHECK_THROWS_AS(hg::generate(jaq::serial_backend{}, small_space(), ev, {.batch = 1}, gen),
                  jaq::config_error);
}
