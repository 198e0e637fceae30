#include "jaq/search/joint_search.hpp"

#include <doctest/doctest.h>
#include <algorithm>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "jaq/autograd/gradcheck.hpp"
#include "jaq/batchtile/map_layers.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/search/bridge.hpp"
#include "jaq/search/cost_table.hpp"
#include "jaq/search/expected_cost.hpp"
#include "jaq/search/retrain.hpp"
#include "tests/search/toy_data.hpp"

namespace js = jaq::search;
using jaq::nas::space_config;

namespace {

space_config two_blocks() {
  return {.name = "toy2",
          .in_channels = 1,
          .image_size = 8,
          .classes = 3,
          .stem_channels = 4,
          .stage_channels = {4, 8},
          .stage_blocks = {1, 1},
          .stage_strides = {1, 2},
          .head_channels = 16};
}

js::search_settings quick_settings() {
  js::search_settings s;
  s.warmup_epochs = 1;
  s.epochs = 2;
  s.batch = 32;
  s.lr = 0.05;
  s.arch_lr = 0.01;
  s.csq_percent = 50;
  s.hw_every = 2;
  s.hwgen_iterations = 5;
  s.final_hwgen_iterations = 10;
  s.eval_images = 64;
  s.report_every = 1000;
  s.threads = 2;
  return s;
}

// Latency (s) and energy (nJ) of `layers` mapped one by one by BatchTile on `cfg`, summed in order.
std::pair<double, double> mapped_sum(const jaq::hw::accel_config& cfg, const std::vector<jaq::hw::layer>& layers) {
  const auto r =
      jaq::batchtile::map_layers(jaq::serial_backend{}, cfg, std::span<const jaq::hw::layer>(layers), jaq::hw::make_energy_model(cfg));
  double lat = 0, en = 0;
  for (const auto& m : r) {
    lat += m.value().latency_s;
    en += m.value().energy_nJ;
  }
  return {lat, en};
}

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("jaq_search_test_" + name);
  std::filesystem::remove_all(d);
  return d;
}

}  // namespace

TEST_CASE("bridge: an operator's layers carry its shapes and width; the network runs stem, blocks, head, fc") {
  const space_config s = two_blocks();
  const auto blocks = s.blocks();
  const auto l = js::op_layers(blocks[1], jaq::nas::parse_op("k5_e3"), 3, 1);
  REQUIRE(l.size() == 3);
  CHECK(l[0].name == "blocks.1.k5_e3.expand");
  CHECK(l[0].OC == 12);
  CHECK(l[0].O == 8);
  CHECK(l[1].K == 5);
  CHECK(l[1].S == 2);
  CHECK(l[1].O == 4);
  CHECK(l[1].groups == 12);
  CHECK(l[2].IC == 12);
  CHECK(l[2].OC == 8);
  for (const auto& x : l) CHECK((x.iprec == 3 && x.wprec == 3));
  CHECK(js::op_layers(blocks[0], jaq::nas::parse_op("skip"), 2, 1).empty());  // identity
  const auto net = js::network_layers(s, {.ops = {"skip", "k3_e1_g2"}, .bits = {2, 4}}, 1);
  REQUIRE(net.size() == 5);  // stem, depthwise, project, head, fc
  CHECK(net.front().im2col);
  CHECK(net.front().iprec == 8);
  CHECK(net[2].groups == 2);
  CHECK(net.back().name == "fc");
  const double bits = js::mac_weighted_bits(net);
  CHECK(bits > 4);
  CHECK(bits < 8);
}

