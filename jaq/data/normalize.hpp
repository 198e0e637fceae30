// jaq/data/normalize.hpp: per-channel standardisation, x' = (x - mean[c]) / std[c].
//
// Statistics are those of the training set, applied unchanged to the test set. For
// Fashion-MNIST the constants are known: mean 0.2860406, std 0.3530242 (population statistics
// of all 60000 x 784 training pixels scaled to [0, 1]; tests/data/fashion_mnist_test.cpp
// recomputes them). PyTorch users know them as Normalize((0.2860,), (0.3530,)).
//
//   auto fm = jaq::data::load_fashion_mnist();
//   const auto n = jaq::data::fashion_mnist_normalization();   // or channel_stats(fm.train)
//   jaq::data::normalize(fm.train, n);
//   jaq::data::normalize(fm.test, n);
#pragma once

#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/data/dataset.hpp"

namespace jaq::data {

/// Per-channel mean and standard deviation.
struct normalization {
  std::vector<float> mean;
  std::vector<float> stddev;

  friend std::ostream& operator<<(std::ostream& os, const normalization& n) {
    os << "normalization{mean=[";
    for (std::size_t c = 0; c < n.mean.size(); ++c) os << (c ? ", " : "") << n.mean[c];
    os << "], std=[";
    for (std::size_t c = 0; c < n.stddev.size(); ++c) os << (c ? ", " : "") << n.stddev[c];
    return os << "]}";
  }
};

/// Fashion-MNIST's training-set statistics (pixels in [0, 1]).
inline normalization fashion_mnist_normalization() { return {.mean = {0.2860406f}, .stddev = {0.3530242f}}; }

/// CIFAR-10's training-set statistics (pixels in [0, 1]) as commonly published; not recomputed
/// here (no CIFAR files in CI): channel_stats(train) gives them from the files.
inline normalization cifar10_normalization() {
  return {.mean = {0.4914009f, 0.4821585f, 0.4465309f}, .stddev = {0.2470322f, 0.2434851f, 0.2615878f}};
}

/// Mean and population standard deviation of each channel over all images (double sums).
inline normalization channel_stats(const dataset& ds) {
  const std::int64_t c_n = ds.shape.channels;
  const std::int64_t hw = ds.shape.height * ds.shape.width;
  std::vector<double> s(static_cast<std::size_t>(c_n), 0.0), s2(static_cast<std::size_t>(c_n), 0.0);
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const float* x = ds.image(i).data();
    for (std::int64_t c = 0; c < c_n; ++c) {
      double a = 0.0, a2 = 0.0;
      for (std::int64_t k = 0; k < hw; ++k) {
        const double v = x[c * hw + k];
        a += v;
        a2 += v * v;
      }
      s[static_cast<std::size_t>(c)] += a;
      s2[static_cast<std::size_t>(c)] += a2;
    }
  }
  normalization n;
  const double count = static_cast<double>(ds.size() * hw);
  for (std::int64_t c = 0; c < c_n; ++c) {
    const double m = count > 0 ? s[static_cast<std::size_t>(c)] / count : 0.0;
    const double var = count > 0 ? s2[static_cast<std::size_t>(c)] / count - m * m : 0.0;
    n.mean.push_back(static_cast<float>(m));
    n.stddev.push_back(static_cast<float>(std::sqrt(var > 0.0 ? var : 0.0)));
  }
  return n;
}

/// Standardises every channel in place. Throws config_error if the channel counts differ or
/// a standard deviation is not positive.
inline void normalize(dataset& ds, const normalization& n) {
  const auto c_n = static_cast<std::size_t>(ds.shape.channels);
  if (n.mean.size() != c_n || n.stddev.size() != c_n) {
    throw config_error(ds.name, "normalization",
                       "expected " + std::to_string(c_n) + " channel(s) of mean/std, got " + std::to_string(n.mean.size()) + "/" +
                           std::to_string(n.stddev.size()));
  }
  for (std::size_t c = 0; c < c_n; ++c) {
    if (!(n.stddev[c] > 0.0f)) {
      throw config_error(ds.name, "normalization std[" + std::to_string(c) + "]", "must be positive, got " + std::to_string(n.stddev[c]));
    }
  }
  const std::int64_t hw = ds.shape.height * ds.shape.width;
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    float* x = ds.image(i).data();
    for (std::size_t c = 0; c < c_n; ++c) {
      const float m = n.mean[c], inv = 1.0f / n.stddev[c];
      float* p = x + static_cast<std::int64_t>(c) * hw;
      for (std::int64_t k = 0; k < hw; ++k) p[k] = (p[k] - m) * inv;
    }
  }
}

}  // namespace jaq::data
