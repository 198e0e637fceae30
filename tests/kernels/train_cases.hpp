// Shared by the device training engine's tests (train_program_test on the CPU, gpu_test on a
// GPU): tensor comparisons, random batches, and the small-cnn / mbconv-small models they train.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/quant/quantize_model.hpp"
#include "kernels/train_model.hpp"

namespace jaq_test {

/// ||a - b|| / max(||b||, tiny): a tensor-level relative error.
inline double rel_err(const float* a, const float* b, std::int64_t n) {
  double d = 0, s = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    s += double(b[i]) * b[i];
  }
  return std::sqrt(d) / std::max(std::sqrt(s), 1e-12);
}

/// ||a - b|| / max(||b||, floor sqrt(n)): relative, except for a tensor far smaller than its
/// kind's typical entry `floor` (a gradient that is zero in exact arithmetic, such as a
/// BatchNorm shift followed by a 1x1 convolution and another BatchNorm, is rounding noise).
inline double rel_err_floor(const float* a, const float* b, std::int64_t n, double floor) {
  double d = 0, s = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    s += double(b[i]) * b[i];
  }
  return std::sqrt(d) / std::max({std::sqrt(s), floor * std::sqrt(double(n)), 1e-30});
}

/// Root mean square of every element of the tensors.
inline double rms(const std::vector<const jaq::tensor<float>*>& ts) {
  double s = 0;
  std::int64_t n = 0;
  for (const auto* t : ts) {
    for (float v : *t) s += double(v) * v;
    n += t->size();
  }
  return std::sqrt(s / double(std::max<std::int64_t>(n, 1)));
}

inline jaq::data::batch random_batch(jaq::rng& r, std::int64_t n, jaq::data::image_shape s, std::int32_t classes) {
  jaq::data::batch b;
  b.shape = s;
  b.images.resize(static_cast<std::size_t>(n * s.elements()));
  for (auto& v : b.images) v = static_cast<float>(r.normal());
  for (std::int64_t i = 0; i < n; ++i) b.labels.push_back(std::min(classes - 1, static_cast<std::int32_t>(r.uniform() * classes)));
  return b;
}

// ---- one convolution, by hand --------------------------------------------------------------------

inline std::unique_ptr<jaq::nn::model<float>> build(const std::string& name, jaq::rng& gen) {
  if (name == "small-cnn") return std::make_unique<jaq::nn::small_cnn<float>>(jaq::nn::small_cnn_config{}, gen);
  return std::make_unique<jaq::nn::mbconv_small<float>>(
      jaq::nn::mbconv_small_config{.blocks = {{.kernel = 3, .expansion = 1, .stride = 1, .out_channels = 16},
                                              {.kernel = 3, .expansion = 4, .stride = 2, .out_channels = 24},
                                              {.kernel = 5, .expansion = 4, .stride = 1, .out_channels = 24}},
                                   .head_channels = 32},
      gen);
}

/// The model, with its BatchNorms' gamma and beta drawn away from 1 and 0 (as after some
/// training). With beta = 0 and quantized inputs, a convolution's many exact zeros sit at a
/// channel mean of about 0, and whether ReLU passes them is decided by the last bit of that mean,
/// which the two engines sum in different orders: a real discontinuity, not a difference of
/// definitions, that would make the comparison a coin toss.
inline std::unique_ptr<jaq::nn::model<float>> make(const std::string& name) {
  jaq::rng gen(11);
  std::unique_ptr<jaq::nn::model<float>> m = build(name, gen);
  jaq::rng bn_gen(12);
  for (auto* bn : m->batch_norms()) {
    for (auto& v : bn->gamma.value) v = static_cast<float>(1.0 + 0.2 * bn_gen.normal());
    for (auto& v : bn->beta.value) v = static_cast<float>(0.2 * bn_gen.normal());
  }
  return m;
}

inline const jaq::optim::sgd_config sgd_cfg{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4};

/// A model, its LSQ 4-bit quantization (when asked) and its SGD, as //examples:train makes them.
struct test_model {
  std::unique_ptr<jaq::nn::model<float>> model;
  std::unique_ptr<jaq::quant::quantized_model<float>> quant;
  std::unique_ptr<jaq::optim::sgd<float>> opt;
};

/// `method`: "fp32", or a quantizer of jaq::quant::parse_method at 4 bits. `initialize`: set the
/// activation steps (clips) from `first` now (a trainer needs them); else the first CPU step does.
inline test_model make_test_model(const std::string& name, const std::string& method, const jaq::data::batch& first, bool initialize) {
  test_model t;
  t.model = make(name);
  if (method != "fp32") {
    t.quant = std::make_unique<jaq::quant::quantized_model<float>>(
        *t.model, jaq::quant::quant_config{.method = jaq::quant::parse_method(method), .wbits = 4, .abits = 4});
    if (initialize) jaq::cuda::initialize_quantizers(*t.model, first, t.quant.get());
  }
  t.opt = std::make_unique<jaq::optim::sgd<float>>(t.quant ? t.quant->parameters(t.model->parameters()) : t.model->parameters(), sgd_cfg);
  return t;
}

/// One side's whole training state (parameters, steps, momentum and step count, running
/// statistics, min/max observers) into the other side's model: a comparison's next step
/// starts both from the same state.
inline void copy_state(test_model& from, test_model& to) {
  auto params = [](test_model& t) { return t.quant ? t.quant->parameters(t.model->parameters()) : t.model->parameters(); };
  const auto pf = params(from), pt = params(to);
  for (std::size_t k = 0; k < pf.size(); ++k) pt[k]->value = pf[k]->value.clone();
  const auto sf = from.opt->state(), st = to.opt->state();
  for (std::size_t k = 0; k < sf.size(); ++k) *st[k].value = sf[k].value->clone();
  for (std::size_t j = 0; j < from.model->batch_norms().size(); ++j) {
    to.model->batch_norms()[j]->state.running_mean = from.model->batch_norms()[j]->state.running_mean.clone();
    to.model->batch_norms()[j]->state.running_var = from.model->batch_norms()[j]->state.running_var.clone();
  }
  if (from.quant)
    for (std::size_t i = 0; i < from.quant->layers().size(); ++i) to.quant->observer(i) = from.quant->observer(i);
}

}  // namespace jaq_test