TEST_CASE("cost table: every entry is the sum of its layers' BatchTile mappings, the identity costs nothing") {
  const space_config s = two_blocks();
  const auto cfg = jaq::hw::reference_config();
  const js::cost_table t = js::build_cost_table(jaq::serial_backend{}, s, cfg, 1);
  REQUIRE(t.feasible);
  CHECK(t.latency_s.shape()[0] == 2);
  CHECK(t.latency_s.shape()[1] == 9);
  CHECK(t.latency_s.shape()[2] == 3);
  CHECK(t.distinct < t.layers);
  const auto blocks = s.blocks();
  const auto ops = s.op_specs();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t o = 0; o < ops.size(); ++o)
      for (std::size_t w = 0; w < 3; ++w) {
        const auto ls = js::op_layers(blocks[b], ops[o], s.bits[w], 1);
        const auto [lat, en] = mapped_sum(cfg, ls);
        CAPTURE(ops[o].name);
        CHECK(t.latency_s(b, o, w) == lat);
        CHECK(t.energy_nJ(b, o, w) == en);
      }
  CHECK(t.latency_s(0, 8, 0) == 0.0);  // block 0's skip keeps the shape
  CHECK(t.latency_s(1, 8, 0) > 0.0);   // block 1's skip is a strided 1x1 conv
  // the network cost of a derived architecture adds its entries and the fixed layers
  const auto [lat, en] = t.network_cost(s, {.ops = {"k3_e6", "skip"}, .bits = {4, 2}});
  CHECK(lat == doctest::Approx(t.fixed_latency_s + t.latency_s(0, 3, 2) + t.latency_s(1, 8, 0)));
  CHECK(en == doctest::Approx(t.fixed_energy_nJ + t.energy_nJ(0, 3, 2) + t.energy_nJ(1, 8, 0)));
}

TEST_CASE("expected_cost: finite differences through alpha and beta") {
  jaq::rng r(4);
  const std::size_t nb = 2, no = 3, nw = 2;
  xt::xtensor<double, 3> c = xt::zeros<double>({nb, no, nw});
  for (auto& v : c) v = r.uniform(0.1, 2.0);
  std::vector<jaq::tensor<double>> in;
  for (std::size_t k = 0; k < nb; ++k) {
    jaq::tensor<double> a(jaq::shape{std::int64_t(no)});
    for (auto& v : a) v = r.normal();
    in.push_back(std::move(a));
  }
  for (std::size_t k = 0; k < nb * no; ++k) {
    jaq::tensor<double> b(jaq::shape{std::int64_t(nw)});
    for (auto& v : b) v = r.normal();
    in.push_back(std::move(b));
  }
  auto res = jaq::gradcheck(
      [&](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) {
        std::vector<jaq::var<double>> a(v.begin(), v.begin() + nb), b(v.begin() + nb, v.end());
        return js::expected_cost(tp, a, b, c);
      },
      in);
  CHECK_MESSAGE(res.ok, res);
  // uniform logits: the plain mean of the table per block
  jaq::tape<double> tp;
  std::vector<jaq::var<double>> a, b;
  for (std::size_t k = 0; k < nb; ++k) a.push_back(tp.constant(jaq::tensor<double>::zeros(jaq::shape{std::int64_t(no)})));
  for (std::size_t k = 0; k < nb * no; ++k) b.push_back(tp.constant(jaq::tensor<double>::zeros(jaq::shape{std::int64_t(nw)})));
  CHECK(js::expected_cost(tp, a, b, c).value()[0] == doctest::Approx(xt::sum(c)() / double(no * nw)));
}

TEST_CASE("expected_cost without betas: an operator-only table, finite differences through alpha") {
  jaq::rng r(6);
  const std::size_t nb = 3, no = 4;
  xt::xtensor<double, 3> m = xt::zeros<double>({nb, no, std::size_t(1)});
  for (auto& v : m) v = r.uniform(0.0, 3.0);
  std::vector<jaq::tensor<double>> in;
  for (std::size_t k = 0; k < nb; ++k) {
    jaq::tensor<double> a(jaq::shape{std::int64_t(no)});
    for (auto& v : a) v = r.normal();
    in.push_back(std::move(a));
  }
  auto res = jaq::gradcheck(
      [&](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) {
        return js::expected_cost(tp, std::vector<jaq::var<double>>(v.begin(), v.end()), {}, m);
      },
      in);
  CHECK_MESSAGE(res.ok, res);
  // the value: sum over blocks of softmax(alpha_b) . m[b, :, 0], computed here by hand
  jaq::tape<double> tp;
  std::vector<jaq::var<double>> a;
  double want = 0;
  for (std::size_t k = 0; k < nb; ++k) {
    a.push_back(tp.constant(in[k].clone()));
    double z = 0, e = 0;
    for (std::size_t o = 0; o < no; ++o) z += std::exp(in[k][std::int64_t(o)]);
    for (std::size_t o = 0; o < no; ++o) e += std::exp(in[k][std::int64_t(o)]) / z * m(k, o, 0);
    want += e;
  }
  CHECK(js::expected_cost(tp, a, {}, m).value()[0] == doctest::Approx(want).epsilon(1e-12));
  xt::xtensor<double, 3> wide = xt::zeros<double>({nb, no, std::size_t(2)});
  CHECK_THROWS_AS(js::expected_cost(tp, a, {}, wide), jaq::model_error);
}

