#include "jaq/quant/bit_set.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <type_traits>

#include "jaq/quant/grid.hpp"

using namespace jaq::quant;
using candidates = bit_set<2, 3, 4, 8>;

static_assert(candidates::size == 4);
static_assert(candidates::contains(3) && !candidates::contains(5) && !candidates::contains(9));
static_assert(candidates::index_of(8) == 3 && candidates::index_of(1) == -1);

template <int... W>
concept valid_set = requires {
  bit_set<W...>::size;
};
static_assert(valid_set<2, 3, 4, 8>);
static_assert(!valid_set<0, 2>, "width 0 is rejected");
static_assert(!valid_set<2, 9>, "width 9 is rejected");
static_assert(!valid_set<4, 2>, "widths must be strictly increasing");
static_assert(!valid_set<2, 2>, "duplicates are rejected");
static_assert(!valid_set<>, "an empty set is rejected");

TEST_CASE("dispatch calls the instantiation for the run-time width, with the width as a constant") {
  for (int b : candidates::widths) {
    const int q_p = candidates::dispatch(b, "t", [](auto bits) {
      static_assert(std::is_same_v<decltype(bits()), int>);
      return signed_grid<bits()>::q_p;  // a compile-time use of the width
    });
    CHECK(q_p == (1 << (b - 1)) - 1);
  }
  int seen = 0;
  candidates::dispatch(4, "t", [&](auto bits) { seen = bits(); });
  CHECK(seen == 4);
}

TEST_CASE("dispatch rejects a width outside the set naming the layer and the value") {
  CHECK_THROWS_WITH_AS(candidates::dispatch(9, "blocks.1.conv", [](auto b) { return b(); }),
                       "blocks.1.conv: bits: unsupported bit-width 9 (supported: 2,3,4,8)", jaq::config_error);
  CHECK_THROWS_WITH_AS(candidates::check(0, "fc"), "fc: bits: unsupported bit-width 0 (supported: 2,3,4,8)", jaq::config_error);
  CHECK_THROWS_AS(candidates::check(5, "fc"), jaq::config_error);
}

TEST_CASE("bit_set prints its widths") {
  std::ostringstream os;
  os << candidates{};
  CHECK(os.str() == "{2,3,4,8}");
  CHECK(all_bits::to_string() == "1,2,3,4,5,6,7,8");
}
