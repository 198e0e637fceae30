// jaq/optim/schedule.hpp: learning-rate schedules, functions of the step.
//
//   jaq::optim::cosine_schedule s{.base_lr = 0.1, .total_steps = 4690, .warmup_steps = 100};
//   opt.set_lr(s(step));   // linear warm-up, then base_lr -> min_lr along half a cosine
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <ostream>

namespace jaq::optim {

struct cosine_schedule {
  double base_lr = 0.1;
  std::int64_t total_steps = 1;
  std::int64_t warmup_steps = 0;
  double min_lr = 0.0;

  /// Learning rate for step (0-based); min_lr from total_steps on.
  double operator()(std::int64_t step) const {
    if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const std::int64_t span = std::max<std::int64_t>(1, total_steps - warmup_steps);
    const double t = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span));
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * t));
  }

  friend std::ostream& operator<<(std::ostream& os, const cosine_schedule& s) {
    return os << "cosine_schedule{.base_lr=" << s.base_lr << ", .total_steps=" << s.total_steps << ", .warmup_steps=" << s.warmup_steps
              << ", .min_lr=" << s.min_lr << "}";
  }
};

}  // namespace jaq::optim
