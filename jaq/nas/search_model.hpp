// jaq/nas/search_model.hpp: turns a jaq::nn model into a mixed-precision search network, with
// or without CSQ, through the layers' hooks.
//
// Every inner convolution becomes a search layer over the candidate widths (weights and input
// activation at the same width b, LSQ): architecture logits beta (one per candidate, trained by
// Adam on the architecture steps), per-candidate step sizes (trained with the weights).
// Heterogeneous sampling (Auto-NBA): even steps are weight steps (Gumbel-softmax over all
// candidates, soft mixture; the weight optimizer steps), odd steps are architecture steps (hard
// top-2 sampling; only beta steps). The temperature follows `tau` per epoch. With `csq`, only the
// top-K% input channels by |gamma| of the producing BatchNorm are quantized, the mask recomputed
// every E epochs; without it every channel runs at every candidate (`fused_naive` picks the fused
// all-channel op instead of the per-candidate composition). The first and the last weighted
// layers stay at fixed precision (jaq::quant::quantized_model, 8 bits by default), as do
// linear layers. In evaluation each layer runs its arg-max candidate.
//
//   jaq::nas::search_model<float> s(*model, {.bits = {2, 3, 4, 8}, .csq = jaq::nas::csq_config{.keep_percent = 20}}, gen);
//   jaq::optim::sgd<float> opt(s.parameters(model->parameters()), {...});
//   for each epoch e: s.begin_epoch(e);  for each step: s.begin_step(step); train_step(*model, s.optimizer(opt), ...)
//   std::cout << s.derived();   // per-layer arg-max widths
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/parameter.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/list.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/nas/mixed_conv.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/model.hpp"
#include "jaq/optim/adam.hpp"
#include "jaq/quant/quantize_model.hpp"

namespace jaq::nas {

struct search_config {
  std::vector<int> bits{2, 3, 4, 8};
  std::optional<csq_config> csq;  ///< empty: every channel at every candidate
  bool fused_naive = false;       ///< without csq: the fused all-channel op instead of the composition
  temperature_schedule tau{};
  int first_bits = 8;
  int last_bits = 8;
  double arch_lr = 3e-3;

