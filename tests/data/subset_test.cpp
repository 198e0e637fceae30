#include "jaq/data/subset.hpp"

#include <doctest/doctest.h>

#include <algorithm>

namespace {
// 30 one-pixel images, pixel = index, label = index % 3 except the last five are class 0.
jaq::data::dataset thirty() {
  jaq::data::dataset d;
  d.name = "thirty";
  d.shape = {.channels = 1, .height = 1, .width = 1};
  d.num_classes = 3;
  for (int i = 0; i < 30; ++i) {
    d.images.push_back(static_cast<float>(i));
    d.labels.push_back(i >= 25 ? 0 : i % 3);
  }
  return d;
}
}  // namespace

TEST_CASE("subset: first_n keeps the first images and clamps to the size") {
  const auto d = thirty();
  const auto f = jaq::data::first_n(d, 4);
  CHECK(f.size() == 4);
  CHECK(f.images == std::vector<float>{0, 1, 2, 3});
  CHECK(f.labels == std::vector<std::int32_t>{0, 1, 2, 0});
  CHECK(jaq::data::first_n(d, 100).size() == 30);
  CHECK_THROWS_AS(jaq::data::first_n(d, -1), jaq::config_error);
}

TEST_CASE("subset: stratified takes the first k of each class in file order") {
  const auto s = jaq::data::stratified(thirty(), 2);
  CHECK(s.images == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(s.class_counts() == std::vector<std::int64_t>{2, 2, 2});
}

TEST_CASE("subset: random stratified is balanced, in file order, and seeded") {
  const auto d = thirty();
  jaq::rng a(5), b(5), c(6);
  const auto sa = jaq::data::stratified(d, 4, a);
  const auto sb = jaq::data::stratified(d, 4, b);
  const auto sc = jaq::data::stratified(d, 4, c);
  CHECK(sa.class_counts() == std::vector<std::int64_t>{4, 4, 4});
  CHECK(std::is_sorted(sa.images.begin(), sa.images.end()));
  CHECK(sa.images == sb.images);
  CHECK(sa.images != sc.images);
  for (std::int64_t i = 0; i < sa.size(); ++i) CHECK(sa.labels[i] == d.labels[static_cast<std::size_t>(sa.images[i])]);
}

TEST_CASE("subset: asking more per class than a class holds names the class") {
  CHECK_THROWS_WITH(jaq::data::stratified(thirty(), 9), "thirty: images per class: asked for 9 of class 1, which has only 8");
}

TEST_CASE("subset: select copies given indices and rejects one out of range") {
  const auto d = thirty();
  const std::vector<std::int64_t> idx{7, 3, 7};
  const auto s = jaq::data::select(d, idx);
  CHECK(s.images == std::vector<float>{7, 3, 7});
  const std::vector<std::int64_t> bad{1, 30};
  CHECK_THROWS_WITH(jaq::data::select(d, bad), "thirty: index: expected 0..29, got 30");
}
