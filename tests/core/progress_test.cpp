#include "jaq/core/progress.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

namespace {
std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) v.push_back(l);
  return v;
}
}  // namespace

TEST_CASE("progress: one line every N steps and at the end of each epoch, with running figures") {
  std::ostringstream os;
  jaq::progress p(os, {.every = 2, .steps_per_epoch = 5, .epochs = 2});
  for (int e = 0; e < 2; ++e) {
    for (int s = 0; s < 5; ++s) {
      // Loss 1.0 each step; 3 of 4 correct in epoch 0, 4 of 4 in epoch 1; 0.5 s per step.
      p.update({.epoch = e, .step = s, .loss = 1.0 + s, .correct = e == 0 ? 3 : 4, .count = 4, .seconds = 0.5});
    }
  }
  const auto l = lines_of(os.str());
  REQUIRE(l.size() == 6);  // steps 2, 4, 5 of each epoch
  CHECK(l[0] == "epoch 1/2 step 2/5 loss 1.5000 acc 0.7500 img/s 8.0 eta 4s");
  CHECK(l[2] == "epoch 1/2 step 5/5 loss 3.0000 acc 0.7500 img/s 8.0 eta 3s");
  CHECK(l[3] == "epoch 2/2 step 2/5 loss 1.5000 acc 1.0000 img/s 8.0 eta 2s");  // reset per epoch
  CHECK(l[5] == "epoch 2/2 step 5/5 loss 3.0000 acc 1.0000 img/s 8.0 eta 0s");
  CHECK(p.step_seconds().size() == 10);
}

TEST_CASE("progress: the smoothed rate follows a change in step time, bias-corrected from the start") {
  std::ostringstream os;
  jaq::progress p(os, {.every = 1000, .steps_per_epoch = 100, .epochs = 1, .smoothing = 0.5});
  p.update({.step = 0, .count = 10, .seconds = 2.0});
  CHECK(p.smoothed_step_seconds() == doctest::Approx(2.0));  // not 1.0: bias-corrected
  for (int s = 1; s < 30; ++s) p.update({.step = s, .count = 10, .seconds = 1.0});
  CHECK(p.smoothed_step_seconds() == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(p.images_per_second() == doctest::Approx(10.0).epsilon(1e-6));
  CHECK(p.eta_seconds() == doctest::Approx(70.0).epsilon(1e-6));
  CHECK(os.str().empty());
}

TEST_CASE("progress: median step time skips warm-up steps") {
  std::ostringstream os;
  jaq::progress p(os, {.every = 1000});
  const double t[] = {9.0, 8.0, 1.0, 3.0, 2.0, 4.0};
  for (int s = 0; s < 6; ++s) p.update({.step = s, .count = 1, .seconds = t[s]});
  CHECK(p.median_step_seconds(2) == doctest::Approx(2.5));
  CHECK(p.median_step_seconds(3) == doctest::Approx(3.0));
  CHECK(p.median_step_seconds() == doctest::Approx(3.5));
  CHECK(p.median_step_seconds(100) == doctest::Approx(3.5));  // too few left: all steps
}

TEST_CASE("progress: unknown epoch length prints no total and no ETA") {
  std::ostringstream os;
  jaq::progress p(os, {.every = 1});
  p.update({.step = 0, .loss = 0.25, .correct = 1, .count = 2, .seconds = 0.1});
  CHECK(os.str() == "epoch 1/1 step 1 loss 0.2500 acc 0.5000 img/s 20.0 eta ?\n");
}

TEST_CASE("progress: durations format as s, m s, h m") {
  CHECK(jaq::format_duration(42.4) == "42s");
  CHECK(jaq::format_duration(125) == "2m05s");
  CHECK(jaq::format_duration(3720) == "1h02m");
  CHECK(jaq::format_duration(-1) == "?");
}

TEST_CASE("progress: bad configuration values are config_errors") {
  std::ostringstream os;
  CHECK_THROWS_WITH(jaq::progress(os, {.every = 0}), "progress_config: every: must be positive, got 0");
  CHECK_THROWS_AS(jaq::progress(os, {.smoothing = 0.0}), jaq::config_error);
}

TEST_CASE("stopwatch: laps are non-negative and peek does not reset") {
  jaq::stopwatch sw;
  const double a = sw.peek();
  const double b = sw.lap();
  CHECK(a >= 0.0);
  CHECK(b >= a);
  CHECK(sw.peek() >= 0.0);
}
