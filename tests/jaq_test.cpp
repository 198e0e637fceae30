// The umbrella header compiles as one translation unit (no clashing names across modules), and
// the two halves of the library meet: a derived network's layers mapped on the accelerator.
#include "jaq/jaq.hpp"

#include <doctest/doctest.h>

TEST_CASE("jaq.hpp brings in every module: the spec's conv maps to 974 cycles on both mappers") {
  const jaq::hw::layer l{.name = "c", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1};
  const auto ref = jaq::hw::map_layer_reference(jaq::hw::reference_config(), l);
  const auto fast = jaq::batchtile::map_layer(jaq::hw::reference_config(), l);
  REQUIRE(ref.ok());
  CHECK(ref.value().total_cycles == 974);
  CHECK(fast == ref);
}

TEST_CASE("the halves meet: every layer of a derived network maps the same on BatchTile and the reference mapper") {
  const jaq::nas::space_config s{.name = "t", .stage_channels = {16, 24}, .stage_blocks = {1, 2}, .stage_strides = {1, 2}};
  const jaq::nas::derived_arch d{.ops = {"k3_e3", "k5_e1_g2", "skip"}, .bits = {4, 2, 3}};
  const auto layers = jaq::search::network_layers(s, d, 1);
  REQUIRE(layers.size() == 1 + 3 + 2 + 0 + 2);  // stem, k3_e3 (3 convs), k5_e1_g2 (2), identity skip, head, fc
  const auto cfg = jaq::hw::reference_config();
  const auto fast =
      jaq::batchtile::map_layers(jaq::serial_backend{}, cfg, std::span<const jaq::hw::layer>(layers), jaq::hw::make_energy_model(cfg));
  for (std::size_t i = 0; i < layers.size(); ++i) {
    CAPTURE(layers[i].name);
    const auto ref = jaq::hw::map_layer_reference(cfg, layers[i]);
    REQUIRE(ref.ok());
    CHECK(fast[i] == ref);
  }
}