TEST_CASE("expected_cost with separate weight and activation widths: finite differences, and the pair sum by hand") {
  jaq::rng r(8);
  const std::size_t nb = 2, no = 2, nw = 3;
  xt::xtensor<double, 3> c = xt::zeros<double>({nb, no, nw * nw});
  for (auto& v : c) v = r.uniform(0.1, 2.0);
  std::vector<jaq::tensor<double>> in;
  auto logits = [&](std::size_t n) {
    jaq::tensor<double> a(jaq::shape{std::int64_t(n)});
    for (auto& v : a) v = r.normal();
    return a;
  };
  for (std::size_t k = 0; k < nb; ++k) in.push_back(logits(no));
  for (std::size_t k = 0; k < 2 * nb * no; ++k) in.push_back(logits(nw));  // betas, then betas_act
  auto res = jaq::gradcheck(
      [&](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) {
        std::vector<jaq::var<double>> a(v.begin(), v.begin() + nb), b(v.begin() + nb, v.begin() + nb + nb * no),
            ba(v.begin() + nb + nb * no, v.end());
        return js::expected_cost(tp, a, b, c, ba);
      },
      in);
  CHECK_MESSAGE(res.ok, res);
  auto softmax = [](const jaq::tensor<double>& z) {
    std::vector<double> p(std::size_t(z.size()));
    double s = 0;
    for (std::int64_t i = 0; i < z.size(); ++i) s += std::exp(z[i]);
    for (std::int64_t i = 0; i < z.size(); ++i) p[std::size_t(i)] = std::exp(z[i]) / s;
    return p;
  };
  double want = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    const auto p = softmax(in[b]);
    for (std::size_t o = 0; o < no; ++o) {
      const auto qw = softmax(in[nb + b * no + o]), qa = softmax(in[nb + nb * no + b * no + o]);
      for (std::size_t i = 0; i < nw; ++i)
        for (std::size_t j = 0; j < nw; ++j) want += p[o] * qw[i] * qa[j] * c(b, o, i * nw + j);
    }
  }
  jaq::tape<double> tp;
  std::vector<jaq::var<double>> a, b, ba;
  for (std::size_t k = 0; k < nb; ++k) a.push_back(tp.constant(in[k].clone()));
  for (std::size_t k = 0; k < nb * no; ++k) b.push_back(tp.constant(in[nb + k].clone()));
  for (std::size_t k = 0; k < nb * no; ++k) ba.push_back(tp.constant(in[nb + nb * no + k].clone()));
  CHECK(js::expected_cost(tp, a, b, c, ba).value()[0] == doctest::Approx(want).epsilon(1e-12));
  CHECK_THROWS_AS(js::expected_cost(tp, a, b, c), jaq::model_error);  // 9 columns, 3 widths
}

