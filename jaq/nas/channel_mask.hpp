// jaq/nas/channel_mask.hpp: CSQ's choice of channels: the top-K% input channels of a layer by
// |gamma| of the BatchNorm that produced them, recomputed every E epochs.
//
// Only the selected channels go through the multi-precision branch during the search; the rest
// pass through in full precision (jaq/nas/mixed_conv.hpp). The count is ceil(K/100 * C), at
// least one channel; ties in |gamma| go to the lower channel index, so a run is reproducible.
//
//   jaq::nas::csq_config cfg{.keep_percent = 20, .refresh_epochs = 2};
//   cfg.validate("blocks.1.expand");                 // K outside (0, 100] throws, naming the layer
//   jaq::nas::channel_mask m = jaq::nas::top_channels(bn_gamma, cfg.keep_percent, "blocks.1.expand");
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq::nas {

/// CSQ settings of a search.
struct csq_config {
  double keep_percent = 20.0;  ///< K: percentage of input channels quantized during the search
  int refresh_epochs = 1;      ///< E: the mask is recomputed every E epochs

  void validate(const std::string& where) const {
    if (!(keep_percent > 0.0 && keep_percent <= 100.0))
      throw config_error(where, "csq K", "keep percentage " + format(keep_percent) + " is outside (0, 100]");
    if (refresh_epochs < 1)
      throw config_error(where, "csq E", "refresh every " + std::to_string(refresh_epochs) + " epochs (must be >= 1)");
  }

  static std::string format(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
  }

  friend std::ostream& operator<<(std::ostream& os, const csq_config& c) {
    return os << "csq(K=" << c.keep_percent << "%, every " << c.refresh_epochs << " epochs)";
  }
};

/// Which input channels of one layer are in the multi-precision branch.
struct channel_mask {
  std::vector<int> selected;      ///< increasing channel indices
  std::vector<int> unselected;    ///< the complement, increasing
  std::vector<char> is_selected;  ///< (C) 1 for a selected channel

  int channels() const { return static_cast<int>(is_selected.size()); }

  /// Every channel selected (the naive supernet).
  static channel_mask all(int channels) {
    channel_mask m;
    m.is_selected.assign(std::size_t(channels), 1);
    for (int c = 0; c < channels; ++c) m.selected.push_back(c);
    return m;
  }

  /// The mask as one value per channel, 1 for a selected one, into `out` (indexed by channel,
  /// channels() long, e.g. a jaq::tensor): what checkpoints hold.
  template <class Flags>
  void write_flags(Flags& out) const {
    for (int c = 0; c < channels(); ++c) out[c] = is_selected[std::size_t(c)] ? 1 : 0;
  }
  /// The mask back from write_flags' values (nonzero: selected).
  template <class Flags>
  static channel_mask from_flags(const Flags& flags, std::int64_t channels) {
    channel_mask m;
    m.is_selected.assign(std::size_t(channels), 0);
    for (std::int64_t c = 0; c < channels; ++c) {
      m.is_selected[std::size_t(c)] = flags[c] != 0;
      (m.is_selected[std::size_t(c)] ? m.selected : m.unselected).push_back(int(c));
    }
    return m;
  }

  friend bool operator==(const channel_mask& a, const channel_mask& b) { return a.is_selected == b.is_selected; }
  friend std::ostream& operator<<(std::ostream& os, const channel_mask& m) {
    os << m.selected.size() << "/" << m.channels() << " channels {";
    for (std::size_t i = 0; i < m.selected.size(); ++i) os << (i ? "," : "") << m.selected[i];
    return os << "}";
  }
};

/// Number of channels kept: ceil(K/100 * C), at least 1, at most C.
inline int kept_channels(int channels, double keep_percent) {
  const double k = std::ceil(keep_percent / 100.0 * channels - 1e-9);
  return std::clamp(static_cast<int>(k), 1, channels);
}

/// The top-K% channels by |gamma|; throws config_error naming `where` for K outside (0, 100]
/// or an empty gamma (no BatchNorm before the layer).
inline channel_mask top_channels(std::span<const float> gamma, double keep_percent, const std::string& where) {
  csq_config{.keep_percent = keep_percent}.validate(where);
  if (gamma.empty()) throw config_error(where, "csq", "no BatchNorm produces this layer's input (CSQ ranks channels by its |gamma|)");
  const int c = static_cast<int>(gamma.size());
  std::vector<int> order(static_cast<std::size_t>(c));
  for (int i = 0; i < c; ++i) order[std::size_t(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return std::fabs(gamma[std::size_t(a)]) > std::fabs(gamma[std::size_t(b)]); });
  const int k = kept_channels(c, keep_percent);
  channel_mask m;
  m.is_selected.assign(std::size_t(c), 0);
  for (int i = 0; i < k; ++i) m.is_selected[std::size_t(order[std::size_t(i)])] = 1;
  for (int i = 0; i < c; ++i) (m.is_selected[std::size_t(i)] ? m.selected : m.unselected).push_back(i);
  return m;
}

/// True when the mask must be (re)computed at the start of `epoch` (0-based): epoch 0, E, 2E...
inline bool mask_due(int epoch, const csq_config& c) { return epoch % c.refresh_epochs == 0; }

}  // namespace jaq::nas
