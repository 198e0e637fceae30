// Loads the real Fashion-MNIST from Debian's dataset-fashion-mnist (installed by bootstrap).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"

TEST_CASE("fashion-mnist: 60000/10000 images of 28x28, labels 0..9, 6000 per class in train") {
  const auto t0 = std::chrono::steady_clock::now();
  const auto fm = jaq::data::load_fashion_mnist();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fashion-mnist loaded in %.3f s (train + test)\n", s);  // informative, not asserted

  CHECK(fm.train.size() == 60000);
  CHECK(fm.test.size() == 10000);
  CHECK(fm.train.shape == jaq::data::image_shape{.channels = 1, .height = 28, .width = 28});
  CHECK(fm.test.shape == fm.train.shape);
  CHECK(fm.train.images.size() == 60000u * 784u);
  for (auto c : fm.train.class_counts()) CHECK(c == 6000);
  for (auto c : fm.test.class_counts()) CHECK(c == 1000);
  // Known first labels of the training set: Ankle boot, T-shirt/top, T-shirt/top, Dress.
  CHECK(fm.train.labels[0] == 9);
  CHECK(fm.train.labels[1] == 0);
  CHECK(fm.train.labels[3] == 3);
  float lo = 1.0f, hi = 0.0f;
  for (float v : fm.train.images) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);

  // The documented normalisation constants are the training set's statistics.
  const auto st = jaq::data::channel_stats(fm.train);
  const auto known = jaq::data::fashion_mnist_normalization();
  CHECK(st.mean[0] == doctest::Approx(known.mean[0]).epsilon(1e-6));
  CHECK(st.stddev[0] == doctest::Approx(known.stddev[0]).epsilon(1e-6));
}