TEST_CASE("cost table with separate_wa: entry (b, o, i * |bits| + j) is weights at bits[i], activations at bits[j]") {
  space_config s = two_blocks();
  s.separate_wa = true;
  const auto cfg = jaq::hw::reference_config();
  const js::cost_table t = js::build_cost_table(jaq::serial_backend{}, s, cfg, 1);
  REQUIRE(t.feasible);
  REQUIRE(t.latency_s.shape()[2] == 9);
  const auto blocks = s.blocks();
  const auto ops = s.op_specs();
  for (std::size_t o : {std::size_t(2), std::size_t(5), std::size_t(8)})
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 3; ++j) {
        const auto ls = js::op_layers(blocks[1], ops[o], s.bits[i], 1, s.bits[j]);
        for (const auto& l : ls) {
          CHECK(l.wprec == s.bits[i]);
          CHECK(l.iprec == s.bits[j]);
        }
        const auto [lat, en] = mapped_sum(cfg, ls);
        CAPTURE(ops[o].name);
        CHECK(t.latency_s(1, o, i * 3 + j) == lat);
        CHECK(t.energy_nJ(1, o, i * 3 + j) == en);
      }
  // 2-bit weights with 4-bit activations differ from 4-bit weights with 2-bit activations
  CHECK(t.latency_s(1, 2, 0 * 3 + 2) != t.latency_s(1, 2, 2 * 3 + 0));
  const jaq::nas::derived_arch d{.ops = {"k3_e6", "skip"}, .bits = {4, 2}, .act_bits = {3, 4}};
  const auto [lat, en] = t.network_cost(s, d);
  CHECK(lat == doctest::Approx(t.fixed_latency_s + t.latency_s(0, 3, 2 * 3 + 1) + t.latency_s(1, 8, 0 * 3 + 2)));
  CHECK(en == doctest::Approx(t.fixed_energy_nJ + t.energy_nJ(0, 3, 2 * 3 + 1) + t.energy_nJ(1, 8, 0 * 3 + 2)));
  const auto net = js::network_layers(s, d, 1);
  CHECK(net[1].wprec == 4);  // block 0's expand
  CHECK(net[1].iprec == 3);
}

TEST_CASE("mac_table: each entry is the MACs of the operator's layers; the identity has none") {
  const space_config s = two_blocks();
  const auto m = js::mac_table(s);
  REQUIRE(m.shape()[0] == 2);
  REQUIRE(m.shape()[1] == 9);
  REQUIRE(m.shape()[2] == 1);
  CHECK(m(0, 8, 0) == 0);  // block 0 keeps its shape (4 -> 4, stride 1): identity
  // block 1, k3_e1: depthwise 3x3 over 4 channels at 4x4 output, then project 4 -> 8
  CHECK(m(1, 0, 0) == 4 * 16 * 9 + 16 * 8 * 4);
  // block 1, skip: a 1x1 conv 4 -> 8 at stride 2 (4x4 output)
  CHECK(m(1, 8, 0) == 16 * 8 * 4);
}

TEST_CASE("settings: bad values are errors naming the field") {
  auto bad = [](auto change, const char* field) {
    js::search_settings s;
    change(s);
    CAPTURE(field);
    CHECK_THROWS_WITH_AS(s.validate("p.json"), doctest::Contains(field), jaq::config_error);
  };
  bad([](js::search_settings& s) { s.lambdas.lambda_energy = -1; }, "lambda_energy");
  bad([](js::search_settings& s) { s.lambdas = {0, 0, 0}; }, "all zero");
  bad([](js::search_settings& s) { s.area_budget_mm2 = -1; }, "area_budget_mm2");
  bad([](js::search_settings& s) { s.epochs = 0; }, "epochs");
  bad([](js::search_settings& s) { s.csq_percent = 120; }, "csq");
  bad(
      [](js::search_settings& s) {
        s.latency_budget_ms = 1;
        s.lambdas.lambda_latency = 0;
      },
      "lambda_latency");
  bad(
      [](js::search_settings& s) {
        s.mode = js::search_mode::sequential;
        s.uniform_bits = 9;
      },
      "uniform_bits");
  bad(
      [](js::search_settings& s) {
        s.mode = js::search_mode::sequential;
        s.latency_budget_ms = 1;
      },
      "latency_budget_ms");
  CHECK_THROWS_WITH_AS(js::parse_mode("joined", "p.json"), doctest::Contains("mode"), jaq::config_error);
  auto s = quick_settings();
  s.mode = js::search_mode::sequential;
  s.uniform_bits = 8;  // valid, but not one of the space's widths {2, 3, 4}
  CHECK_THROWS_WITH_AS(js::joint_search(two_blocks(), s, nullptr), doctest::Contains("uniform_bits"), jaq::config_error);
}

