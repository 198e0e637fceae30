// jaq/nas/supernet.hpp: the joint search's network: stem, the searchable blocks (every
// candidate operator of jaq/nas/space.hpp in each), head; architecture logits alpha (block,
// operator) and width logits beta (block, operator, width).
//
// Sampling follows Auto-NBA. Operators, every step: Gumbel-softmax over alpha_b with temperature
// tau, the two largest samples run ("proxy hard"): the output is 1 * y_first + 0 * y_second in
// value, while both logits get d loss / d p_j = <g, y_j> through the softmax over the two (the
// second runs without a tape of its own: its weights would get a zero gradient anyway). Widths of
// a running operator: on weight steps a soft Gumbel-softmax mixture over all widths
// (heterogeneous sampling), on architecture steps the two sampled widths mixed by their
// renormalised weights; one sample per operator drives the weights and input activations of all
// its convolutions, or, with `space.separate_wa`, one sample of beta drives the weights and one
// of beta_act (logits of their own) the input activations. With CSQ only the top-K% input
// channels of each convolution by |gamma| of the BatchNorm that produced them run at the
// candidate widths (nas::mixed_layer); a block's input is ranked by the output BatchNorm of
// the previous block's arg-max operator. Stem, head and classifier stay at `space.fixed_bits`
// (8). In evaluation every block runs its arg-max operator at its arg-max width(s), computed
// as the search trains it (with CSQ the masked channels at that width, the others at full
// precision; the derived network is retrained fully quantized), with BatchNorm running
// statistics re-estimated for that path first (use_derived_path, nn::recalibrate_batch_norm).
// With `full_precision` nothing is quantized and there is no beta: an architecture search
// alone (the sequential baseline's first stage).
//
//   jaq::nas::supernet<float> net({.space = space, .csq = jaq::nas::csq_config{.keep_percent = 20}}, gen);
//   net.begin_epoch(e);  net.begin_step(/*arch_step=*/false);  auto logits = net.forward(tp, x);
//   jaq::nas::derived_arch d = net.derived();
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/candidate_op.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/nas/mixed_conv.hpp"
#include "jaq/nas/mixed_layer.hpp"
#include "jaq/nas/space.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/model.hpp"

namespace jaq::nas {

struct supernet_config {
  space_config space{};
  std::optional<csq_config> csq{};      ///< empty: every channel at every width
  mixing all_channels = mixing::naive;  ///< how the widths run without CSQ
  temperature_schedule tau{.initial = 5.0, .decay = 0.975, .minimum = 0.1};
  /// Every convolution in full precision, stem, head and classifier too: no widths, no step
  /// sizes, no beta (the architecture search of a sequential baseline, which quantizes the
  /// derived network afterwards). CSQ must then be off.
  bool full_precision = false;
};

/// Index of the largest entry (the first on ties).
template <class V>
std::size_t argmax_of(const V& v) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < std::size_t(v.size()); ++i)
    if (v[std::int64_t(i)] > v[std::int64_t(best)]) best = i;
  return best;
}

