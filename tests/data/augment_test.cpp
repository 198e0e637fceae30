#include "jaq/data/augment.hpp"

#include <doctest/doctest.h>

#include <set>

namespace {
using jaq::data::augment_config;
using jaq::data::batch;
using jaq::data::batch_layout;

// An int index or count as a size (the product formed in int first, as the small test images allow).
std::size_t at(int i) { return static_cast<std::size_t>(i); }

// A slow, obvious reference: pad the plane by `pad` with `fill`, cut the HxW window at
// (pad + dy, pad + dx), then mirror that window left-right.
std::vector<float> reference(const std::vector<float>& plane, int h, int w, int pad, int dy, int dx, bool flip, float fill) {
  const int ph = h + 2 * pad, pw = w + 2 * pad;
  std::vector<float> padded(at(ph * pw), fill);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) padded[at((y + pad) * pw + x + pad)] = plane[at(y * w + x)];
  std::vector<float> crop(at(h * w)), out(at(h * w));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) crop[at(y * w + x)] = padded[at((y + pad + dy) * pw + x + pad + dx)];
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) out[at(y * w + x)] = crop[at(y * w + (flip ? w - 1 - x : x))];
  return out;
}

batch numbered_batch(int n, int c, int h, int w, batch_layout layout) {
  batch b;
  b.shape = {.channels = c, .height = h, .width = w};
  b.layout = layout;
  b.images.resize(at(n * c * h * w));
  for (std::size_t i = 0; i < b.images.size(); ++i) b.images[i] = float(i + 1);  // every pixel distinct, none 0
  b.labels.assign(at(n), 0);
  b.indices.assign(at(n), 0);
  return b;
}
}  // namespace

TEST_CASE("shift_flip_plane equals pad, crop, mirror for every offset, odd and even sizes") {
  for (auto [h, w] : {std::pair{5, 7}, std::pair{4, 4}, std::pair{1, 3}}) {
    std::vector<float> plane(std::size_t(h * w));
    for (std::size_t i = 0; i < plane.size(); ++i) plane[i] = float(i) * 0.5f - 3.0f;
    const int pad = std::min(h, w) - 1;
    for (int dy = -pad; dy <= pad; ++dy)
      for (int dx = -pad; dx <= pad; ++dx)
        for (bool flip : {false, true}) {
          std::vector<float> out(plane.size());
          jaq::data::shift_flip_plane(plane.data(), out.data(), h, w, dy, dx, flip, -9.0f);
          CHECK(out == reference(plane, h, w, pad, dy, dx, flip, -9.0f));
        }
  }
}

TEST_CASE("augment draws dy, dx, flip per image in batch order and moves every channel alike, in both layouts") {
  const int n = 6, c = 3, h = 5, w = 4;
  const augment_config cfg{.pad = 2, .horizontal_flip = true, .fill = {-1.0f, -2.0f, -3.0f}};
  for (auto layout : {batch_layout::nchw, batch_layout::cnhw}) {
    batch b = numbered_batch(n, c, h, w, layout);
    const batch before = b;
    jaq::rng gen(7), replay(7);
    jaq::data::augment(b, cfg, gen);
    int moved = 0;
    for (int k = 0; k < n; ++k) {
      const int dy = int(replay.below(5)) - 2, dx = int(replay.below(5)) - 2;
      const bool flip = replay.below(2) == 1;
      moved += dy != 0 || dx != 0 || flip;
      for (int ch = 0; ch < c; ++ch) {
        const int block = layout == batch_layout::nchw ? k * c + ch : ch * n + k;
        const auto at = before.images.begin() + block * h * w;
        const std::vector<float> plane(at, at + h * w);
        const std::vector<float> got(b.images.begin() + block * h * w, b.images.begin() + (block + 1) * h * w);
        CHECK(got == reference(plane, h, w, 2, dy, dx, flip, cfg.fill[std::size_t(ch)]));
      }
    }
    CHECK(moved > 0);          // seed 7 moves something (else the test proves nothing)
    CHECK(gen() == replay());  // and drew exactly three numbers per image
  }
}

TEST_CASE("augment: offsets cover [-pad, pad], about half the images flip, one fill for all channels") {
  const int n = 4000;
  batch b = numbered_batch(n, 1, 3, 3, batch_layout::nchw);
  // the centre pixel tells the offset, and a left/right pair the flip, for pad 1
  jaq::rng gen(3);
  jaq::data::augment(b, {.pad = 1, .horizontal_flip = true, .fill = {0.0f}}, gen);
  std::set<float> centres;
  int whole = 0, flipped = 0;
  for (int k = 0; k < n; ++k) {
    const float* p = b.images.data() + k * 9;
    centres.insert(p[4] - float(k * 9));  // (1 + dy) * 3 + (1 + dx) + 1: never the fill
    // dx = 0 keeps the middle row's two ends inside; flipped, the left one is the larger
    if (p[3] != 0.0f && p[5] != 0.0f) {
      ++whole;
      flipped += p[3] > p[5];
    }
  }
  CHECK(centres.size() == 9);  // the centre came from each of the 9 positions around it
  CHECK(whole > n / 4);        // dx = 0 for about a third
  const double f = double(flipped) / whole;
  CHECK(f > 0.45);
  CHECK(f < 0.55);
}

TEST_CASE("augment: nothing to do draws nothing and changes nothing") {
  batch b = numbered_batch(3, 1, 4, 4, batch_layout::nchw);
  const auto before = b.images;
  jaq::rng gen(1), other(1);
  jaq::data::augment(b, {}, gen);
  CHECK(b.images == before);
  CHECK(gen() == other());
}

TEST_CASE("augment_config errors name the field") {
  CHECK_THROWS_WITH_AS(augment_config{.pad = -1}.validate("retrain.augment"), doctest::Contains("retrain.augment: pad"), jaq::config_error);
  CHECK_THROWS_WITH_AS(augment_config{.pad = 4}.validate("aug", 4, 6), doctest::Contains("not smaller than the 4x6"), jaq::config_error);
  CHECK_THROWS_WITH_AS((augment_config{.pad = 1, .fill = {1.0f, 2.0f}}.validate("aug", 8, 8, 3)), doctest::Contains("fill"),
                       jaq::config_error);
  batch b = numbered_batch(2, 1, 3, 3, batch_layout::nchw);
  jaq::rng gen(1);
  CHECK_THROWS_AS(jaq::data::augment(b, {.pad = 3}, gen), jaq::config_error);
}

TEST_CASE("black_pixel is -mean / std per channel") {
  const auto v = jaq::data::black_pixel(jaq::data::fashion_mnist_normalization());
  REQUIRE(v.size() == 1);
  CHECK(v[0] == doctest::Approx(-0.2860406 / 0.3530242));
}