TEST_CASE("an area budget no accelerator of the space meets is a clear error") {
  auto s = quick_settings();
  s.area_budget_mm2 = 1e-3;
  js::joint_search j(two_blocks(), s, nullptr);
  CHECK_THROWS_WITH_AS(j.final_hardware(), doctest::Contains("area budget"), jaq::config_error);
}

TEST_CASE("a tiny joint search runs end to end; the hardware side runs without data") {
  const auto data = toy_images(1024, 1);
  js::joint_search j(two_blocks(), quick_settings(), &data);
  std::ostringstream log;
  while (!j.finished()) j.run_epoch(&log);
  j.final_hardware(&log);
  REQUIRE(j.history().size() == 3);
  CHECK(j.history()[0].phase == "warm-up");
  CHECK(j.history()[2].phase == "search");
  CHECK(j.history()[2].latency_ms > 0);
  double best = 0;  // the derived path, its BatchNorm statistics re-estimated: well above chance (1/3)
  for (const auto& r : j.history()) best = std::max(best, r.val_accuracy);
  CHECK(best > 0.6);
  j.derived().validate(j.space(), "test");
  const auto [layers, maps] = j.mapping();
  double lat = 0;
  for (const auto& m : maps) lat += m.value().latency_s;
  CHECK(lat == doctest::Approx(j.derived_cost().first));
  CHECK(j.seconds_hw() > 0);
  js::joint_search hw_only(two_blocks(), quick_settings(), nullptr);
  CHECK(hw_only.finished());
  hw_only.final_hardware();
  CHECK(hw_only.hwgen_iterations() == 15);
}

TEST_CASE("sequential: a full-precision operator search with a FLOPs term, uniform widths, then the hardware alone") {
  const auto data = toy_images(1024, 1);
  auto s = quick_settings();
  s.mode = js::search_mode::sequential;
  s.lambda_flops = 0;  // the loss alone steers the operators here
  s.warmup_epochs = 4;
  s.epochs = 4;
  s.eval_images = 256;
  js::joint_search j(two_blocks(), s, &data);
  CHECK(j.net().full_precision());
  while (!j.finished()) j.run_epoch();
  CHECK(j.hwgen_iterations() == 0);  // no hardware during the search
  CHECK(j.accel() == jaq::hw::reference_config());
  double best = 0;
  for (const auto& r : j.history()) best = std::max(best, r.val_accuracy);
  CAPTURE(j.derived());
  CHECK(best > 0.8);
  CHECK(j.derived().bits == std::vector<int>{4, 4});
  j.final_hardware();
  CHECK(j.hwgen_iterations() == s.final_hwgen_iterations);
  const auto [layers, maps] = j.mapping();
  for (std::size_t i = 1; i + 2 < layers.size(); ++i) {
    CHECK(layers[i].wprec == 4);
    CHECK(layers[i].iprec == 4);
  }
  // a FLOPs weight that dominates the loss drives every block to its cheapest operator (skip)
  s.lambda_flops = 50;
  s.arch_lr = 0.05;
  js::joint_search cheap(two_blocks(), s, &data);
  while (!cheap.finished()) cheap.run_epoch();
  CHECK(cheap.derived().ops == std::vector<std::string>{"skip", "skip"});
  CHECK(cheap.history().back().hw_cost > 0);  // the FLOPs term of the last architecture step
}

