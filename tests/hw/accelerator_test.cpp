#include "jaq/hw/accelerator.hpp"

#include <doctest/doctest.h>

namespace hw = jaq::hw;

static_assert(hw::accelerator<hw::bitfusion<>>);
static_assert(hw::accelerator<hw::bitfusion<16, 4>>);
static_assert(hw::traits<hw::bitfusion<>>::pmax == 8 && hw::traits<hw::bitfusion<>>::pmin == 2);

// Not hardware tags: plain types, a tag without traits.
struct not_a_tag {};
static_assert(!hw::accelerator<int>);
static_assert(!hw::accelerator<not_a_tag>);
// Invalid templates: not powers of two, min above max, above 16 bits.
template <int PMax, int PMin>
concept bitfusion_ok = requires {
  typename hw::bitfusion<PMax, PMin>;
};
static_assert(bitfusion_ok<8, 2> && bitfusion_ok<16, 1>);
static_assert(!bitfusion_ok<6, 2>);
static_assert(!bitfusion_ok<8, 3>);
static_assert(!bitfusion_ok<2, 4>);
static_assert(!bitfusion_ok<32, 2>);

TEST_CASE("the default BitFusion fuses 2-bit bricks up to 8 bits") {
  using tr = hw::traits<hw::bitfusion<>>;
  CHECK(tr::fusion(8, 8) == 1);
  CHECK(tr::fusion(4, 4) == 4);
  CHECK(tr::fusion(2, 2) == 16);
  CHECK(tr::fusion(4, 2) == 8);
  CHECK(tr::fusion(8, 2) == 4);
}

TEST_CASE("a 16-bit array with 4-bit bricks has its own fusion factors") {
  using tr = hw::traits<hw::bitfusion<16, 4>>;
  CHECK(tr::fusion(16, 16) == 1);
  CHECK(tr::fusion(2, 2) == 16);  // 2 bits run as 4: floor(16/4)^2
  CHECK(tr::fusion(8, 4) == 8);
}
