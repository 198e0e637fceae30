// jaq/quant/integer_model.hpp: the integer reference forward of a whole LSQ-quantized network,
// and the image-by-image comparison of its predictions with the fake-quant ones.
//
// An integer_model swaps, for its lifetime, each quantized conv/linear layer's computation
// (weighted_layer::forward_override; the previous hooks come back on destruction) for what an
// integer accelerator computes: activation codes round(clip(x / s_a, -Q_N, Q_P)) as int8 or
// uint8 (the layer's signedness), weight codes per output channel as int8, int32 accumulation
// (conv2d_int32_cm; linear_int32), then y = rescale(acc, s_a, s_w[o]) (+ bias for a linear
// layer), exactly as jaq/quant/integer_conv.hpp defines, returned as a constant on the tape.
// Everything else in the model's forward (BatchNorm with running statistics, ReLU, residual
// adds, pooling, channel shuffle) runs unchanged; the model is in evaluation mode meanwhile.
//
// Exactness: the fused LSQ conv (qconv2d) computes the same sums on codes held in float, so each
// conv output equals the integer one bit for bit while K Q_a Q_w <= 2^24 (exact_reduction_limit).
// The fake-quant linear layer multiplies dequantized values (lsq_quantize, then a float GEMM),
// so the logits of a network ending in a linear layer differ from the integer ones by float
// rounding (a few ulp); compare_predictions counts whether that ever changes an arg-max.
//
// Only LSQ layers have an integer path (PACT, min/max and DoReFa are refused with a
// config_error naming the layer), and every quantized layer must have seen a training batch
// (which sets its activation step and signedness).
//
//   jaq::quant::quantized_model<float> q(*model, {.method = jaq::quant::method::lsq});
//   ... train ...
//   auto r = jaq::quant::compare_predictions(*model, q, data.test, {.batch_size = 500, .threads = 2});
//   std::cout << r;   // accuracies, images agreeing, first disagreeing image
//   { jaq::quant::integer_model<float> im(*model, q); auto logits = im.forward(tp, x); }  // hooks restored
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/model.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/integer_conv.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/quantize_model.hpp"

namespace jaq::quant {

namespace detail {

/// codes[i] = lsq_code(v[i], s[i / inner]) as the grid's storage type (int8 or uint8).
template <grid G, scalar T>
std::vector<typename G::storage> lsq_integer_codes(tbb_backend ex, const T* v, const T* s, std::int64_t n, std::int64_t inner) {
  std::vector<typename G::storage> codes(static_cast<std::size_t>(n));
  auto* out = codes.data();
  if (inner == n) {  // one step (an activation): no per-element channel index
    const T sc = s[0];
    parallel_for_chunks(ex, 0, n, 16384, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) out[i] = static_cast<typename G::storage>(lsq_code(v[i], sc, G::q_n, G::q_p));
    });
    return codes;
  }
  parallel_for(ex, 0, n / inner, [&](std::int64_t c) {
    const T sc = s[c];
    for (std::int64_t i = c * inner; i < (c + 1) * inner; ++i)
      out[i] = static_cast<typename G::storage>(lsq_code(v[i], sc, G::q_n, G::q_p));
  });
  return codes;
}

}  // namespace detail

template <scalar T>
class integer_model {
 public:
  using layer_quant = typename quantized_model<T>::layer_quant;

  /// Installs the integer path on every layer `q` quantizes; `m` and `q` must outlive this, and
  /// `q` must be the quantizer installed on `m`.
  integer_model(nn::model<T>& m, const quantized_model<T>& q) : model_(m), was_training_(m.training()) {
    std::vector<std::pair<nn::weighted_layer<T>*, layer_quant>> plan;
    for (const layer_quant& lq : q.layers()) {
      nn::weighted_layer<T>* layer = nullptr;
      for (const auto& site : m.sites())
        if (site.layer->name == lq.name) layer = site.layer;
      if (!layer) throw config_error(m.name(), "layer " + lq.name, "quantized layer not in this model (another model's quantizer?)");
      if (lq.act_method != method::lsq || lq.weight_method != method::lsq)
        throw config_error(lq.name, "method",
                           std::string("no integer path for ") + to_string(lq.act_method) + " activations / " +
                               to_string(lq.weight_method) + " weights (only LSQ layers have one)");
      if (!lq.initialized)
        throw config_error(lq.name, "act_step", "not initialised: run one training forward through the quantized model first");
      if (!dynamic_cast<nn::conv2d<T>*>(layer) && !dynamic_cast<nn::linear<T>*>(layer))
        throw config_error(lq.name, "kind", "integer path exists for conv2d and linear layers only");
      plan.emplace_back(layer, lq);
    }
    for (auto& [layer, lq] : plan) {
      saved_.push_back({layer, layer->forward_override});
      if (auto* conv = dynamic_cast<nn::conv2d<T>*>(layer))
        install_conv(*conv, lq);
      else
        install_linear(*dynamic_cast<nn::linear<T>*>(layer), lq);
    }
    m.set_training(false);
  }
  integer_model(const integer_model&) = delete;
  integer_model& operator=(const integer_model&) = delete;

