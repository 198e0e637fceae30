// A consumer of jaq's CMake package: maps ResNet-18 (batch 1, 8-bit) on one fixed BitFusion
// accelerator, a compile-time configuration, with BatchTile and prints every layer's mapping in
// //examples:map's CSV format.
#include <iostream>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer_csv.hpp"
#include "jaq/hw/networks.hpp"

int main() {
  // The accelerator this product ships, fixed at compile time: a 16 x 32 fused-PE array,
  // 64 / 32 / 16 KiB buffers, a 256-bit DRAM interface. The mapping search sees its sizes as
  // constants; a run-time jaq::hw::accel_config with the same fields gives the same mappings.
  using accel_type = jaq::hw::fixed_accel_config<16, 32, 65536, 32768, 16384, 256>;
  constexpr accel_type accel{};
  const std::vector<jaq::hw::layer> layers = jaq::hw::networks::resnet18({.batch = 1});
  const auto results =
      jaq::batchtile::map_layers(jaq::tbb_backend{2}, accel, std::span<const jaq::hw::layer>(layers), jaq::hw::make_energy_model(accel));
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  jaq::hw::write_mapping_csv(std::cout, results, names);
  return 0;
}
