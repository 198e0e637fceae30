// jaq/nn/training.hpp: one training step and an evaluation pass, shared by //examples:train,
// the tests and the benchmarks.
//
//   jaq::tape<float> tp({.threads = 2});
//   auto r = jaq::nn::train_step(*model, opt, tp, batch, step);   // r.loss, r.correct
//   double acc = jaq::nn::evaluate(*model, data.test, {.batch_size = 500, .threads = 2});
//   jaq::nn::recalibrate_batch_norm(*model, data.train, {.images = 2000, .threads = 2});
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/ops/flatten.hpp"
#include "jaq/core/error.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/data/subset.hpp"
#include "jaq/nn/model.hpp"

namespace jaq::nn {

struct step_result {
  double loss = 0.0;
  std::int64_t correct = 0;  ///< arg-max hits in this batch
  std::int64_t count = 0;    ///< images in this batch
};

/// A batch's images (B, C, H, W) as a channel-major tensor (C, B, H, W).
template <scalar T>
tensor<T> batch_tensor(const data::batch& b) {
  const auto& s = b.shape;
  tensor<T> nchw(jaq::shape{b.size(), s.channels, s.height, s.width});
  std::copy(b.images.begin(), b.images.end(), nchw.data());
  if (s.channels == 1) {
    nchw.reshape(jaq::shape{1, b.size(), s.height, s.width});  // same bytes
    return nchw;
  }
  return to_channel_major(nchw);
}

/// The first of `ps` holding a NaN or an infinity, as "conv2.weight (1 of 4608 values nan)";
/// empty when all are finite.
template <scalar T>
std::string first_non_finite_parameter(const std::vector<parameter<T>*>& ps) {
  for (const parameter<T>* p : ps) {
    const non_finite_count bad = count_non_finite(p->value);
    if (bad.count == 0) continue;
    std::ostringstream os;
    os << p->name << " (" << bad.count << " of " << p->value.size() << " values non-finite, the first " << p->value[bad.first] << ")";
    return os.str();
  }
  return {};
}

/// Forward, backward and one optimizer step on `b`. `step` only names the step in errors. A
/// NaN or infinity stops training with a jaq::model_error naming the step and the layer, never
/// skipped: in the batch's images, in a parameter before the forward pass or after the update
/// (a ReLU would otherwise turn a NaN weight's outputs into zeros and train on silently), or in
/// the loss, with where the forward pass first went non-finite ("loss is nan at step 17; first
/// non-finite value: the output of conv2d (node 9), which reads conv2.weight; ...").
template <scalar T, class Optimizer>
step_result train_step(model<T>& m, Optimizer& opt, tape<T>& tp, const data::batch& b, std::int64_t step) {
  const auto params = m.parameters();
  auto stop = [&](const std::string& what) {
    std::ostringstream os;
    os << "training diverged at step " << step << ": " << what << " (try a smaller lr)";
    throw model_error(os.str());
  };
  if (const auto it = std::find_if(b.images.begin(), b.images.end(), [](float v) { return !std::isfinite(v); }); it != b.images.end()) {
    const std::int64_t per_image = b.shape.channels * b.shape.height * b.shape.width;
    stop("input image " + std::to_string((it - b.images.begin()) / std::max<std::int64_t>(per_image, 1)) + " of the batch holds " +
         std::to_string(*it));
  }
  if (const std::string p = first_non_finite_parameter(params); !p.empty()) stop("parameter " + p + " before the forward pass");
  tp.clear();
  tp.set_grad_enabled(true);
  m.set_training(true);
  opt.zero_grad();
  var<T> logits = m.forward(tp, tp.constant(batch_tensor<T>(b)));
  const std::span<const std::int32_t> labels(b.labels);
  var<T> loss = cross_entropy(tp, logits, labels);
  step_result r{.loss = static_cast<double>(loss.value()[0]), .correct = count_correct(logits.value(), labels), .count = b.size()};
  if (!std::isfinite(r.loss)) {
    std::ostringstream os;
    os << "loss is " << r.loss;
    if (const std::string where = tp.first_non_finite(); !where.empty()) os << "; first non-finite value: " << where;
    stop(os.str());
  }
  tp.backward(loss);
  opt.step();
  tp.clear();
  if (const std::string p = first_non_finite_parameter(params); !p.empty()) stop("parameter " + p + " after the update");
  return r;
}

struct eval_options {
  std::int64_t batch_size = 500;
  int threads = 1;
};

/// Accuracy of `m` (evaluation mode, running BatchNorm statistics) on `ds`; restores the mode.
template <scalar T>
double evaluate(model<T>& m, const data::dataset& ds, eval_options o = {}) {
  const bool was = m.training();
  m.set_training(false);
  tape<T> tp({.threads = o.threads});
  tp.set_grad_enabled(false);
  data::batch_iterator it(ds, {.batch_size = o.batch_size});
  data::batch b;
  std::int64_t correct = 0;
  while (it.next(b)) {
    tp.clear();
    var<T> logits = m.forward(tp, tp.constant(batch_tensor<T>(b)));
    correct += count_correct(logits.value(), std::span<const std::int32_t>(b.labels));
  }
  m.set_training(was);
  return static_cast<double>(correct) / static_cast<double>(ds.size());
}

struct recalibrate_options {
  std::int64_t images = 2000;  ///< the first this many images of the data set (0: all)
  std::int64_t batch_size = 250;
  int threads = 1;
};

/// Re-estimates the running statistics of every BatchNorm that `m`'s training-mode forward
/// reaches: each becomes the plain mean over the first `o.images` images of `ds`, in batches, of
/// the batch statistics (the k-th batch weighted 1/k, so the first replaces what was there and
/// a BatchNorm the forward does not reach keeps its statistics). Nothing else changes: no
/// gradient, no parameter, each BatchNorm's momentum and the model's mode are restored.
/// For a network whose running statistics mix several paths (a supernet trained on sampled
/// operators), call it with the path to be evaluated selected, before evaluate().
template <scalar T>
void recalibrate_batch_norm(model<T>& m, const data::dataset& ds, recalibrate_options o = {}) {
  if (o.batch_size < 1) throw config_error("recalibrate_batch_norm", "batch_size", "must be >= 1, got " + std::to_string(o.batch_size));
  if (o.images < 0) throw config_error("recalibrate_batch_norm", "images", "must be >= 0, got " + std::to_string(o.images));
  const std::int64_t n = o.images > 0 ? std::min(o.images, ds.size()) : ds.size();
  if (n == 0) return;
  const bool was = m.training();
  std::vector<double> momenta;
  for (auto* bn : m.batch_norms()) momenta.push_back(bn->momentum);
  auto restore = [&] {
    for (std::size_t i = 0; i < momenta.size(); ++i) m.batch_norms()[i]->momentum = momenta[i];
    m.set_training(was);
  };
  try {
    m.set_training(true);
    tape<T> tp({.threads = o.threads});
    tp.set_grad_enabled(false);
    const data::dataset head = n < ds.size() ? data::first_n(ds, n) : data::dataset{};
    data::batch_iterator it(n < ds.size() ? head : ds, {.batch_size = o.batch_size});
    data::batch b;
    for (std::int64_t k = 1; it.next(b); ++k) {
      for (auto* bn : m.batch_norms()) bn->momentum = 1.0 / double(k);
      tp.clear();
      m.forward(tp, tp.constant(batch_tensor<T>(b)));
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

}  // namespace jaq::nn
