// jaq/core/progress.hpp: one progress line per N training steps, written to a given stream.
//
// The caller times each step (jaq::stopwatch) and reports it; the reporter keeps the epoch's
// running loss and accuracy and an exponentially smoothed step time, from which it derives
// images/s and the ETA of the whole run. Epochs and steps are 0-based in the reports and printed
// 1-based:
//
//   jaq::progress prog(std::cout, {.every = 50, .steps_per_epoch = 469, .epochs = 3});
//   jaq::stopwatch sw;
//   ... train one batch ...
//   prog.update({.epoch = e, .step = s, .loss = loss, .correct = hits, .count = 128,
//                .seconds = sw.lap()});
//   // epoch 1/3 step 50/469 loss 0.6123 acc 0.7744 img/s 5123.4 eta 2m05s
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq {

/// Seconds between laps, on the steady clock.
class stopwatch {
 public:
  stopwatch() : last_(clock::now()) {}
  /// Seconds since construction or the previous lap; starts the next lap.
  double lap() {
    const auto now = clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }
  /// Seconds since construction or the previous lap, without starting a new one.
  double peek() const { return std::chrono::duration<double>(clock::now() - last_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point last_;
};

struct progress_config {
  std::int64_t every = 50;           // print a line every this many steps (and at each epoch's end)
  std::int64_t steps_per_epoch = 0;  // 0: unknown (no "/total", no ETA)
  std::int64_t epochs = 1;
  double smoothing = 0.1;  // weight of the newest step time in the smoothed rate

  friend std::ostream& operator<<(std::ostream& os, const progress_config& c) {
    return os << "progress_config{.every=" << c.every << ", .steps_per_epoch=" << c.steps_per_epoch << ", .epochs=" << c.epochs
              << ", .smoothing=" << c.smoothing << "}";
  }
};

/// What one training step did.
struct step_report {
  std::int64_t epoch = 0;    // 0-based
  std::int64_t step = 0;     // 0-based, within the epoch
  double loss = 0.0;         // mean loss of the batch
  std::int64_t correct = 0;  // correctly classified images in the batch
  std::int64_t count = 0;    // images in the batch
  double seconds = 0.0;      // wall time of the step
};

/// "42s", "2m05s", "1h02m".
inline std::string format_duration(double seconds) {
  if (!(seconds >= 0.0) || !std::isfinite(seconds)) return "?";
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>((s % 3600) / 60));
  }
  return buf;
}

class progress {
 public:
  progress(std::ostream& out, progress_config cfg) : out_(&out), cfg_(cfg) {
    if (cfg_.every <= 0) throw config_error("progress_config", "every", "must be positive, got " + std::to_string(cfg_.every));
    if (!(cfg_.smoothing > 0.0 && cfg_.smoothing <= 1.0)) {
      throw config_error("progress_config", "smoothing", "must be in (0, 1], got " + std::to_string(cfg_.smoothing));
    }
  }

  /// Records one step; prints a line every `every` steps and at the last step of an epoch.
  void update(const step_report& r) {
    if (r.epoch != epoch_) {  // a new epoch: reset the running figures
      epoch_ = r.epoch;
      loss_sum_ = 0.0;
      correct_ = seen_ = steps_in_epoch_ = 0;
    }
    loss_sum_ += r.loss;
    correct_ += r.correct;
    seen_ += r.count;
    ++steps_in_epoch_;
    ++total_steps_;
    last_batch_ = r.count;
    last_ = r;
    // Bias-corrected exponential moving average of the step time (sensible from step one).
    const double a = cfg_.smoothing;
    ema_ = (1.0 - a) * ema_ + a * r.seconds;
    decay_ *= (1.0 - a);
    step_seconds_.push_back(r.seconds);
    const bool epoch_end = cfg_.steps_per_epoch > 0 && r.step + 1 == cfg_.steps_per_epoch;
    if ((r.step + 1) % cfg_.every == 0 || epoch_end) print_line();
  }

  /// The smoothed time of one step, in seconds.
  double smoothed_step_seconds() const { return decay_ < 1.0 ? ema_ / (1.0 - decay_) : 0.0; }
  /// Images per second at the smoothed rate (for the latest batch size).
  double images_per_second() const {
    const double s = smoothed_step_seconds();
    return s > 0.0 ? static_cast<double>(last_batch_) / s : 0.0;
  }
  /// Seconds left for the whole run; negative if unknown (steps_per_epoch == 0).
  double eta_seconds() const {
    if (cfg_.steps_per_epoch <= 0) return -1.0;
    const std::int64_t done = last_.epoch * cfg_.steps_per_epoch + last_.step + 1;
    const std::int64_t left = std::max<std::int64_t>(0, cfg_.epochs * cfg_.steps_per_epoch - done);
    return static_cast<double>(left) * smoothed_step_seconds();
  }
  /// Accuracy and mean loss over the current epoch so far.
  double running_accuracy() const { return seen_ > 0 ? static_cast<double>(correct_) / static_cast<double>(seen_) : 0.0; }
  double running_loss() const { return steps_in_epoch_ > 0 ? loss_sum_ / static_cast<double>(steps_in_epoch_) : 0.0; }
  /// Every step time reported so far, in order (for medians).
  const std::vector<double>& step_seconds() const { return step_seconds_; }

  /// The median step time in seconds, skipping the first `warmup` steps (all if fewer remain).
  double median_step_seconds(std::size_t warmup = 0) const {
    std::vector<double> v(step_seconds_.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, step_seconds_.size())), step_seconds_.end());
    if (v.empty()) v = step_seconds_;
    if (v.empty()) return 0.0;
    const std::size_t m = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
    const double hi = v[m];
    if (v.size() % 2 == 1) return hi;
    const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
    return 0.5 * (lo + hi);
  }

  /// The line for the latest step (what update prints).
  std::string line() const {
    char buf[256];
    std::string step = std::to_string(last_.step + 1);
    if (cfg_.steps_per_epoch > 0) step += "/" + std::to_string(cfg_.steps_per_epoch);
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld step %s loss %.4f acc %.4f img/s %.1f eta %s", static_cast<long long>(last_.epoch) + 1,
                  static_cast<long long>(cfg_.epochs), step.c_str(), running_loss(), running_accuracy(), images_per_second(),
                  format_duration(eta_seconds()).c_str());
    return buf;
  }

 private:
  void print_line() { *out_ << line() << '\n' << std::flush; }

  std::ostream* out_;
  progress_config cfg_;
  std::int64_t epoch_ = 0;
  double loss_sum_ = 0.0;
  std::int64_t correct_ = 0, seen_ = 0, steps_in_epoch_ = 0, total_steps_ = 0, last_batch_ = 0;
  step_report last_{};
  double ema_ = 0.0, decay_ = 1.0;
  std::vector<double> step_seconds_;
};

}  // namespace jaq
