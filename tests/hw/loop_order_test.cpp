#include "jaq/hw/loop_order.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <set>

namespace hw = jaq::hw;

static_assert(hw::loop_order::from_index(0).index() == 0);
static_assert(hw::loop_order::from_index(119).index() == 119);
static_assert(hw::loop_order::from_index(57).is_permutation());

TEST_CASE("orders are numbered as itertools.permutations yields them") {
  CHECK(hw::loop_order::from_index(0).to_string() == "B>OW>OH>IC>OC");
  CHECK(hw::loop_order::from_index(1).to_string() == "B>OW>OH>OC>IC");
  CHECK(hw::loop_order::from_index(2).to_string() == "B>OW>IC>OH>OC");
  CHECK(hw::loop_order::from_index(23).to_string() == "B>OC>IC>OH>OW");
  CHECK(hw::loop_order::from_index(24).to_string() == "OW>B>OH>IC>OC");
  CHECK(hw::loop_order::from_index(119).to_string() == "OC>IC>OH>OW>B");
}

TEST_CASE("index order is lexicographic over loop positions, like std::next_permutation") {
  std::array<int, 5> perm{0, 1, 2, 3, 4};
  int i = 0;
  do {
    const hw::loop_order o = hw::loop_order::from_index(i);
    for (int p = 0; p < 5; ++p) CHECK(static_cast<int>(o[p]) == perm[p]);
    CHECK(o.index() == i);
    ++i;
  } while (std::next_permutation(perm.begin(), perm.end()));
  CHECK(i == hw::num_loop_orders);
}

TEST_CASE("the 120 orders are distinct permutations and parse back") {
  std::set<std::string> seen;
  for (int i = 0; i < hw::num_loop_orders; ++i) {
    const hw::loop_order o = hw::loop_order::from_index(i);
    CHECK(o.is_permutation());
    seen.insert(o.to_string());
    const auto back = hw::loop_order::parse(o.to_string());
    REQUIRE(back.has_value());
    CHECK(*back == o);
  }
  CHECK(seen.size() == 120);
}

TEST_CASE("parse rejects anything but the five loops once each") {
  CHECK_FALSE(hw::loop_order::parse("B>OW>OH>IC").has_value());
  CHECK_FALSE(hw::loop_order::parse("B>OW>OH>IC>IC").has_value());
  CHECK_FALSE(hw::loop_order::parse("B>OW>OH>IC>OC>B").has_value());
  CHECK_FALSE(hw::loop_order::parse("B,OW,OH,IC,OC").has_value());
  CHECK_FALSE(hw::loop_order::parse("").has_value());
  CHECK(hw::loop_order::parse("OC>B>IC>OW>OH").has_value());
}

TEST_CASE("each loop touches the data the spec says") {
  using hw::loop;
  CHECK((hw::touches_activations(loop::B) && hw::touches_outputs(loop::B) && !hw::touches_weights(loop::B)));
  CHECK((hw::touches_activations(loop::OW) && hw::touches_outputs(loop::OW) && !hw::touches_weights(loop::OW)));
  CHECK((hw::touches_activations(loop::OH) && hw::touches_outputs(loop::OH) && !hw::touches_weights(loop::OH)));
  CHECK((hw::touches_activations(loop::IC) && hw::touches_weights(loop::IC) && !hw::touches_outputs(loop::IC)));
  CHECK((hw::touches_weights(loop::OC) && hw::touches_outputs(loop::OC) && !hw::touches_activations(loop::OC)));
}
