#include "jaq/data/normalize.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

namespace {
// Two channels: channel 0 holds 0..7 spread over images, channel 1 is constant 5 plus noise.
jaq::data::dataset two_channel() {
  jaq::data::dataset d;
  d.name = "two";
  d.shape = {.channels = 2, .height = 2, .width = 2};
  d.num_classes = 2;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 4; ++k) d.images.push_back(static_cast<float>(4 * i + k));
    for (int k = 0; k < 4; ++k) d.images.push_back(5.0f + (k % 2 ? 1.0f : -1.0f));
  }
  d.labels = {0, 1};
  return d;
}
}  // namespace

TEST_CASE("normalize: channel_stats gives each channel's mean and population std") {
  const auto st = jaq::data::channel_stats(two_channel());
  REQUIRE(st.mean.size() == 2);
  CHECK(st.mean[0] == doctest::Approx(3.5));
  CHECK(st.stddev[0] == doctest::Approx(std::sqrt(5.25)));  // var of 0..7
  CHECK(st.mean[1] == doctest::Approx(5.0));
  CHECK(st.stddev[1] == doctest::Approx(1.0));
}

TEST_CASE("normalize: standardised channels have mean 0 and std 1") {
  auto d = two_channel();
  jaq::data::normalize(d, jaq::data::channel_stats(d));
  const auto st = jaq::data::channel_stats(d);
  for (int c = 0; c < 2; ++c) {
    CHECK(st.mean[c] == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(st.stddev[c] == doctest::Approx(1.0).epsilon(1e-6));
  }
  CHECK(d.image(0)[0] == doctest::Approx(-3.5 / std::sqrt(5.25)));
}

TEST_CASE("normalize: wrong channel count or non-positive std is a config_error") {
  auto d = two_channel();
  CHECK_THROWS_AS(jaq::data::normalize(d, jaq::data::fashion_mnist_normalization()), jaq::config_error);
  CHECK_THROWS_WITH(jaq::data::normalize(d, {.mean = {0, 0}, .stddev = {1, 0}}),
                    "two: normalization std[1]: must be positive, got 0.000000");
}

TEST_CASE("normalize: the known constants print readably") {
  std::ostringstream os;
  os << jaq::data::fashion_mnist_normalization();
  CHECK(os.str() == "normalization{mean=[0.286041], std=[0.353024]}");
}
