// tests/batchtile/random_cases.hpp: random layers and configurations for the property tests.
#pragma once

#include <cstdint>
#include <string>

#include "jaq/core/rng.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/layer.hpp"

namespace jaq::batchtile::testing {

inline std::int64_t pick(rng& g, std::int64_t lo, std::int64_t hi) {  // [lo, hi]
  return lo + static_cast<std::int64_t>(g.below(static_cast<std::uint64_t>(hi - lo + 1)));
}

/// A configuration with power-of-two arrays, buffers from 1 KiB to 128 KiB (not always powers
/// of two: those interpolate the CACTI table) and an odd or even DRAM width.
inline hw::accel_config random_config(rng& g) {
  hw::accel_config c;
  c.N = std::int64_t{1} << pick(g, 0, 5);
  c.M = std::int64_t{1} << pick(g, 0, 6);
  auto buf = [&] {
    const std::int64_t kib = std::int64_t{1} << pick(g, 0, 7);
    return g.below(4) == 0 ? kib * 1024 * 3 / 2 : kib * 1024;
  };
  c.wbuf_bytes = buf();
  c.ibuf_bytes = buf();
  c.obuf_bytes = buf();
  c.if_width = g.below(2) ? std::int64_t{8} << pick(g, 0, 6) : pick(g, 1, 400);
  return c;
}

/// A conv or fc layer, sometimes im2col, sometimes grouped, any precisions in 1..8.
inline hw::layer random_layer(rng& g, int id) {
  hw::layer l;
  l.name = "rand" + std::to_string(id);
  l.K = pick(g, 1, 7);
  l.O = g.below(8) == 0 ? 1 : pick(g, 1, 60);
  l.S = pick(g, 1, 3);
  l.IC = pick(g, 1, 300);
  l.OC = pick(g, 1, 300);
  l.B = g.below(2) ? 1 : pick(g, 1, 20);
  l.im2col = g.below(4) == 0;
  l.iprec = static_cast<int>(pick(g, 1, 8));
  l.wprec = static_cast<int>(pick(g, 1, 8));
  if (g.below(6) == 0) {  // grouped: a divisor of both channel counts
    const std::int64_t groups = pick(g, 2, 8);
    l.IC = (l.IC + groups - 1) / groups * groups;
    l.OC = (l.OC + groups - 1) / groups * groups;
    l.groups = groups;
  }
  return l;
}

}  // namespace jaq::batchtile::testing
