// tests/search/toy_data.hpp: a small learnable image set for search tests: class c lights up
// quadrant c of an 8x8 image, with noise.
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
        const int q = (y / 4) * 2 + x / 4;
        d.images.push_back(float((q == c ? 1.0 : 0.0) + 0.3 * r.normal()));
      }
  }
  return d;
}
