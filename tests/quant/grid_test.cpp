#include "jaq/quant/grid.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <type_traits>

using namespace jaq::quant;

static_assert(signed_grid<2>::q_n == 2 && signed_grid<2>::q_p == 1);
static_assert(signed_grid<8>::q_n == 128 && signed_grid<8>::q_p == 127);
static_assert(unsigned_grid<2>::q_n == 0 && unsigned_grid<2>::q_p == 3);
static_assert(unsigned_grid<8>::q_p == 255);
static_assert(std::is_same_v<signed_grid<4>::storage, std::int8_t>);
static_assert(std::is_same_v<unsigned_grid<4>::storage, std::uint8_t>);
static_assert(grid<signed_grid<1>> && grid<unsigned_grid<8>>);
static_assert(!grid<int>);

template <int B>
concept signed_grid_exists = requires {
  signed_grid<B>::q_p;
};
template <int B>
concept unsigned_grid_exists = requires {
  unsigned_grid<B>::q_p;
};
static_assert(!signed_grid_exists<0> && !signed_grid_exists<9>, "bit-widths outside 1..8 are rejected");
static_assert(!unsigned_grid_exists<0> && !unsigned_grid_exists<9>);
static_assert(signed_grid_exists<1> && unsigned_grid_exists<8>);

TEST_CASE("qrange::of agrees with the compile-time grids") {
  CHECK(qrange::of(4, true, "t") == qrange::of<signed_grid<4>>());
  CHECK(qrange::of(3, false, "t") == qrange::of<unsigned_grid<3>>());
  CHECK(qrange::of(8, true, "t").q_n == 128);
}

TEST_CASE("qrange::of rejects bit-widths 0 and 9 naming the layer and the value") {
  CHECK_THROWS_WITH_AS(qrange::of(9, true, "conv2.weight"), "conv2.weight: bits: unsupported bit-width 9 (must be 1..8)",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(qrange::of(0, false, "conv1.input"), "conv1.input: bits: unsupported bit-width 0 (must be 1..8)", jaq::config_error);
}

TEST_CASE("qrange prints its grid") {
  std::ostringstream os;
  os << qrange::of(4, true, "t") << " " << qrange::of(2, false, "t");
  CHECK(os.str() == "int4[-8..7] uint2[0..3]");
}