TEST_CASE("a tiny joint search with separate weight and activation widths derives both, and costs them apart") {
  const auto data = toy_images(512, 3);
  space_config s = two_blocks();
  s.separate_wa = true;
  js::joint_search j(s, quick_settings(), &data);
  CHECK(j.net().arch_parameters().size() == 2 + 2 * 2 * 9);
  CHECK(j.table().latency_s.shape()[2] == 9);
  while (!j.finished()) j.run_epoch();
  j.final_hardware();
  const auto d = j.derived();
  REQUIRE(d.act_bits.size() == 2);
  // the architecture steps moved beta_act of the chosen operators off their initial 1e-3
  int moved = 0;
  for (int b = 0; b < 2; ++b)
    for (int o = 0; o < 9; ++o)
      for (std::int64_t w = 0; w < 3; ++w) moved += j.net().beta_act(b, o).value[w] != 1e-3f;
  CHECK(moved > 0);
  const auto [layers, maps] = j.mapping();
  double lat = 0;
  for (const auto& m : maps) lat += m.value().latency_s;
  CHECK(lat == doctest::Approx(j.derived_cost().first));
  CHECK(layers.back().iprec == 8);  // fc: fixed
}

TEST_CASE("a NaN weight stops the search with an error naming the epoch, the step and the parameter") {
  const auto data = toy_images(256, 4);
  js::joint_search j(two_blocks(), quick_settings(), &data);
  auto ps = j.net().weight_parameters();
  REQUIRE(!ps.empty());
  jaq::parameter<float>& stem = *ps.front();
  stem.value[0] = std::nanf("");
  const std::string want = "search diverged at epoch 1 step 1: parameter " + stem.name;
  CHECK_THROWS_WITH_AS(j.run_epoch(), doctest::Contains(want.c_str()), jaq::model_error);
}

TEST_CASE("resume in the sequential mode and with separate_wa: a resumed run finishes as an uninterrupted one") {
  const auto data = toy_images(256, 5);
  const nlohmann::json id{{"preset", "toy2"}, {"seed", 1}};
  auto check = [&](const space_config& sp, const js::search_settings& st, const std::string& name) {
    CAPTURE(name);
    js::joint_search whole(sp, st, &data);
    while (!whole.finished()) whole.run_epoch();
    whole.final_hardware();
    const auto dir = temp_dir("resume_" + name);
    {
      js::joint_search first(sp, st, &data);
      first.run_epoch();
      first.run_epoch();
      first.save(dir, id);
    }
    js::joint_search resumed(sp, st, &data);
    resumed.load(dir, id);
    while (!resumed.finished()) resumed.run_epoch();
    resumed.final_hardware();
    CHECK(resumed.derived() == whole.derived());
    CHECK(resumed.accel() == whole.accel());
    REQUIRE(resumed.history().size() == whole.history().size());
    for (std::size_t e = 0; e < whole.history().size(); ++e) {
      CHECK(resumed.history()[e].train_loss == whole.history()[e].train_loss);
      CHECK(resumed.history()[e].op_probs == whole.history()[e].op_probs);
      CHECK(resumed.history()[e].width_probs == whole.history()[e].width_probs);
    }
    std::filesystem::remove_all(dir);
  };
  auto seq = quick_settings();
  seq.mode = js::search_mode::sequential;
  check(two_blocks(), seq, "sequential");
  space_config apart = two_blocks();
  apart.separate_wa = true;
  check(apart, quick_settings(), "separate_wa");
}

