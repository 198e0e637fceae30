// Tests of jaq/batchtile/detail/order_classes.hpp: the loop orders BatchTile skips give exactly
// the results of the representative it keeps (checked against the reference's own evaluate()).
#include "jaq/batchtile/detail/order_classes.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/loop_order.hpp"
#include "tests/batchtile/random_cases.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

TEST_CASE("the order table is itertools.permutations order, as hw::loop_order numbers it") {
  const auto& orders = bt::detail::all_orders();
  for (int o = 0; o < bt::detail::num_orders; ++o) {
    const hw::loop_order ref = hw::loop_order::from_index(o);
    for (int pos = 0; pos < 5; ++pos)
      CHECK(static_cast<int>(orders[static_cast<std::size_t>(o)][static_cast<std::size_t>(pos)]) == static_cast<int>(ref[pos]));
  }
  for (int l = 0; l < 5; ++l) {
    const auto lp = static_cast<hw::loop>(l);
    const int t = bt::detail::loop_touches[static_cast<std::size_t>(l)];
    CHECK(((t & bt::detail::touch_w) != 0) == hw::touches_weights(lp));
    CHECK(((t & bt::detail::touch_a) != 0) == hw::touches_activations(lp));
    CHECK(((t & bt::detail::touch_o) != 0) == hw::touches_outputs(lp));
  }
}

TEST_CASE("class counts: one order when nothing repeats, 12 for a batch-1 conv, 60 at most") {
  const auto& oc = bt::detail::order_classes::get();
  using K = std::array<std::int64_t, 5>;
  CHECK(oc.representatives(bt::detail::make_order_key(K{1, 1, 1, 1, 1})).size() == 1);
  // OW, OH, IC, OC active; OW and OH interchangeable: 4! / 2.
  CHECK(oc.representatives(bt::detail::make_order_key(K{1, 4, 4, 2, 3})).size() == 12);
  // all five active, B distinct from OW == OH: 5! / 2.
  CHECK(oc.representatives(bt::detail::make_order_key(K{2, 4, 4, 2, 3})).size() == 60);
  // B == OW == OH: 5! / 3!.
  CHECK(oc.representatives(bt::detail::make_order_key(K{4, 4, 4, 2, 3})).size() == 20);
  for (unsigned key = 0; key < 256; ++key) {
    const auto& r = oc.representatives(static_cast<bt::detail::order_key>(key));
    REQUIRE(!r.empty());
    CHECK(r.front() == 0);  // order 0 is always the first of its class
    CHECK(std::is_sorted(r.begin(), r.end()));
    CHECK(std::adjacent_find(r.begin(), r.end()) == r.end());
  }
}

TEST_CASE("every order scores exactly like its class representative (random layers)") {
  jaq::rng g(7);
  int checked = 0;
  for (int it = 0; it < 60; ++it) {
    const hw::accel_config cfg = bt::testing::random_config(g);
    const hw::layer l = hw::group_layer(bt::testing::random_layer(g, it));
    const hw::energy_model em = hw::make_energy_model(cfg);
    const hw::layer_params p = hw::make_params(cfg, l);
    auto cands = hw::tiling_candidates(p);
    g.shuffle(cands.begin(), cands.end());
    int used = 0;
    for (const hw::tiling& t : cands) {
      if (!hw::fits(p, hw::tile_bits(p, t))) continue;
      if (++used > 12) break;
      const auto key = bt::detail::make_order_key({t.num_b, t.num_ow, t.num_oh, t.num_ic, t.num_oc});
      const auto& reps = bt::detail::order_classes::get().representatives(key);
      for (int o = 0; o < 120; ++o) {
        // the representative with the same signature: the first in itertools order
        const auto sig = bt::detail::order_classes::signature(key, o);
        int rep = -1;
        for (auto r : reps)
          if (bt::detail::order_classes::signature(key, r) == sig) rep = r;
        REQUIRE(rep >= 0);
        CHECK(rep <= o);
        const auto a = hw::evaluate(p, t, hw::loop_order::from_index(o));
        const auto b = hw::evaluate(p, t, hw::loop_order::from_index(rep));
        CHECK(a == b);
        CHECK(hw::energy_of(a, em) == hw::energy_of(b, em));
        ++checked;
      }
    }
  }
  CHECK(checked > 10000);
}
