#include "jaq/hw/precision.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace hw = jaq::hw;

// The spec's table: pf = floor(8 / max(ip, 2)) * floor(8 / max(wp, 2)).
static_assert(hw::fusion_factor(8, 8, 8, 2) == 1);   // 1 * 1
static_assert(hw::fusion_factor(4, 4, 8, 2) == 4);   // 2 * 2
static_assert(hw::fusion_factor(2, 2, 8, 2) == 16);  // 4 * 4
static_assert(hw::fusion_factor(4, 2, 8, 2) == 8);   // 2 * 4
static_assert(hw::fusion_factor(8, 2, 8, 2) == 4);   // 1 * 4
static_assert(hw::fusion_factor(1, 1, 8, 2) == 16);  // 1 bit runs as 2: 4 * 4
static_assert(hw::fusion_factor(3, 5, 8, 2) == 2);   // floor(8/3)=2, floor(8/5)=1
static_assert(hw::fusion_factor(6, 7, 8, 2) == 1);   // 1 * 1

// Compile-time widths: 1..8 only (checked through concepts, so a rejection is a false, not an error).
template <int B>
concept bits_ok = requires {
  typename hw::bits<B>;
};
template <int I, int W>
concept fixed_ok = requires {
  typename hw::fixed_precision<I, W>;
};
static_assert(hw::bits<1>::value == 1 && hw::bits<8>::value == 8);
static_assert(bits_ok<1> && bits_ok<8>);
static_assert(!bits_ok<0>);
static_assert(!bits_ok<9>);
static_assert(!bits_ok<-3>);
static_assert(fixed_ok<4, 2> && !fixed_ok<9, 8>);
static_assert(!fixed_ok<8, 0>);
static_assert(hw::precision_pair(hw::fixed_precision<4, 2>{}) == hw::precision_pair{.iprec = 4, .wprec = 2});

TEST_CASE("valid_bits accepts exactly 1..8") {
  for (int b = -2; b <= 12; ++b) CHECK(hw::valid_bits(b) == (b >= 1 && b <= 8));
}

TEST_CASE("a precision pair prints as I/W") {
  std::ostringstream os;
  os << hw::precision_pair{.iprec = 4, .wprec = 2};
  CHECK(os.str() == "4/2");
}
