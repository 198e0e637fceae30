// tests/search/toy_data.hpp: a small learnable image set for search tests, with noise: class 0
// is horizontal stripes, 1 vertical stripes, 2 a checkerboard, 3 a flat image (patterns a
// convolutional network with global average pooling can tell apart wherever they sit; a lit
// quadrant, the earlier toy, it cannot).
#pragma once

#include <cstdint>

#include "jaq/core/rng.hpp"
#include "jaq/data/dataset.hpp"

inline jaq::data::dataset toy_images(std::int64_t n, std::uint64_t seed, int classes = 3) {
  jaq::data::dataset d{.name = "toy", .shape = {.channels = 1, .height = 8, .width = 8}, .num_classes = classes};
  jaq::rng r(seed);
  for (std::int64_t i = 0; i < n; ++i) {
    const int c = int(i % classes);
    d.labels.push_back(c);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        const int on = c == 0 ? y % 2 : c == 1 ? x % 2 : c == 2 ? (x + y) % 2 : 0;
        d.images.push_back(float(on + 0.3 * r.normal()));
      }
  }
  return d;
}
