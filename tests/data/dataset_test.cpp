#include "jaq/data/dataset.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace {
jaq::data::dataset tiny() {
  jaq::data::dataset d;
  d.name = "tiny";
  d.shape = {.channels = 2, .height = 1, .width = 3};
  d.num_classes = 3;
  for (int i = 0; i < 4 * 6; ++i) d.images.push_back(static_cast<float>(i));
  d.labels = {2, 0, 2, 1};
  return d;
}
}  // namespace

TEST_CASE("dataset: image(i) is the i-th (C, H, W) block") {
  auto d = tiny();
  CHECK(d.size() == 4);
  CHECK(d.shape.elements() == 6);
  CHECK(d.image(2).size() == 6);
  CHECK(d.image(2)[0] == 12.0f);
  CHECK(d.image(3)[5] == 23.0f);
  d.image(1)[0] = -1.0f;
  CHECK(d.images[6] == -1.0f);
}

TEST_CASE("dataset: class counts and printing") {
  const auto d = tiny();
  CHECK(d.class_counts() == std::vector<std::int64_t>{1, 1, 2});
  std::ostringstream os;
  os << d;
  CHECK(os.str() == "dataset{tiny: 4 images (2, 1, 3), 3 classes}");
}