template <scalar T>
class supernet final : public nn::model<T> {
 public:
  supernet(supernet_config c, rng& gen) : cfg_(std::move(c)), gen_(gen.split()) {
    const space_config& s = cfg_.space;
    s.validate(s.name);
    if (cfg_.csq) cfg_.csq->validate(s.name);
    cfg_.tau.validate(s.name);
    if (cfg_.full_precision && cfg_.csq) throw config_error(s.name, "csq", "a full-precision supernet quantizes nothing: CSQ must be off");
    const auto specs = s.op_specs();
    const std::vector<int> fixed{s.fixed_bits};
    stem_ = std::make_unique<nn::conv2d<T>>(
        nn::conv2d_spec{.in_channels = s.in_channels, .out_channels = s.stem_channels, .kernel = 3, .stride = s.stem_stride, .padding = 1},
        "stem", gen);
    stem_bn_ = std::make_unique<nn::batch_norm<T>>(s.stem_channels, "stem_bn", fused_activation::relu);
    this->add_site(*stem_, nullptr);
    this->add_batch_norm(*stem_bn_);
    stem_q_ = std::make_unique<mixed_layer<T>>(*stem_, fixed);
    for (const auto& g : s.blocks()) {
      block& b = blocks_.emplace_back();
      b.geom = g;
      const std::string bname = "blocks." + std::to_string(g.index);
      b.alpha = {.name = bname + ".alpha", .value = tensor<T>::full(jaq::shape{std::int64_t(specs.size())}, T(1e-3)), .grad = {}};
      for (const auto& op : specs) {
        auto& cand = b.ops.emplace_back(std::make_unique<candidate_op<T>>(op, g, bname + "." + op.name, gen));
        for (auto* bn : cand->batch_norms()) this->add_batch_norm(*bn);
        b.beta.push_back({.name = bname + "." + op.name + ".beta",
                          .value = tensor<T>::full(jaq::shape{std::int64_t(s.bits.size())}, T(1e-3)),
                          .grad = {}});
        if (s.separate_wa)
          b.beta_act.push_back({.name = bname + "." + op.name + ".beta_act",
                                .value = tensor<T>::full(jaq::shape{std::int64_t(s.bits.size())}, T(1e-3)),
                                .grad = {}});
        auto& layers = b.layers.emplace_back();
        for (const auto& oc : cand->convs()) layers.push_back(std::make_unique<mixed_layer<T>>(*oc.conv, s.bits, oc.input_bn));
      }
      b.width_sample.resize(specs.size());
      b.act_sample.resize(specs.size());
    }
    const std::int64_t last = s.stage_channels.back();
    head_ =
        std::make_unique<nn::conv2d<T>>(nn::conv2d_spec{.in_channels = last, .out_channels = s.head_channels, .kernel = 1}, "head", gen);
    head_bn_ = std::make_unique<nn::batch_norm<T>>(s.head_channels, "head_bn", fused_activation::relu);
    fc_ = std::make_unique<nn::linear<T>>(nn::linear_spec{.in_features = s.head_channels, .out_features = s.classes}, "fc", gen);
    this->add_site(*head_, nullptr);
    this->add_batch_norm(*head_bn_);
    this->add_site(*fc_, head_bn_.get(), {&fc_->bias});
    head_q_ = std::make_unique<mixed_layer<T>>(*head_, fixed);
    fc_q_ = std::make_unique<mixed_layer<T>>(*fc_, fixed);
    begin_epoch(0);
    begin_step(false);
  }
  supernet(const supernet&) = delete;
  supernet& operator=(const supernet&) = delete;

  std::string name() const override { return "supernet:" + cfg_.space.name; }
  const supernet_config& config() const { return cfg_; }
  const space_config& space() const { return cfg_.space; }
  int num_blocks() const { return int(blocks_.size()); }
  int num_ops() const { return int(cfg_.space.ops.size()); }
  int num_widths() const { return int(cfg_.space.bits.size()); }
  bool full_precision() const { return cfg_.full_precision; }
  double temperature() const { return tau_; }

  parameter<T>& alpha(int b) { return blocks_[std::size_t(b)].alpha; }
  /// Width logits of (block b, operator o): of its weights and activations, or with
  /// separate_wa of its weights alone.
  parameter<T>& beta(int b, int o) { return blocks_[std::size_t(b)].beta[std::size_t(o)]; }
  /// With separate_wa: the width logits of (b, o)'s input activations.
  parameter<T>& beta_act(int b, int o) { return blocks_[std::size_t(b)].beta_act.at(std::size_t(o)); }
  bool separate_wa() const { return cfg_.space.separate_wa; }
  const candidate_op<T>& op(int b, int o) const { return *blocks_[std::size_t(b)].ops[std::size_t(o)]; }

