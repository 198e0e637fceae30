// jaq/data/dataset.hpp: a labelled image data set in memory, float pixels (N, C, H, W).
//
// Loaders (idx.hpp, cifar.hpp) produce a dataset with pixels scaled to [0, 1]; normalize.hpp
// standardises channels; subset.hpp takes parts of it; batch_iterator.hpp walks it in batches.
//
//   jaq::data::dataset ds = jaq::data::load_fashion_mnist().train;
//   std::span<const float> x = ds.image(0);   // (C, H, W) = (1, 28, 28)
//   int y = ds.labels[0];                      // 0..9
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace jaq::data {

/// Shape of one image: channels, height, width.
struct image_shape {
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;

  std::int64_t elements() const { return channels * height * width; }
  friend bool operator==(const image_shape&, const image_shape&) = default;
  friend std::ostream& operator<<(std::ostream& os, const image_shape& s) {
    return os << "(" << s.channels << ", " << s.height << ", " << s.width << ")";
  }
};

/// Images and integer labels; `images` holds size() * shape.elements() floats, image-major.
struct dataset {
  std::string name;                  // e.g. "fashion-mnist/train", for messages
  image_shape shape;                 // of one image
  int num_classes = 0;               // labels lie in [0, num_classes)
  std::vector<float> images;         // (N, C, H, W)
  std::vector<std::int32_t> labels;  // (N)

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  bool empty() const { return labels.empty(); }

  /// The pixels of image i, (C, H, W).
  std::span<const float> image(std::int64_t i) const {
    const auto e = static_cast<std::size_t>(shape.elements());
    return {images.data() + static_cast<std::size_t>(i) * e, e};
  }
  std::span<float> image(std::int64_t i) {
    const auto e = static_cast<std::size_t>(shape.elements());
    return {images.data() + static_cast<std::size_t>(i) * e, e};
  }

  /// How many images each class has (num_classes entries).
  std::vector<std::int64_t> class_counts() const {
    std::vector<std::int64_t> c(static_cast<std::size_t>(num_classes), 0);
    for (auto y : labels) c[static_cast<std::size_t>(y)]++;
    return c;
  }

  friend std::ostream& operator<<(std::ostream& os, const dataset& d) {
    return os << "dataset{" << d.name << ": " << d.size() << " images " << d.shape << ", " << d.num_classes << " classes}";
  }
};

/// Both halves of a data set.
struct split {
  dataset train;
  dataset test;
};

}  // namespace jaq::data