  void validate(const std::string& where) const {
    if (bits.empty()) throw config_error(where, "bits", "no candidate bit-widths");
    for (int b : bits) quant::all_bits::check(b, where);
    for (std::size_t i = 1; i < bits.size(); ++i)
      if (std::find(bits.begin(), bits.begin() + std::ptrdiff_t(i), bits[i]) != bits.begin() + std::ptrdiff_t(i))
        throw config_error(where, "bits", "bit-width " + std::to_string(bits[i]) + " listed twice");
    if (csq) csq->validate(where);
    tau.validate(where);
  }
};

/// Parses "2,3,4,8" (jaq::parse_int_list); a malformed list is a config_error naming `where`.
inline std::vector<int> parse_bits(const std::string& s, const std::string& where = "bit list") {
  std::vector<int> out;
  for (const std::int64_t v : parse_int_list(s, where, "bits")) {
    if (v < -1000 || v > 1000) throw config_error(where, "bits", std::to_string(v) + " in '" + s + "' is no bit-width");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

/// The per-layer arg-max widths of a search: the derived network.
struct derived_precision {
  std::vector<std::pair<std::string, int>> layers;
  friend std::ostream& operator<<(std::ostream& os, const derived_precision& d) {
    for (const auto& [name, bits] : d.layers) os << "  " << name << ": " << bits << " bits\n";
    return os;
  }
};

template <scalar T>
class search_model {
 public:
  search_model(nn::model<T>& m, search_config c, rng& gen)
      : model_(m),
        cfg_(std::move(c)),
        sample_seed_(gen()),  // one draw of the caller's generator, as split() took
        fixed_(m, {.method = quant::method::lsq, .first_bits = cfg_.first_bits, .last_bits = cfg_.last_bits, .first_last_only = true}) {
    cfg_.validate(m.name());
    const auto& sites = m.sites();
    for (std::size_t i = 1; i + 1 < sites.size(); ++i) {
      auto* conv = dynamic_cast<nn::conv2d<T>*>(sites[i].layer);
      if (!conv) continue;
      const bool grouped = conv->spec.groups > 1;
      if (grouped && !(conv->spec.groups == conv->spec.in_channels && conv->spec.groups == conv->spec.out_channels))
        continue;  // grouped (not depthwise) convolutions stay in full precision
      if (cfg_.csq && !sites[i].input_bn)
        throw config_error(conv->name, "csq", "no BatchNorm produces this layer's input (CSQ ranks channels by its |gamma|)");
      install(*conv, sites[i].input_bn);
    }
    std::vector<parameter<T>*> betas;
    for (auto& l : layers_) betas.push_back(&l.beta);
    arch_opt_ = std::make_unique<optim::adam<T>>(betas, optim::adam_config{.lr = cfg_.arch_lr});
  }
  search_model(const search_model&) = delete;  // the hooks point into this object
  search_model& operator=(const search_model&) = delete;

  /// Weight-side parameters: `model_params` plus every step size (not the logits).
  std::vector<parameter<T>*> parameters(std::vector<parameter<T>*> model_params = {}) {
    model_params = fixed_.parameters(std::move(model_params));
    for (auto& l : layers_)
      for (std::size_t b = 0; b < cfg_.bits.size(); ++b) {
        model_params.push_back(&l.s_a[b]);
        model_params.push_back(&l.s_w[b]);
      }
    return model_params;
  }
  std::vector<parameter<T>*> arch_parameters() {
    std::vector<parameter<T>*> ps;
    for (auto& l : layers_) ps.push_back(&l.beta);
    return ps;
  }

  /// Temperature for the epoch; recomputes the CSQ masks when due (epoch 0, E, 2E, ...).
  /// `resumed`: the epoch continues from a checkpoint taken inside it, whose masks were restored
  /// (recomputing them from the trained gamma would change the run).
  void begin_epoch(int epoch, bool resumed = false) {
    tau_ = cfg_.tau.at(epoch);
    if (cfg_.csq && mask_due(epoch, *cfg_.csq) && !resumed)
      for (auto& l : layers_) {
        const auto& g = l.input_bn->gamma.value;
        std::vector<float> gamma(g.begin(), g.end());
        l.mask = top_channels(gamma, cfg_.csq->keep_percent, l.name);
      }
  }

  /// Weight step (even) or architecture step (odd); draws each layer's Gumbel sample.
  /// Step s draws from a stream of its own, seeded from (seed, s): a resumed run draws what an
  /// uninterrupted one draws, with no generator state to checkpoint.
  void begin_step(std::int64_t step) {
    arch_step_ = step % 2 == 1;
    rng gen(sample_seed_ + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(step + 1));
    for (auto& l : layers_) {
      std::vector<float> beta(l.beta.value.begin(), l.beta.value.end());
      l.sample = gumbel_sample_weights(beta, tau_, arch_step_ ? sampling::top2 : sampling::soft, gen);
    }
  }

  /// Everything a checkpoint needs to continue the search exactly: the fixed first/last layers'
  /// quantizer state, each search layer's logits, per-width steps, flags (initialised, signed)
  /// and CSQ mask, and the architecture optimizer's moments. Packs the flags and masks at each
  /// call; after load_checkpoint of these entries, call restore_state().
  std::vector<named_tensor<T>> state() {
    std::vector<named_tensor<T>> out = fixed_.state();
    for (auto& l : layers_) {
      l.packed = tensor<T>(jaq::shape{2});
      l.packed[0] = T(l.initialized);
      l.packed[1] = T(l.act_signed);
      l.mask_state = tensor<T>(jaq::shape{std::int64_t(l.mask.channels())});
      l.mask.write_flags(l.mask_state);
      out.push_back({l.beta.name, &l.beta.value});
      for (std::size_t b = 0; b < cfg_.bits.size(); ++b) {
        out.push_back({l.s_a[b].name, &l.s_a[b].value});
        out.push_back({l.s_w[b].name, &l.s_w[b].value});
      }
      out.push_back({l.name + ".search_flags", &l.packed});
      out.push_back({l.name + ".csq_mask", &l.mask_state});
    }
    for (auto& e : arch_opt_->state()) out.push_back(e);
    return out;
  }
  /// Unpacks what state() packed, after a load_checkpoint into its entries.
  void restore_state() {
    fixed_.restore_state();
    for (auto& l : layers_) {
      l.initialized = l.packed[0] != T(0);
      l.act_signed = l.packed[1] != T(0);
      l.mask = channel_mask::from_flags(l.mask_state, l.mask_state.size());
    }
  }
  bool arch_step() const { return arch_step_; }

  /// An optimizer for jaq::nn::train_step: weight steps update `weights`, architecture steps beta.
  template <class Opt>
  struct stepper {
    search_model* self;
    Opt* weights;
    void zero_grad() {
      weights->zero_grad();
      self->arch_opt_->zero_grad();
    }
    void step() {
      if (self->arch_step_) {
        self->arch_opt_->step();
      } else {
        weights->step();
        self->project();
      }
    }
  };
  template <class Opt>
  stepper<Opt> optimizer(Opt& weights) {
    return {this, &weights};
  }

  /// Keeps every step size positive after a weight step (see quantized_model::project).
  void project(T min_step = T(1e-6)) {
    fixed_.project(min_step);
    for (auto& l : layers_)
      for (std::size_t b = 0; b < l.s_a.size(); ++b) {
        for (auto& v : l.s_a[b].value) v = std::max(v, min_step);
        for (auto& v : l.s_w[b].value) v = std::max(v, min_step);
      }
  }

  derived_precision derived() const {
    derived_precision d;
    for (const auto& l : layers_) d.layers.push_back({l.name, cfg_.bits[argmax(l.beta.value)]});
    return d;
  }

  // ---- the search layers' parts, for an engine that runs them elsewhere (kernels/train_model.hpp
  // binds them to the device training engine) ----

  struct layer_view {
    const std::string& name;
    parameter<T>& beta;
    std::vector<parameter<T>>& s_a;  ///< per candidate width
    std::vector<parameter<T>>& s_w;
    const channel_mask& mask;
    const gumbel_weights& sample;  ///< this step's (begin_step)
    bool initialized, act_signed;
  };
  std::size_t num_layers() const { return layers_.size(); }
  layer_view layer(std::size_t i) {
    layer_state& l = layers_[i];
    return {l.name, l.beta, l.s_a, l.s_w, l.mask, l.sample, l.initialized, l.act_signed};
  }
  const search_config& config() const { return cfg_; }
  double temperature() const { return tau_; }
  /// The first and last layers' fixed-width quantization.
  quant::quantized_model<T>& fixed() { return fixed_; }
  optim::adam<T>& arch_optimizer() { return *arch_opt_; }

  /// The current CSQ mask of each search layer (every channel without CSQ).
  std::vector<std::pair<std::string, channel_mask>> masks() const {
    std::vector<std::pair<std::string, channel_mask>> out;
    for (const auto& l : layers_) out.push_back({l.name, l.mask});
    return out;
  }

  friend std::ostream& operator<<(std::ostream& os, const search_model& s) {
    os << "search over {";
    for (std::size_t i = 0; i < s.cfg_.bits.size(); ++i) os << (i ? "," : "") << s.cfg_.bits[i];
    os << "}, " << (s.cfg_.csq ? "CSQ K=" + csq_config::format(s.cfg_.csq->keep_percent) + "%" : std::string("all channels")) << ", "
       << s.layers_.size() << " search layers, " << s.cfg_.tau << '\n';
    return os;
  }

 private:
  struct layer_state {
    std::string name;
    nn::batch_norm<T>* input_bn = nullptr;
    parameter<T> beta;
    std::vector<parameter<T>> s_a, s_w;  // per candidate
    channel_mask mask;
    gumbel_weights sample;
    bool initialized = false;
    bool act_signed = false;
    tensor<T> packed, mask_state;  // state()'s packed flags and mask
  };

  static std::size_t argmax(const tensor<T>& v) {
    std::size_t best = 0;
    for (std::int64_t i = 1; i < v.size(); ++i)
      if (v[i] > v[std::int64_t(best)]) best = std::size_t(i);
    return best;
  }

  void install(nn::conv2d<T>& conv, nn::batch_norm<T>* input_bn) {
    layer_state& st = layers_.emplace_back();
    st.name = conv.name;
    st.input_bn = input_bn;
    const std::size_t nb = cfg_.bits.size();
    const std::int64_t co = conv.spec.out_channels;
    st.beta = {.name = conv.name + ".beta", .value = tensor<T>::zeros(jaq::shape{std::int64_t(nb)}), .grad = {}};
    std::vector<float> w(conv.weight.value.begin(), conv.weight.value.end());
    for (std::size_t b = 0; b < nb; ++b) {
      const std::string tag = "." + std::to_string(cfg_.bits[b]) + "b";
      st.s_a.push_back({.name = conv.name + ".act_step" + tag, .value = tensor<T>::full(jaq::shape{1}, T(1)), .grad = {}});
      std::vector<float> s(static_cast<std::size_t>(co));
      quant::lsq_init_step_per_channel(w, quant::qrange::of(cfg_.bits[b], true, conv.name).q_p, s);
      tensor<T> sw(jaq::shape{co});
      for (std::int64_t o = 0; o < co; ++o) sw[o] = T(s[std::size_t(o)]);
      st.s_w.push_back({.name = conv.name + ".weight_step" + tag, .value = std::move(sw), .grad = {}});
    }
    st.mask = channel_mask::all(int(conv.spec.in_channels));
    st.sample = gumbel_weights_from_noise(std::vector<float>(nb, 0.0f), std::vector<double>(nb, 0.0), 1.0, sampling::soft);
    layer_state* sp = &st;
    search_model* self = this;
    const conv2d_options opts{.stride = conv.spec.stride, .padding = conv.spec.padding, .groups = conv.spec.groups};
    conv.forward_override = [sp, self, opts](tape<T>& tp, var<T> x, nn::weighted_layer<T>& layer) {
      return self->forward(*sp, tp, x, layer, opts);
    };
  }

  var<T> forward(layer_state& st, tape<T>& tp, var<T> x, nn::weighted_layer<T>& layer, const conv2d_options& opts) {
    const std::size_t nb = cfg_.bits.size();
    if (!st.initialized) {  // signedness and activation steps from the first batch
      const auto& xv = x.value();
      T lo = xv[0];
      for (std::int64_t i = 0; i < xv.size(); ++i) lo = std::min(lo, xv[i]);
      st.act_signed = lo < T(0);
      std::vector<float> v(xv.begin(), xv.end());
      for (std::size_t b = 0; b < nb; ++b)
        st.s_a[b].value[0] = T(quant::lsq_init_step(v, quant::qrange::of(cfg_.bits[b], st.act_signed, st.name).q_p));
      st.initialized = true;
    }
    // training: the step's Gumbel sample; evaluation: the arg-max candidate alone
    gumbel_weights w = st.sample;
    if (!model_.training()) {
      w.weights.assign(nb, 0.0);
      const std::size_t best = argmax(st.beta.value);
      w.weights[best] = 1.0;
      w.active = {int(best)};
    }
    auto beta = tp.param(st.beta);
    auto p = gumbel_mixture(tp, beta, w, tau_);
    std::vector<var<T>> sa, sw;
    for (std::size_t b = 0; b < nb; ++b) {
      sa.push_back(tp.param(st.s_a[b]));
      sw.push_back(tp.param(st.s_w[b]));
    }
    const mixed_conv_spec spec{.conv = opts, .bits = cfg_.bits, .act_signed = st.act_signed, .name = st.name};
    auto wv = tp.param(layer.weight);
    if (cfg_.csq || cfg_.fused_naive) return mixed_conv2d(tp, x, wv, p, sa, sw, st.mask, spec);
    return naive_mixed_conv2d(tp, x, wv, p, sa, sw, spec);
  }

  nn::model<T>& model_;
  search_config cfg_;
  std::uint64_t sample_seed_;
  quant::quantized_model<T> fixed_;
  std::deque<layer_state> layers_;
  std::unique_ptr<optim::adam<T>> arch_opt_;
  double tau_ = 1.0;
  bool arch_step_ = false;
};

}  // namespace jaq::nas