  /// Weights, BatchNorm affine parameters and every step size (none in full precision): what
  /// the weight optimizer trains.
  std::vector<parameter<T>*> weight_parameters() {
    std::vector<parameter<T>*> ps = this->parameters();
    for (auto& b : blocks_)
      for (auto& cand : b.ops)
        for (const auto& oc : cand->convs()) ps.push_back(&oc.conv->weight);
    if (!fp()) for_each_layer([&](mixed_layer<T>& l) { l.append_parameters(ps); });
    return ps;
  }
  /// alpha of every block, then beta of every (block, operator), then with separate_wa beta_act
  /// of every (block, operator) (no beta in full precision): what the architecture optimizer trains.
  std::vector<parameter<T>*> arch_parameters() {
    std::vector<parameter<T>*> ps;
    for (auto& b : blocks_) ps.push_back(&b.alpha);
    if (fp()) return ps;
    for (auto& b : blocks_)
      for (auto& p : b.beta) ps.push_back(&p);
    for (auto& b : blocks_)
      for (auto& p : b.beta_act) ps.push_back(&p);
    return ps;
  }
  /// Everything a checkpoint must hold of the network: parameters, BatchNorm statistics, steps,
  /// quantizer flags and the logits.
  std::vector<named_tensor<T>> state_entries() {
    std::vector<named_tensor<T>> st = this->state();
    for (auto& b : blocks_)
      for (auto& cand : b.ops)
        for (const auto& oc : cand->convs()) st.push_back({oc.conv->weight.name, &oc.conv->weight.value});
    if (!fp()) for_each_layer([&](mixed_layer<T>& l) { l.append_state(st); });
    for (auto* p : arch_parameters()) st.push_back({p->name, &p->value});
    return st;
  }
  /// After load_checkpoint(state_entries()): the CSQ masks from their checkpointed form.
  void restore() {
    for_each_layer([](mixed_layer<T>& l) { l.restore_mask(); });
  }
  /// Restarts the sampling stream (the joint search reseeds it per epoch, so that a resumed run
  /// draws what an uninterrupted one draws).
  void reseed(std::uint64_t seed) { gen_.reseed(seed); }

  /// Keeps every step size positive (after each weight step).
  void project() {
    for_each_layer([](mixed_layer<T>& l) { l.project(); });
  }

  /// Temperature of the epoch; CSQ masks recomputed when due (epoch 0, E, 2E, ...).
  void begin_epoch(int epoch) {
    tau_ = cfg_.tau.at(epoch);
    if (!cfg_.csq || !mask_due(epoch, *cfg_.csq)) return;
    nn::batch_norm<T>* producer = stem_bn_.get();
    for (auto& b : blocks_) {
      for (std::size_t o = 0; o < b.ops.size(); ++o)
        for (std::size_t k = 0; k < b.layers[o].size(); ++k) {
          if (!b.ops[o]->convs()[k].input_bn) b.layers[o][k]->set_input_bn(producer);
          b.layers[o][k]->refresh_mask(cfg_.csq->keep_percent);
        }
      if (auto* out = b.ops[argmax_of(b.alpha.value)]->output_bn()) producer = out;
    }
  }

