// jaq/data/augment.hpp: training-time augmentation of a batch: random translation (a crop of
// the image padded by `pad` pixels on every side, the padding filled with `fill`) and random
// horizontal flips.
//
// Drawn from the jaq::rng passed in, image by image in batch order (dy, then dx, then the flip),
// so the same seed gives the same batches; a config that does nothing draws nothing.
//
//   const jaq::data::augment_config aug{.pad = 2, .horizontal_flip = true, .fill = black_pixel(n)};
//   while (it.next(b)) { jaq::data::augment(b, aug, gen); step(b); }
//
// `fill` is the value of the padded pixels in the images' own (normalised) units: for images
// normalised by `n`, a black pixel is black_pixel(n) below (-mean / std per channel), not 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/normalize.hpp"

namespace jaq::data {

struct augment_config {
  int pad = 0;                   ///< translate by up to this many pixels each way (0: none)
  bool horizontal_flip = false;  ///< mirror left-right with probability 1/2
  /// Value of the pixels shifted in from outside the image, per channel: empty (0), one value
  /// for every channel, or one per channel.
  std::vector<float> fill = {};

  bool active() const { return pad > 0 || horizontal_flip; }

  /// Throws config_error naming `where` and the field for a padding < 0 or not smaller than the
  /// images (`height`, `width`; 0 skips that check), or a fill that is neither empty, one value
  /// nor one per channel (`channels`; 0 skips it).
  void validate(const std::string& where, std::int64_t height = 0, std::int64_t width = 0, std::int64_t channels = 0) const {
    if (pad < 0) throw config_error(where, "pad", "must be >= 0, got " + std::to_string(pad));
    if (channels > 0 && fill.size() > 1 && static_cast<std::int64_t>(fill.size()) != channels)
      throw config_error(
          where, "fill",
          std::to_string(fill.size()) + " values for " + std::to_string(channels) + "-channel images (give none, one, or one per channel)");
    if ((height > 0 && pad >= height) || (width > 0 && pad >= width))
      throw config_error(
          where, "pad",
          std::to_string(pad) + " is not smaller than the " + std::to_string(height) + "x" + std::to_string(width) + " images");
  }

  friend std::ostream& operator<<(std::ostream& os, const augment_config& a) {
    os << "augment_config{.pad=" << a.pad << ", .horizontal_flip=" << a.horizontal_flip << ", .fill=[";
    for (std::size_t i = 0; i < a.fill.size(); ++i) os << (i ? ", " : "") << a.fill[i];
    return os << "]}";
  }
};

/// The normalised value of a black (0) pixel in each channel: -mean[c] / std[c].
inline std::vector<float> black_pixel(const normalization& n) {
  std::vector<float> v;
  for (std::size_t c = 0; c < n.mean.size() && c < n.stddev.size(); ++c) v.push_back(-n.mean[c] / n.stddev[c]);
  return v;
}

/// One plane (H, W) moved by (dy, dx), then mirrored when `flip`: dst[y][x] = src[y + dy][x' + dx]
/// with x' = W - 1 - x when flipped (else x), and `fill` where that falls outside the plane.
/// This is the crop at offset (pad + dy, pad + dx) of the plane padded by `pad`.
inline void shift_flip_plane(const float* src, float* dst, std::int64_t height, std::int64_t width, std::int64_t dy, std::int64_t dx,
                             bool flip, float fill) {
  for (std::int64_t y = 0; y < height; ++y) {
    float* out = dst + y * width;
    const std::int64_t sy = y + dy;
    if (sy < 0 || sy >= height) {
      std::fill(out, out + width, fill);
      continue;
    }
    const float* row = src + sy * width;
    for (std::int64_t x = 0; x < width; ++x) {
      const std::int64_t sx = (flip ? width - 1 - x : x) + dx;
      out[x] = sx >= 0 && sx < width ? row[sx] : fill;
    }
  }
}

/// Augments every image of `b` in place (either layout), drawing per image, in batch order,
/// dy and dx uniform in [-pad, pad] (when pad > 0) and then a fair coin for the flip (when
/// enabled). Every channel of an image moves alike.
inline void augment(batch& b, const augment_config& cfg, rng& gen) {
  if (!cfg.active() || b.size() == 0) return;
  cfg.validate("augment_config", b.shape.height, b.shape.width, b.shape.channels);
  const std::int64_t n = b.size(), c = b.shape.channels, h = b.shape.height, w = b.shape.width, hw = h * w;
  std::vector<float> plane(static_cast<std::size_t>(hw));
  const auto span = (2 * static_cast<std::uint64_t>(cfg.pad)) + 1;
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t dy = cfg.pad > 0 ? static_cast<std::int64_t>(gen.below(span)) - cfg.pad : 0;
    const std::int64_t dx = cfg.pad > 0 ? static_cast<std::int64_t>(gen.below(span)) - cfg.pad : 0;
    const bool flip = cfg.horizontal_flip && gen.below(2) == 1;
    if (dy == 0 && dx == 0 && !flip) continue;
    for (std::int64_t ch = 0; ch < c; ++ch) {
      // nchw: image k's channels are contiguous; cnhw: channel ch of image k is block (ch, k)
      const std::int64_t block = b.layout == batch_layout::nchw ? k * c + ch : ch * n + k;
      float* p = b.images.data() + static_cast<std::size_t>(block * hw);
      std::copy(p, p + hw, plane.begin());
      const float fill = cfg.fill.empty() ? 0.0f : cfg.fill[cfg.fill.size() == 1 ? 0 : static_cast<std::size_t>(ch)];
      shift_flip_plane(plane.data(), p, h, w, dy, dx, flip, fill);
    }
  }
}

}  // namespace jaq::data
