#include "jaq/hw/tiling.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace hw = jaq::hw;

TEST_CASE("the tile count is the product of the five loop counts") {
  const hw::tiling t{.b = 1, .num_b = 2, .ow = 4, .num_ow = 3, .oh = 4, .num_oh = 3, .ic = 8, .num_ic = 5, .oc = 32, .num_oc = 7};
  CHECK(t.tiles() == 2 * 3 * 3 * 5 * 7);
}

TEST_CASE("a tiling prints tile x count per loop") {
  std::ostringstream os;
  os << hw::tiling{.b = 1, .num_b = 1, .ow = 4, .num_ow = 2, .oh = 4, .num_oh = 2, .ic = 1, .num_ic = 1, .oc = 8, .num_oc = 1};
  CHECK(os.str() == "tiling{b=1x1, ow=4x2, oh=4x2, ic=1x1, oc=8x1}");
}