  /// Draws the step's samples: the top-2 operators of every block and the widths of those.
  void begin_step(bool arch_step) {
    arch_step_ = arch_step;
    for (auto& b : blocks_) {
      const std::size_t n = b.ops.size();
      std::vector<double> z(n);
      for (std::size_t o = 0; o < n; ++o) z[o] = (double(b.alpha.value[std::int64_t(o)]) + gen_.gumbel()) / tau_;
      std::vector<int> order(n);
      for (std::size_t o = 0; o < n; ++o) order[o] = int(o);
      std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return z[std::size_t(a)] > z[std::size_t(c)]; });
      b.first = order[0];
      b.second = n > 1 ? order[1] : -1;
      b.op_sample.active = n > 1 ? std::vector<int>{std::min(b.first, b.second), std::max(b.first, b.second)} : std::vector<int>{0};
      b.op_sample.weights = softmax_over(z, b.op_sample.active);
      for (int o : {b.first, b.second}) {
        if (o < 0 || fp()) continue;
        auto draw = [&](const parameter<T>& logits) {
          const auto& v = logits.value;
          return gumbel_sample_weights(std::vector<float>(v.begin(), v.end()), tau_, arch_step ? sampling::top2 : sampling::soft, gen_);
        };
        b.width_sample[std::size_t(o)] = draw(b.beta[std::size_t(o)]);
        if (separate_wa()) b.act_sample[std::size_t(o)] = draw(b.beta_act[std::size_t(o)]);
      }
    }
  }
  bool arch_step() const { return arch_step_; }

  /// With `on`, forward runs the derived path (every block's arg-max operator at its arg-max
  /// width) in training mode too: batch statistics and running-statistics updates of that path
  /// alone, which nn::recalibrate_batch_norm needs before the path is evaluated (the running
  /// statistics of a sampled supernet mix every path that ran).
  void use_derived_path(bool on) { derived_path_ = on; }
  bool derived_path() const { return derived_path_; }

  /// x (C, N, H, W) -> logits (N, classes).
  var<T> forward(tape<T>& tp, var<T> x) override {
    x = stem_bn_->forward(tp, fp() ? stem_->forward(tp, x) : stem_q_->forward_width(tp, x, 0));
    for (auto& b : blocks_) x = this->training() && !derived_path_ ? block_train(tp, b, x) : block_eval(tp, b, x);
    x = head_bn_->forward(tp, fp() ? head_->forward(tp, x) : head_q_->forward_width(tp, x, 0));
    x = jaq::global_avg_pool(tp, x);
    return fp() ? fc_->forward(tp, x) : fc_q_->forward_width(tp, x, 0);
  }

  /// The arg-max operator and width of every block, and with separate_wa the arg-max width of
  /// its activations (in full precision, where beta is not searched, the first width: the
  /// caller chooses the widths).
  derived_arch derived() const {
    derived_arch d;
    for (const auto& b : blocks_) {
      const std::size_t o = argmax_of(b.alpha.value);
      d.ops.push_back(cfg_.space.ops[o]);
      d.bits.push_back(cfg_.space.bits[argmax_of(b.beta[o].value)]);
      if (separate_wa()) d.act_bits.push_back(cfg_.space.bits[argmax_of(b.beta_act[o].value)]);
    }
    return d;
  }

  // ---- the network's parts and this step's samples, for an engine that runs it elsewhere
  // (kernels/train_supernet.hpp binds them to the device training engine) ----

  nn::conv2d<T>& stem() { return *stem_; }
  nn::batch_norm<T>& stem_bn() { return *stem_bn_; }
  nn::conv2d<T>& head() { return *head_; }
  nn::batch_norm<T>& head_bn() { return *head_bn_; }
  nn::linear<T>& fc() { return *fc_; }
  /// The fixed-width quantization of stem, head and classifier (unused in full precision).
  mixed_layer<T>& stem_quant() { return *stem_q_; }
  mixed_layer<T>& head_quant() { return *head_q_; }
  mixed_layer<T>& fc_quant() { return *fc_q_; }
  candidate_op<T>& op(int b, int o) { return *blocks_[std::size_t(b)].ops[std::size_t(o)]; }
  /// Convolution k of operator o of block b with its widths.
  mixed_layer<T>& layer(int b, int o, std::size_t k) { return *blocks_[std::size_t(b)].layers[std::size_t(o)][k]; }
  /// How the searched convolutions compute their widths (CSQ, fused or naive).
  mixing layer_mixing() const { return how(); }
  /// This step's samples (begin_step): the two operators that run (second: -1 with one
  /// operator), the operators' mixture weights, and the widths of a running operator o.
  int first(int b) const { return blocks_[std::size_t(b)].first; }
  int second(int b) const { return blocks_[std::size_t(b)].second; }
  const gumbel_weights& op_sample(int b) const { return blocks_[std::size_t(b)].op_sample; }
  const gumbel_weights& width_sample(int b, int o) const { return blocks_[std::size_t(b)].width_sample[std::size_t(o)]; }
  const gumbel_weights& act_sample(int b, int o) const { return blocks_[std::size_t(b)].act_sample[std::size_t(o)]; }

  /// Sets the activation steps of every quantized layer from x at once (training mode, no
  /// gradients): every candidate operator of every block runs on the block's input, the
  /// arg-max operator's output going on, after which every BatchNorm's running statistics are
  /// put back. The search sets each layer lazily instead, the first time its operator is
  /// sampled; an engine that cannot (the device's) needs them all set before it starts.
  void initialize_layers(tape<T>& tp, var<T> x) {
    std::vector<std::pair<tensor<T>, tensor<T>>> saved;
    for (auto* bn : this->batch_norms()) saved.emplace_back(bn->state.running_mean.clone(), bn->state.running_var.clone());
    const bool was_training = this->training(), was_grad = tp.grad_enabled();
    this->set_training(true);
    tp.set_grad_enabled(false);
    if (!fp()) {
      x = stem_bn_->forward(tp, stem_q_->forward_width(tp, x, 0));
      for (auto& b : blocks_) {
        var<T> next = x;
        const int best = int(argmax_of(b.alpha.value));
        for (int o = 0; o < int(b.ops.size()); ++o) {
          auto& layers = b.layers[std::size_t(o)];
          var<T> y = b.ops[std::size_t(o)]->forward(
              tp, x, [&](tape<T>& t, var<T> h, std::size_t k) { return layers[k]->forward_one_width(t, h, 0, how()); });
          if (o == best) next = y;
        }
        x = next;
      }
      x = head_bn_->forward(tp, head_q_->forward_width(tp, x, 0));
      (void)fc_q_->forward_width(tp, jaq::global_avg_pool(tp, x), 0);
    }
    tp.set_grad_enabled(was_grad);
    this->set_training(was_training);
    for (std::size_t i = 0; i < saved.size(); ++i) {
      this->batch_norms()[i]->state.running_mean = std::move(saved[i].first);
      this->batch_norms()[i]->state.running_var = std::move(saved[i].second);
    }
  }

  /// The current CSQ mask of every searched convolution (name, mask).
  std::vector<std::pair<std::string, channel_mask>> masks() {
    std::vector<std::pair<std::string, channel_mask>> out;
    for (auto& b : blocks_)
      for (auto& layers : b.layers)
        for (auto& l : layers) out.push_back({l->name(), l->mask()});
    return out;
  }

  friend std::ostream& operator<<(std::ostream& os, const supernet& s) {
    return os << "supernet over " << s.cfg_.space << ", "
              << (s.cfg_.csq ? "CSQ K=" + csq_config::format(s.cfg_.csq->keep_percent) + "%" : std::string("all channels")) << ", "
              << s.cfg_.tau;
  }

 private:
  struct block {
    block_geometry geom;
    std::vector<std::unique_ptr<candidate_op<T>>> ops;
    std::vector<std::vector<std::unique_ptr<mixed_layer<T>>>> layers;  // [op][conv]
    parameter<T> alpha;                                                // (ops)
    std::vector<parameter<T>> beta;                                    // [op] (widths)
    std::vector<parameter<T>> beta_act;                                // [op] (widths), with separate_wa only
    int first = 0, second = -1;                                        // this step's top-2 operators
    gumbel_weights op_sample;
    std::vector<gumbel_weights> width_sample;  // [op], drawn for the running ones
    std::vector<gumbel_weights> act_sample;    // [op], with separate_wa
  };

  template <class F>
  void for_each_layer(F&& f) {
    f(*stem_q_);
    for (auto& b : blocks_)
      for (auto& layers : b.layers)
        for (auto& l : layers) f(*l);
    f(*head_q_);
    f(*fc_q_);
  }

  mixing how() const { return cfg_.csq ? mixing::csq : cfg_.all_channels; }
  bool fp() const { return cfg_.full_precision; }

  // Operator o of block b, its convolutions in full precision.
  var<T> run_op_fp(tape<T>& tp, block& b, int o, var<T> x) {
    auto& op = *b.ops[std::size_t(o)];
    return op.forward(tp, x, [&](tape<T>& t, var<T> h, std::size_t k) { return op.convs()[k].conv->forward(t, h); });
  }

  // Operator o with its width mixture(s): `widths` of the weights and activations, or, with
  // `act`, `widths` of the weights alone and `act` of the activations.
  var<T> run_op(tape<T>& tp, block& b, int o, var<T> x, var<T> widths, std::optional<var<T>> act = std::nullopt) {
    auto& layers = b.layers[std::size_t(o)];
    return b.ops[std::size_t(o)]->forward(tp, x, [&](tape<T>& t, var<T> h, std::size_t k) {
      return act ? layers[k]->forward(t, h, *act, how(), widths) : layers[k]->forward(t, h, widths, how());
    });
  }

  var<T> block_train(tape<T>& tp, block& b, var<T> x) {
    auto widths = [&](int o) { return gumbel_mixture(tp, tp.param(b.beta[std::size_t(o)]), b.width_sample[std::size_t(o)], tau_); };
    auto act = [&](int o) -> std::optional<var<T>> {
      if (!separate_wa()) return std::nullopt;
      return gumbel_mixture(tp, tp.param(b.beta_act[std::size_t(o)]), b.act_sample[std::size_t(o)], tau_);
    };
    auto run = [&](int o) {
      if (fp()) return run_op_fp(tp, b, o, x);
      var<T> w = widths(o);
      return run_op(tp, b, o, x, w, act(o));
    };
    var<T> y1 = run(b.first);
    if (b.second < 0) return y1;
    const bool was = tp.grad_enabled();
    tp.set_grad_enabled(false);  // weighted 0 in value: only its logit needs it, through <g, y2>
    var<T> y2 = run(b.second);
    tp.set_grad_enabled(was);
    var<T> p = gumbel_mixture(tp, tp.param(b.alpha), b.op_sample, tau_);
    return weighted_mix(tp, {y1, y2}, p, {.index = {b.first, b.second}, .forward_weights = {1.0, 0.0}});
  }

  var<T> block_eval(tape<T>& tp, block& b, var<T> x) {
    const int o = int(argmax_of(b.alpha.value));
    if (fp()) return run_op_fp(tp, b, o, x);
    const int w = int(argmax_of(b.beta[std::size_t(o)].value));
    const int a = separate_wa() ? int(argmax_of(b.beta_act[std::size_t(o)].value)) : w;
    auto& layers = b.layers[std::size_t(o)];
    return b.ops[std::size_t(o)]->forward(
        tp, x, [&](tape<T>& t, var<T> h, std::size_t k) { return layers[k]->forward_one_width(t, h, a, how(), w); });
  }

  supernet_config cfg_;
  rng gen_;
  std::unique_ptr<nn::conv2d<T>> stem_, head_;
  std::unique_ptr<nn::batch_norm<T>> stem_bn_, head_bn_;
  std::unique_ptr<nn::linear<T>> fc_;
  std::unique_ptr<mixed_layer<T>> stem_q_, head_q_, fc_q_;
  std::deque<block> blocks_;
  double tau_ = 1.0;
  bool arch_step_ = false;
  bool derived_path_ = false;
};

}  // namespace jaq::nas