  ~integer_model() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) it->layer->forward_override = std::move(it->previous);
    model_.set_training(was_training_);
  }

  /// The model's forward with the integer layers: x (C, N, H, W) -> logits (N, classes).
  var<T> forward(tape<T>& tp, var<T> x) { return model_.forward(tp, x); }

  /// How many layers run on integers.
  std::int64_t integer_layers() const { return std::int64_t(saved_.size()); }

 private:
  struct saved_hook {
    nn::weighted_layer<T>* layer;
    typename nn::weighted_layer<T>::override_fn previous;
  };

  /// Activation codes of x with the layer's step and grid, as A = int8 or uint8 in f(codes).
  template <class F>
  static void with_act_codes(tbb_backend ex, const layer_quant& lq, const tensor<T>& x, F&& f) {
    with_grid(lq.abits, lq.act_signed, lq.name + ".input", [&](auto grid) {
      using G = decltype(grid);
      const auto codes = detail::lsq_integer_codes<G>(ex, x.data(), lq.s_a->value.data(), x.size(), x.size());
      f(std::span<const typename G::storage>(codes));
    });
  }

  static std::vector<std::int8_t> weight_codes(tbb_backend ex, const layer_quant& lq, const tensor<T>& w) {
    const std::int64_t steps = lq.s_w->value.size();
    return with_grid(lq.wbits, true, lq.name + ".weight", [&](auto grid) {
      using G = decltype(grid);
      const auto c = detail::lsq_integer_codes<G>(ex, w.data(), lq.s_w->value.data(), w.size(), w.size() / steps);
      return std::vector<std::int8_t>(c.begin(), c.end());
    });
  }

  void install_conv(nn::conv2d<T>& conv, const layer_quant& lq) {
    conv.forward_override = [lq](tape<T>& tp, var<T> x, nn::weighted_layer<T>& self) {
      auto& c = static_cast<nn::conv2d<T>&>(self);
      const auto& xs = x.shape();  // (C, N, H, W)
      if (xs.rank != 4 || xs[0] != c.spec.in_channels)
        throw model_error(lq.name + ": integer conv input " + xs.str() + " is not (" + std::to_string(c.spec.in_channels) + ", N, H, W)");
      const conv_geometry g = jaq::conv_geometry::of({.c = int(xs[0]),
                                                      .n = int(xs[1]),
                                                      .h = int(xs[2]),
                                                      .w = int(xs[3]),
                                                      .kh = int(c.spec.kernel),
                                                      .kw = int(c.spec.kernel),
                                                      .stride = int(c.spec.stride),
                                                      .pad = int(c.spec.padding),
                                                      .co = int(c.spec.out_channels),
                                                      .groups = int(c.spec.groups)});
      const auto ex = tp.exec();
      const std::vector<std::int8_t> wc = weight_codes(ex, lq, c.weight.value);
      std::vector<std::int32_t> acc(static_cast<std::size_t>(g.output_size()));  // (O, N, Ho, Wo)
      with_act_codes(ex, lq, x.value(),
                     [&](auto codes) { conv2d_int32_cm(ex, g, codes, std::span<const std::int8_t>(wc), std::span<std::int32_t>(acc)); });
      tensor<T> y(jaq::shape{g.co, g.n, g.ho, g.wo});
      const T sa = lq.s_a->value[0];
      const T* sw = lq.s_w->value.data();
      const bool per_channel = lq.s_w->value.size() > 1;
      const std::int64_t plane = std::int64_t(g.n) * g.ho * g.wo;
      T* yv = y.data();
      parallel_for(ex, 0, g.co, [&](std::int64_t o) {
        const T so = sw[per_channel ? o : 0];
        for (std::int64_t i = o * plane; i < (o + 1) * plane; ++i) yv[i] = rescale(static_cast<T>(acc[std::size_t(i)]), sa, so);
      });
      return tp.constant(std::move(y));
    };
  }

  void install_linear(nn::linear<T>& fc, const layer_quant& lq) {
    fc.forward_override = [lq](tape<T>& tp, var<T> x, nn::weighted_layer<T>& self) {
      auto& l = static_cast<nn::linear<T>&>(self);
      const auto& xs = x.shape();  // (N, F)
      if (xs.rank != 2 || xs[1] != l.spec.in_features)
        throw model_error(lq.name + ": integer linear input " + xs.str() + " is not (N, " + std::to_string(l.spec.in_features) + ")");
      const int n = int(xs[0]), in = int(l.spec.in_features), out = int(l.spec.out_features);
      const auto ex = tp.exec();
      const std::vector<std::int8_t> wc = weight_codes(ex, lq, l.weight.value);
      std::vector<std::int32_t> acc(std::size_t(n) * out);  // (N, out)
      with_act_codes(ex, lq, x.value(),
                     [&](auto codes) { linear_int32(n, in, out, codes, std::span<const std::int8_t>(wc), std::span<std::int32_t>(acc)); });
      tensor<T> y(jaq::shape{n, out});
      const T sa = lq.s_a->value[0];
      const T* sw = lq.s_w->value.data();
      const bool per_channel = lq.s_w->value.size() > 1;
      for (int i = 0; i < n; ++i)
        for (int o = 0; o < out; ++o) {
          const std::size_t at = std::size_t(i) * out + o;
          y[std::int64_t(at)] = rescale(static_cast<T>(acc[at]), sa, sw[per_channel ? o : 0]) + l.bias.value[o];
        }
      return tp.constant(std::move(y));
    };
  }

  nn::model<T>& model_;
  bool was_training_;
  std::vector<saved_hook> saved_;
};

