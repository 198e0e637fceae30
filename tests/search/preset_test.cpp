#include "jaq/search/preset.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace js = jaq::search;

TEST_CASE("the shipped presets parse, with their quick and long variants") {
  for (const char* name : {"fmnist", "cifar10", "imagenet"}) {
    CAPTURE(name);
    const std::string path = std::string("examples/presets/") + name + ".json";
    const js::preset p = js::read_preset(path);
    CHECK(p.name == name);
    CHECK(p.space.name == name);
    CHECK(p.space.ops.size() == 9);
    CHECK(p.space.bits == std::vector<int>{2, 3, 4});
    const js::preset q = js::read_preset(path, js::variant::quick);
    CHECK(q.search.epochs <= p.search.epochs);
  }
  const js::preset c = js::read_preset("examples/presets/cifar10.json");
  CHECK(c.space.blocks().size() == 22);
  CHECK(c.space.stage_channels == std::vector<std::int64_t>{16, 24, 32, 64, 112, 184, 352});
  CHECK(c.space.stage_strides == std::vector<std::int64_t>{1, 1, 2, 2, 1, 2, 1});
  CHECK(c.space.head_channels == 1504);
  const js::preset i = js::read_preset("examples/presets/imagenet.json");
  CHECK(i.space.stage_strides == std::vector<std::int64_t>{1, 2, 2, 2, 1, 2, 1});
  CHECK(i.space.head_channels == 1984);
  const js::preset f = js::read_preset("examples/presets/fmnist.json", js::variant::long_run);
  CHECK(f.search.epochs > js::read_preset("examples/presets/fmnist.json").search.epochs);
}

TEST_CASE("a malformed preset names the file and the field") {
  auto bad = [](const std::string& text, const char* want) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(js::parse_preset(nlohmann::json::parse(text), "p.json"), doctest::Contains(want), jaq::config_error);
  };
  bad(R"({"space": {}})", "name");
  bad(R"({"name": "x", "space": {"stage_chanels": [8]}})", "stage_chanels");
  bad(R"({"name": "x", "space": {"stage_channels": "many"}})", "stage_channels");
  bad(R"({"name": "x", "space": {"stage_channels": [8, -2], "stage_blocks": [1, 1], "stage_strides": [1, 1]}})", "stage_channels[1]");
  bad(R"({"name": "x", "space": {"ops": ["k3_e1", "k2_e1"]}})", "k2_e1");
  bad(R"({"name": "x", "space": {"bits": [2, 9]}})", "bits[1]");
  bad(R"({"name": "x", "search": {"lambda_energy": -1}})", "lambda_energy");
  bad(R"({"name": "x", "search": {"tau": {"initial": 0}}})", "tau.initial");
  bad(R"({"name": "x", "search": {"tau": {"decy": 0.9}}})", "decy");
  bad(R"({"name": "x", "retrain": {"epochs": 0}})", "retrain_epochs");
  bad(R"({"name": "x", "retrain": {"epoch_test_images": -1}})", "retrain.epoch_test_images");
  bad(R"({"name": "x", "retrain": {"augment_pad": -2}})", "retrain.augment_pad");
  bad(R"({"name": "x", "retrain": {"epochs": 4, "fp_epochs": 4}})", "retrain.fp_epochs");
  bad(R"({"name": "x", "retrain": {"fp_epochs": -1}})", "retrain.fp_epochs");
  CHECK(js::parse_preset(nlohmann::json::parse(R"({"name": "x", "retrain": {"epochs": 4, "fp_epochs": 1}})"), "p.json").retrain.fp_epochs ==
        1);
  bad(R"({"name": "x", "retrain": {"augment_flip": "yes"}})", "augment_flip");
  const auto aug =
      js::parse_preset(nlohmann::json::parse(R"({"name": "x", "retrain": {"augment_pad": 2, "augment_flip": true}})"), "p.json");
  CHECK(aug.retrain.augment.pad == 2);
  CHECK(aug.retrain.augment.horizontal_flip);
  CHECK(js::parse_preset(nlohmann::json::parse(R"({"name": "x"})"), "p.json").retrain.augment.active() == false);
  bad(R"({"name": "x", "dataset": "mnist"})", "dataset");
  bad(R"({"name": "x", "search": {"mode": "joined"}})", "search: mode");
  bad(R"({"name": "x", "search": {"mode": 3}})", "mode");
  bad(R"({"name": "x", "search": {"mode": "sequential", "uniform_bits": 9}})", "uniform_bits");
  const auto seq =
      js::parse_preset(nlohmann::json::parse(R"({"name": "x", "search": {"mode": "sequential", "lambda_flops": 0.5}})"), "p.json");
  CHECK(seq.search.mode == js::search_mode::sequential);
  CHECK(seq.search.lambda_flops == 0.5);
  CHECK(seq.search.uniform_bits == 4);
  // a variant is checked when it is chosen
  const auto j = nlohmann::json::parse(R"({"name": "x", "quick": {"search": {"epochs": 0}}})");
  CHECK_NOTHROW(js::parse_preset(j, "p.json"));
  CHECK_THROWS_WITH_AS(js::parse_preset(j, "p.json", js::variant::quick), doctest::Contains("epochs"), jaq::config_error);
  CHECK_THROWS_WITH_AS(js::read_preset("no/such/preset.json"), doctest::Contains("no/such/preset.json"), jaq::error);
}

TEST_CASE("derived.json round-trips and is checked against the space") {
  const js::preset p = js::read_preset("examples/presets/fmnist.json");
  const jaq::nas::derived_arch d{.ops = {"k3_e3", "skip", "k5_e6", "k3_e1_g2", "skip", "k5_e1"}, .bits = {2, 3, 4, 2, 3, 4}};
  const auto path = std::filesystem::temp_directory_path() / "jaq_preset_test_derived.json";
  jaq::report::write_json(path, js::to_json(p.space, d));
  CHECK(js::read_derived_arch(path, p.space) == d);
  jaq::nas::derived_arch apart = d;  // weights and activations at widths of their own
  apart.act_bits = {4, 4, 2, 3, 3, 2};
  jaq::report::write_json(path, js::to_json(p.space, apart));
  CHECK(js::read_derived_arch(path, p.space) == apart);
  auto j = js::to_json(p.space, apart);
  j["blocks"][3].erase("act_bits");
  jaq::report::write_json(path, j);
  CHECK_THROWS_WITH_AS(js::read_derived_arch(path, p.space), doctest::Contains("blocks[3]: act_bits"), jaq::config_error);
  j["blocks"][3]["act_bits"] = 9;
  jaq::report::write_json(path, j);
  CHECK_THROWS_WITH_AS(js::read_derived_arch(path, p.space), doctest::Contains("blocks[3].act_bits"), jaq::config_error);
  jaq::report::write_json(path, js::to_json(p.space, d));
  jaq::nas::space_config other = p.space;
  other.stage_blocks = {1, 1, 1, 1};
  CHECK_THROWS_WITH_AS(js::read_derived_arch(path, other), doctest::Contains("blocks"), jaq::config_error);
  std::filesystem::remove(path);
}
