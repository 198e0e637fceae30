// The umbrella header compiles as one translation unit (no clashing names across modules), and
// the two halves of the library meet: a model's conv layers mapped on the accelerator.
#include "jaq/jaq.hpp"

#include <doctest/doctest.h>

TEST_CASE("jaq.hpp brings in every module: the spec's conv maps to 974 cycles on both mappers") {
  const jaq::hw::layer l{.name = "c", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1};
  const auto ref = jaq::hw::map_layer_reference(jaq::hw::reference_config(), l);
  const auto fast = jaq::batchtile::map_layer(jaq::hw::reference_config(), l);
  REQUIRE(ref.ok());
  CHECK(ref.value().total_cycles == 974);
  CHECK(fast == ref);
  jaq::rng g(1);
  jaq::tape<double> tp;
  CHECK(tp.held_bytes() == 0);
  CHECK(g() != jaq::rng(2)());
}
