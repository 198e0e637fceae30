#include "jaq/hw/layer.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace hw = jaq::hw;

TEST_CASE("a well-formed layer validates") {
  const hw::layer l{.name = "conv", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1};
  CHECK_NOTHROW(hw::validate(l));
  CHECK(l.groups == 1);
  CHECK(l.precision() == hw::precision_pair{.iprec = 8, .wprec = 8});
}

TEST_CASE("validate names the layer, field and value") {
  hw::layer l{.name = "c1", .K = 3, .O = 7, .S = 1, .IC = 4, .OC = 8, .B = 1};
  l.O = 0;
  CHECK_THROWS_WITH_AS(hw::validate(l, "net.csv"), "net.csv: layer 'c1': O: must be positive, got 0", jaq::config_error);
  l.O = 7;
  l.wprec = 9;
  CHECK_THROWS_WITH_AS(hw::validate(l, "net.csv"), "net.csv: layer 'c1': wprec: must be in 1..8, got 9", jaq::config_error);
  l.wprec = 8;
  l.iprec = 0;
  CHECK_THROWS_AS(hw::validate(l), jaq::config_error);
  l.iprec = 8;
  l.groups = 3;  // divides neither 4 nor 8
  CHECK_THROWS_WITH_AS(hw::validate(l, "net.csv"), "net.csv: layer 'c1': groups: 3 does not divide IC=4 and OC=8", jaq::config_error);
  l.groups = 4;
  CHECK_NOTHROW(hw::validate(l));
  l.groups = 1;
  l.B = hw::max_layer_dim + 1;
  CHECK_THROWS_AS(hw::validate(l), jaq::config_error);
}

TEST_CASE("a layer prints its shape, and groups only when grouped") {
  std::ostringstream os;
  os << hw::layer{.name = "dw", .K = 3, .O = 8, .S = 2, .IC = 32, .OC = 32, .B = 1, .iprec = 4, .wprec = 2, .groups = 32};
  CHECK(os.str() == "layer{dw: K=3, O=8, S=2, IC=32, OC=32, B=1, im2col=0, prec=4/2, groups=32}");
}