/// Fake-quant vs integer predictions on a data set, image by image.
struct prediction_agreement {
  double fake_quant_accuracy = 0.0;
  double integer_accuracy = 0.0;
  std::int64_t images = 0;
  std::int64_t agreeing = 0;                  ///< images whose two arg-maxes are the same
  std::int64_t first_disagreeing_index = -1;  ///< dataset index, -1 when all agree
  double fake_quant_seconds = 0.0;            ///< wall time of each pass
  double integer_seconds = 0.0;

  friend std::ostream& operator<<(std::ostream& os, const prediction_agreement& r) {
    os << "prediction_agreement{fake-quant accuracy " << r.fake_quant_accuracy << ", integer accuracy " << r.integer_accuracy << ", "
       << r.agreeing << "/" << r.images << " agree";
    if (r.first_disagreeing_index >= 0) os << ", first disagreement at image " << r.first_disagreeing_index;
    return os << ", " << r.fake_quant_seconds << " s fake-quant, " << r.integer_seconds << " s integer}";
  }
};

namespace detail {

/// Arg-max of each row of (N, classes) logits, first maximum on ties (as count_correct).
template <scalar T>
void append_argmax(const tensor<T>& logits, std::vector<std::int32_t>& out) {
  const std::int64_t n = logits.shape()[0], k = logits.shape()[1];
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < k; ++j)
      if (logits[i * k + j] > logits[i * k + best]) best = j;
    out.push_back(std::int32_t(best));
  }
}

/// Predictions of `m` on `ds` in file order (evaluation mode, no gradients).
template <scalar T>
std::vector<std::int32_t> predict_all(nn::model<T>& m, const data::dataset& ds, nn::eval_options o) {
  tape<T> tp({.threads = o.threads});
  tp.set_grad_enabled(false);
  data::batch_iterator it(ds, {.batch_size = o.batch_size});
  data::batch b;
  std::vector<std::int32_t> pred;
  pred.reserve(static_cast<std::size_t>(ds.size()));
  while (it.next(b)) {
    tp.clear();
    append_argmax(m.forward(tp, tp.constant(nn::batch_tensor<T>(b))).value(), pred);
  }
  return pred;
}

}  // namespace detail

/// Runs `ds` through `m` twice, fake-quant (as `q` installed it) and integer (integer_model),
/// both in evaluation mode, and compares the arg-maxes image by image. Restores the mode.
template <scalar T>
prediction_agreement compare_predictions(nn::model<T>& m, quantized_model<T>& q, const data::dataset& ds, nn::eval_options o = {}) {
  using clock = std::chrono::steady_clock;
  const bool was = m.training();
  prediction_agreement r;
  r.images = ds.size();
  m.set_training(false);
  auto t0 = clock::now();
  const std::vector<std::int32_t> fake = detail::predict_all(m, ds, o);
  auto t1 = clock::now();
  std::vector<std::int32_t> integer;
  {
    integer_model<T> im(m, q);
    integer = detail::predict_all(m, ds, o);
  }
  auto t2 = clock::now();
  m.set_training(was);
  r.fake_quant_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.integer_seconds = std::chrono::duration<double>(t2 - t1).count();
  std::int64_t fc = 0, ic = 0;
  for (std::int64_t i = 0; i < r.images; ++i) {
    const auto u = std::size_t(i);
    fc += fake[u] == ds.labels[u];
    ic += integer[u] == ds.labels[u];
    if (fake[u] == integer[u])
      ++r.agreeing;
    else if (r.first_disagreeing_index < 0)
      r.first_disagreeing_index = i;
  }
  if (r.images > 0) {
    r.fake_quant_accuracy = double(fc) / double(r.images);
    r.integer_accuracy = double(ic) / double(r.images);
  }
  return r;
}

}  // namespace jaq::quant