TEST_CASE("resume: save after an epoch, load into a fresh search, and finish as an uninterrupted run does") {
  const auto data = toy_images(256, 2);
  const nlohmann::json id{{"preset", "toy2"}, {"seed", 1}};
  js::joint_search whole(two_blocks(), quick_settings(), &data);
  while (!whole.finished()) whole.run_epoch();

  const auto dir = temp_dir("resume");
  {
    js::joint_search first(two_blocks(), quick_settings(), &data);
    first.run_epoch();
    first.run_epoch();
    first.save(dir, id);
  }  // "killed"
  js::joint_search resumed(two_blocks(), quick_settings(), &data);
  resumed.load(dir, id);
  CHECK(resumed.epochs_done() == 2);
  while (!resumed.finished()) resumed.run_epoch();
  CHECK(resumed.derived() == whole.derived());
  CHECK(resumed.accel() == whole.accel());
  REQUIRE(resumed.history().size() == whole.history().size());
  for (std::size_t e = 0; e < whole.history().size(); ++e) {
    CHECK(resumed.history()[e].train_loss == whole.history()[e].train_loss);
    CHECK(resumed.history()[e].val_accuracy == whole.history()[e].val_accuracy);
    CHECK(resumed.history()[e].op_probs == whole.history()[e].op_probs);
  }
  for (int b = 0; b < 2; ++b)
    for (std::int64_t o = 0; o < 9; ++o) CHECK(resumed.net().alpha(b).value[o] == whole.net().alpha(b).value[o]);

  // only the newest checkpoint's files remain
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) files += f.is_regular_file();
  CHECK(files == 3);
  // errors: another run's checkpoint, a missing one, a corrupt one
  js::joint_search other(two_blocks(), quick_settings(), &data);
  CHECK_THROWS_WITH_AS(other.load(dir, {{"preset", "cifar10"}, {"seed", 1}}), doctest::Contains("another run"), jaq::data_error);
  CHECK_THROWS_WITH_AS(other.load(temp_dir("missing"), id), doctest::Contains("nothing to resume"), jaq::data_error);
  for (const auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().filename().string().rfind("net-", 0) == 0) {
      std::ofstream(f.path(), std::ios::binary | std::ios::in | std::ios::out).write("garbage", 7);
    }
  CHECK_THROWS_AS(other.load(dir, id), jaq::data_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("retrain: the derived network learns; augmentation reaches its batches; a padding as large as the image is refused") {
  const auto train = toy_images(384, 3), test = toy_images(96, 4);
  jaq::nas::derived_arch d{.ops = {"k3_e1", "skip"}, .bits = {4, 4}};
  js::retrain_settings s{.epochs = 8, .batch = 32, .lr = 0.05, .threads = 2, .report_every = 1000};
  const auto plain = js::retrain(two_blocks(), d, train, test, s);
  CHECK(plain.test_accuracy > 0.6);  // chance is 1/3
  s.augment = {.pad = 1, .horizontal_flip = true, .fill = {0.0f}};
  const auto shifted = js::retrain(two_blocks(), d, train, test, s);
  CHECK(shifted.test_accuracy > 0.6);  // stripes and checkerboards survive a one-pixel shift and a mirror
  CHECK(shifted.log[0].train_loss != plain.log[0].train_loss);
  s.augment.pad = 8;
  CHECK_THROWS_WITH_AS(js::retrain(two_blocks(), d, train, test, s), doctest::Contains("retrain.augment_pad"), jaq::config_error);
  s.augment.pad = -1;
  CHECK_THROWS_WITH_AS(js::retrain(two_blocks(), d, train, test, s), doctest::Contains("retrain.augment_pad"), jaq::config_error);
}

TEST_CASE("retrain: full-precision epochs first, then LSQ from the trained network; fp_epochs must leave a quantized epoch") {
  const auto train = toy_images(384, 3), test = toy_images(96, 4);
  jaq::nas::derived_arch d{.ops = {"k3_e1", "skip"}, .bits = {4, 4}};
  js::retrain_settings s{.epochs = 8, .batch = 32, .lr = 0.05, .threads = 2, .report_every = 1000};
  const auto plain = js::retrain(two_blocks(), d, train, test, s);
  s.fp_epochs = 3;
  const auto warm = js::retrain(two_blocks(), d, train, test, s);
  CHECK(warm.test_accuracy > 0.6);  // chance is 1/3
  REQUIRE(warm.quant);              // the result is the quantized network
  CHECK(warm.quant->layers().size() == plain.quant->layers().size());
  for (const auto& l : warm.quant->layers()) CHECK(l.initialized);
  CHECK(warm.log[0].train_loss != plain.log[0].train_loss);  // the first epochs ran unquantized
  s.fp_epochs = 8;
  CHECK_THROWS_WITH_AS(js::retrain(two_blocks(), d, train, test, s), doctest::Contains("retrain.fp_epochs"), jaq::config_error);
}
