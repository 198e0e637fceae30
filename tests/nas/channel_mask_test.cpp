#include "jaq/nas/channel_mask.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <vector>

using namespace jaq::nas;

TEST_CASE("top_channels keeps ceil(K% of C) channels with the largest |gamma|") {
  const std::vector<float> gamma{0.1f, -0.9f, 0.3f, 0.05f, 0.8f, -0.2f, 0.0f, 0.4f, 0.6f, 0.7f};
  const auto m = top_channels(gamma, 20.0, "conv2");
  CHECK(m.selected == std::vector<int>{1, 4});
  CHECK(m.unselected.size() == 8);
  CHECK(m.is_selected[1] == 1);
  CHECK(top_channels(gamma, 25.0, "conv2").selected == std::vector<int>{1, 4, 9});  // ceil(2.5)
  CHECK(top_channels(gamma, 100.0, "conv2").selected.size() == 10);
  CHECK(top_channels(gamma, 0.01, "conv2").selected == std::vector<int>{1});  // at least one
  std::ostringstream os;
  os << m;
  CHECK(os.str() == "2/10 channels {1,4}");
}

TEST_CASE("ties in |gamma| go to the lower channel index") {
  const std::vector<float> gamma{0.5f, -0.5f, 0.5f, 0.1f};
  CHECK(top_channels(gamma, 50.0, "t").selected == std::vector<int>{0, 1});
}

TEST_CASE("K outside (0, 100] is an error naming the layer and the value") {
  const std::vector<float> gamma{1.0f, 2.0f};
  CHECK_THROWS_WITH_AS(top_channels(gamma, 0.0, "blocks.2.project"), "blocks.2.project: csq K: keep percentage 0 is outside (0, 100]",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(top_channels(gamma, 120.0, "fc"), "fc: csq K: keep percentage 120 is outside (0, 100]", jaq::config_error);
  CHECK_THROWS_AS(top_channels(gamma, -5.0, "fc"), jaq::config_error);
  CHECK_THROWS_WITH_AS((csq_config{.keep_percent = 20, .refresh_epochs = 0}.validate("net")),
                       "net: csq E: refresh every 0 epochs (must be >= 1)", jaq::config_error);
}

TEST_CASE("a layer with no BatchNorm before it cannot be ranked") {
  CHECK_THROWS_WITH_AS(top_channels({}, 20.0, "conv1"),
                       "conv1: csq: no BatchNorm produces this layer's input (CSQ ranks channels by its |gamma|)", jaq::config_error);
}

TEST_CASE("the mask is due at epoch 0 and every E epochs") {
  const csq_config c{.keep_percent = 20, .refresh_epochs = 3};
  CHECK(mask_due(0, c));
  CHECK(!mask_due(1, c));
  CHECK(!mask_due(2, c));
  CHECK(mask_due(3, c));
  CHECK(channel_mask::all(3).selected == std::vector<int>{0, 1, 2});
}
