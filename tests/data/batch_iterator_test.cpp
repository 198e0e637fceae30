#include "jaq/data/batch_iterator.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

namespace {
// n images of 2 pixels: (i, -i); label i % 10.
jaq::data::dataset numbered(int n) {
  jaq::data::dataset d;
  d.name = "numbered";
  d.shape = {.channels = 1, .height = 1, .width = 2};
  d.num_classes = 10;
  for (int i = 0; i < n; ++i) {
    d.images.push_back(static_cast<float>(i));
    d.images.push_back(static_cast<float>(-i));
    d.labels.push_back(i % 10);
  }
  return d;
}

std::vector<std::int64_t> one_epoch(jaq::data::batch_iterator& it, std::vector<std::int64_t>* sizes = nullptr) {
  std::vector<std::int64_t> seen;
  jaq::data::batch b;
  while (it.next(b)) {
    if (sizes) sizes->push_back(b.size());
    for (std::int64_t k = 0; k < b.size(); ++k) {
      // The batch holds the right pixels and label for each index (checked against the dataset).
      const auto i = b.indices[k];
      CHECK(b.images[2 * k] == static_cast<float>(i));
      CHECK(b.images[2 * k + 1] == static_cast<float>(-i));
      CHECK(b.labels[k] == i % 10);
      seen.push_back(i);
    }
  }
  return seen;
}
}  // namespace

TEST_CASE("batch_iterator: without an rng, batches follow file order; last batch is smaller") {
  const auto d = numbered(10);
  jaq::data::batch_iterator it(d, {.batch_size = 4});
  std::vector<std::int64_t> sizes;
  const auto seen = one_epoch(it, &sizes);
  std::vector<std::int64_t> expect(10);
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(seen == expect);
  CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});
  CHECK(it.batches_per_epoch() == 3);
  CHECK(it.epoch() == 1);
}

TEST_CASE("batch_iterator: each shuffled epoch visits every image once, in a new order") {
  const auto d = numbered(103);
  jaq::rng gen(11);
  jaq::data::batch_iterator it(d, {.batch_size = 16}, gen);
  const auto e1 = one_epoch(it);
  const auto e2 = one_epoch(it);
  CHECK(e1 != e2);
  for (const auto& e : {e1, e2}) {
    auto s = e;
    std::sort(s.begin(), s.end());
    REQUIRE(s.size() == 103);
    for (std::size_t i = 0; i < s.size(); ++i) CHECK(s[i] == static_cast<std::int64_t>(i));
  }
  CHECK(!std::is_sorted(e1.begin(), e1.end()));
}

TEST_CASE("batch_iterator: the same seed gives the same batches") {
  const auto d = numbered(50);
  jaq::rng g1(3), g2(3);
  jaq::data::batch_iterator a(d, {.batch_size = 8}, g1), b(d, {.batch_size = 8}, g2);
  CHECK(one_epoch(a) == one_epoch(b));
  CHECK(one_epoch(a) == one_epoch(b));
}

TEST_CASE("batch_iterator: drop_last drops the short batch") {
  const auto d = numbered(10);
  jaq::rng gen(1);
  jaq::data::batch_iterator it(d, {.batch_size = 4, .drop_last = true}, gen);
  std::vector<std::int64_t> sizes;
  CHECK(one_epoch(it, &sizes).size() == 8);
  CHECK(sizes == std::vector<std::int64_t>{4, 4});
  CHECK(it.batches_per_epoch() == 2);
}

TEST_CASE("batch_iterator: a non-positive batch size or an empty dataset is a config_error") {
  const auto d = numbered(3);
  CHECK_THROWS_WITH(jaq::data::batch_iterator(d, {.batch_size = 0}), "batch_config: batch_size: must be positive, got 0");
  CHECK_THROWS_AS(jaq::data::batch_iterator(numbered(0), {.batch_size = 2}), jaq::config_error);
  CHECK_THROWS_WITH(jaq::data::batch_iterator(d, {.batch_size = 4, .drop_last = true}),
                    "numbered: batch_size: with drop_last, 4 is more than the 3 images: no batch at all");
}

TEST_CASE("batch_iterator: the channel-major layout puts channel c of image k at block (c, k)") {
  jaq::data::dataset d;
  d.name = "rgb";
  d.shape = {.channels = 3, .height = 1, .width = 2};
  d.num_classes = 10;
  for (int i = 0; i < 5; ++i)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 2; ++p) d.images.push_back(static_cast<float>(100 * i + 10 * c + p));
  d.labels = {0, 1, 2, 3, 4};
  jaq::data::batch_iterator nchw(d, {.batch_size = 4}), cnhw(d, {.batch_size = 4, .layout = jaq::data::batch_layout::cnhw});
  jaq::data::batch a, b;
  REQUIRE(nchw.next(a));
  REQUIRE(cnhw.next(b));
  CHECK(b.layout == jaq::data::batch_layout::cnhw);
  // Reference: index arithmetic on the NCHW batch.
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 2; ++p) CHECK(b.images[(c * 4 + k) * 2 + p] == a.images[(k * 3 + c) * 2 + p]);
  CHECK(b.images[(2 * 4 + 1) * 2 + 1] == 121.0f);
  // The short last batch (one image) uses its own size as the batch extent.
  REQUIRE(cnhw.next(b));
  CHECK(b.images == std::vector<float>{400, 401, 410, 411, 420, 421});
}
