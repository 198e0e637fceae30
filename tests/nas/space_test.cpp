#include "jaq/nas/space.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace jaq::nas;

TEST_CASE("parse_op reads the nine candidates and refuses anything else, naming the operator") {
  for (const auto& n : default_op_names()) CHECK(parse_op(n).name == n);
  const op_spec g = parse_op("k5_e1_g2");
  CHECK(g.kernel == 5);
  CHECK(g.expansion == 1);
  CHECK(g.groups == 2);
  CHECK(parse_op("skip").skip);
  for (const char* bad : {"k4_e1", "k3", "k3_e3_g2", "k3_e1_g3", "conv", "", "k3_e0"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_op(bad, "fmnist.json: ops[1]"), doctest::Contains("fmnist.json: ops[1]"), jaq::config_error);
  }
}

TEST_CASE("blocks follow the stages: first block of a stage has its stride, sizes round up") {
  space_config s{
      .image_size = 28, .stem_channels = 8, .stage_channels = {8, 16, 24}, .stage_blocks = {1, 2, 1}, .stage_strides = {1, 2, 2}};
  const auto b = s.blocks();
  REQUIRE(b.size() == 4);
  CHECK(b[0].in_channels == 8);
  CHECK(b[1].stride == 2);
  CHECK(b[1].out_size == 14);
  CHECK(b[2].stride == 1);
  CHECK(b[2].in_channels == 16);
  CHECK(b[3].out_size == 7);
  CHECK(b[3].out_channels == 24);
  s.validate("test");
}

TEST_CASE("validate names the field of a malformed space") {
  auto bad = [](auto change, const char* field) {
    space_config s;
    change(s);
    CAPTURE(field);
    CHECK_THROWS_WITH_AS(s.validate("p.json"), doctest::Contains(field), jaq::config_error);
  };
  bad([](space_config& s) { s.stage_channels[1] = -4; }, "stage_channels[1]");
  bad([](space_config& s) { s.stage_blocks = {1}; }, "stage_blocks");
  bad([](space_config& s) { s.stage_strides[0] = 3; }, "stage_strides[0]");
  bad([](space_config& s) { s.bits = {2, 9}; }, "bits[1]");
  bad([](space_config& s) { s.bits = {4, 4}; }, "bits[1]");
  bad([](space_config& s) { s.ops = {"k3_e1", "k9_e2"}; }, "ops[1]");
  bad([](space_config& s) { s.ops = {"skip", "skip"}; }, "ops[1]");
  bad([](space_config& s) { s.stem_channels = 0; }, "stem_channels");
  bad([](space_config& s) { s.stage_channels = {15, 24, 32}; }, "divisible by 2");
  bad([](space_config& s) { s.classes = 1; }, "classes");
}

TEST_CASE("a derived architecture must have one valid entry per block") {
  const space_config s{.stage_channels = {8}, .stage_blocks = {2}, .stage_strides = {1}};
  derived_arch{.ops = {"k3_e1", "skip"}, .bits = {2, 4}}.validate(s, "d.json");
  CHECK_THROWS_WITH_AS((derived_arch{.ops = {"k3_e1"}, .bits = {2}}.validate(s, "d.json")), doctest::Contains("2 blocks"),
                       jaq::config_error);
  CHECK_THROWS_WITH_AS((derived_arch{.ops = {"k3_e1", "nope"}, .bits = {2, 2}}.validate(s, "d.json")), doctest::Contains("nope"),
                       jaq::config_error);
  CHECK_THROWS_WITH_AS((derived_arch{.ops = {"k3_e1", "skip"}, .bits = {2, 9}}.validate(s, "d.json")), doctest::Contains("blocks[1].bits"),
                       jaq::config_error);
}
