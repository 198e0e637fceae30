// jaq/data/batch_iterator.hpp: walks a dataset in (optionally shuffled) mini-batches.
//
// Shuffling uses the jaq::rng passed in (no global RNG): same seed, same batches. A new
// permutation is drawn at the start of every epoch. `next` returns false once an epoch is
// done and the following call begins the next epoch, so the loop reads:
//
//   jaq::rng gen(seed);
//   jaq::data::batch_iterator it(fm.train, {.batch_size = 128}, gen);   // shuffled
//   jaq::data::batch b;
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     while (it.next(b)) step(b.images, b.labels);   // (B, 1, 28, 28), (B)
//
//   jaq::data::batch_iterator eval(fm.test, {.batch_size = 500});       // file order
//   // for jaq/autograd's channel-major feature maps: {.layout = jaq::data::batch_layout::cnhw}
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/dataset.hpp"

namespace jaq::data {

/// Memory order of a batch's images: PyTorch's (B, C, H, W) or jaq's channel-major (C, B, H, W)
/// (jaq/autograd feature maps). For one-channel images both are the same bytes.
enum class batch_layout { nchw, cnhw };

struct batch_config {
  std::int64_t batch_size = 128;
  bool drop_last = false;  // drop the last, smaller batch of an epoch
  batch_layout layout = batch_layout::nchw;

  friend std::ostream& operator<<(std::ostream& os, const batch_config& c) {
    return os << "batch_config{.batch_size=" << c.batch_size << ", .drop_last=" << c.drop_last
              << ", .layout=" << (c.layout == batch_layout::nchw ? "nchw" : "cnhw") << "}";
  }
};

/// One mini-batch, copied out of the dataset (contiguous, ready for the engine).
struct batch {
  image_shape shape;  // of one image
  batch_layout layout = batch_layout::nchw;
  std::vector<float> images;          // (B, C, H, W), or (C, B, H, W) for batch_layout::cnhw
  std::vector<std::int32_t> labels;   // (B)
  std::vector<std::int64_t> indices;  // (B) positions in the dataset

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
};

class batch_iterator {
 public:
  /// Batches in file order (evaluation).
  batch_iterator(const dataset& ds, batch_config cfg) : ds_(&ds), cfg_(cfg), gen_(nullptr) { init(); }

  /// Batches in a new random order each epoch, drawn from `gen` (which must outlive this).
  batch_iterator(const dataset& ds, batch_config cfg, rng& gen) : ds_(&ds), cfg_(cfg), gen_(&gen) { init(); }

  /// Fills `b` with the next batch of the current epoch; false when the epoch is over (then
  /// the next call starts a new epoch, reshuffled).
  bool next(batch& b) {
    const std::int64_t n = ds_->size();
    const std::int64_t remaining = n - pos_;
    if (remaining <= 0 || (cfg_.drop_last && remaining < cfg_.batch_size)) {
      ++epoch_;
      begin_epoch();
      b.images.clear();
      b.labels.clear();
      b.indices.clear();
      return false;
    }
    const std::int64_t size = std::min(cfg_.batch_size, remaining);
    const auto e = static_cast<std::size_t>(ds_->shape.elements());
    b.shape = ds_->shape;
    b.layout = cfg_.layout;
    b.images.resize(static_cast<std::size_t>(size) * e);
    b.labels.resize(static_cast<std::size_t>(size));
    b.indices.resize(static_cast<std::size_t>(size));
    for (std::int64_t k = 0; k < size; ++k) {
      const std::int64_t i = order_[static_cast<std::size_t>(pos_ + k)];
      if (cfg_.layout == batch_layout::nchw || ds_->shape.channels == 1) {
        std::memcpy(b.images.data() + static_cast<std::size_t>(k) * e, ds_->image(i).data(), e * sizeof(float));
      } else {  // channel c of image k goes to block (c, k)
        const auto hw = static_cast<std::size_t>(ds_->shape.height * ds_->shape.width);
        const float* src = ds_->image(i).data();
        for (std::int64_t c = 0; c < ds_->shape.channels; ++c) {
          std::memcpy(b.images.data() + (static_cast<std::size_t>(c * size + k)) * hw, src + static_cast<std::size_t>(c) * hw,
                      hw * sizeof(float));
        }
      }
      b.labels[static_cast<std::size_t>(k)] = ds_->labels[static_cast<std::size_t>(i)];
      b.indices[static_cast<std::size_t>(k)] = i;
    }
    pos_ += size;
    return true;
  }

  /// Batches in one epoch.
  std::int64_t batches_per_epoch() const {
    const std::int64_t n = ds_->size(), bs = cfg_.batch_size;
    return cfg_.drop_last ? n / bs : (n + bs - 1) / bs;
  }
  /// Epochs completed so far (0 during the first).
  std::int64_t epoch() const { return epoch_; }
  const batch_config& config() const { return cfg_; }

 private:
  void init() {
    if (cfg_.batch_size <= 0) {
      throw config_error("batch_config", "batch_size", "must be positive, got " + std::to_string(cfg_.batch_size));
    }
    if (ds_->empty()) throw config_error(ds_->name, "dataset", "is empty, nothing to iterate");
    if (cfg_.drop_last && cfg_.batch_size > ds_->size()) {
      throw config_error(ds_->name, "batch_size",
                         "with drop_last, " + std::to_string(cfg_.batch_size) + " is more than the " + std::to_string(ds_->size()) +
                             " images: no batch at all");
    }
    order_.resize(static_cast<std::size_t>(ds_->size()));
    begin_epoch();
  }
  void begin_epoch() {
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::int64_t>(i);
    if (gen_ != nullptr) gen_->shuffle(order_.begin(), order_.end());
    pos_ = 0;
  }

  const dataset* ds_;
  batch_config cfg_;
  rng* gen_;  // null: file order
  std::vector<std::int64_t> order_;
  std::int64_t pos_ = 0;
  std::int64_t epoch_ = 0;
};

}  // namespace jaq::data
