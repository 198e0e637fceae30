// A consumer of jaq's CMake package: maps ResNet-18 (batch 1, 8-bit) on one fixed BitFusion
// accelerator with BatchTile and prints every layer's mapping in //examples:map's CSV format.
#include <iostream>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer_csv.hpp"
#include "jaq/hw/networks.hpp"

int main() {
  // the accelerator this product ships: 16 x 32 fused-PE array, 64 / 32 / 16 KiB buffers
  const jaq::hw::accel_config accel{.N = 16, .M = 32, .wbuf_bytes = 65536, .ibuf_bytes = 32768, .obuf_bytes = 16384, .if_width = 256};
  const std::vector<jaq::hw::layer> layers = jaq::hw::networks::resnet18({.batch = 1});
  const auto results = jaq::batchtile::map_layers(jaq::tbb_backend{2}, accel, std::span<const jaq::hw::layer>(layers),
                                                  jaq::hw::make_energy_model(accel));
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  jaq::hw::write_mapping_csv(std::cout, results, names);
  return 0;
}
