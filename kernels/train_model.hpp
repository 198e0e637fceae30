// kernels/train_model.hpp: a jaq::nn model (small-cnn, mbconv-small), with or without its
// quantization (jaq::quant::quantized_model: lsq, pact, minmax or dorefa), as the device training
// engine's train::net, and its whole training state moved between the model and a trainer.
//
//   auto bound = jaq::cuda::bind_model(*model, &qm, {1, 28, 28});      // qm initialised (see below)
//   jaq::cuda::model_trainer<jaq::cuda::device_trainer> t(std::move(bound), opt, 128, 0);
//   auto r = t.step(batch, step);          // jaq::nn::step_result, as jaq::nn::train_step gives
//   t.sync_to_model();                     // parameters, running statistics, SGD momentum back
//
// The device step is the CPU's step (jaq::nn::train_step with jaq::optim::sgd and
// quantized_model::project) up to float rounding: same layouts, same definitions, same order of
// updates. LSQ's activation steps are set from the first training batch on the CPU
// (`initialize_quantizers`), as the CPU's first step would set them. min/max inputs' running
// ranges travel with the running statistics.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/conv_geometry.hpp"
#include "jaq/core/error.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/quantize_model.hpp"
#include "kernels/train.hpp"

namespace jaq::cuda {

/// A model as a train::net, and where each of the net's parameters and batch norms lives.
struct bound_model {
  train::net net;
  std::vector<parameter<float>*> params;    ///< net.params[i] is *params[i] (the optimizer's order)
  std::vector<nn::batch_norm<float>*> bns;  ///< net.bn_channels[j] is bns[j]'s running statistics
  quant::quantized_model<float>* quant = nullptr;
  std::vector<std::size_t> observers;  ///< net observer j is quant->observer(observers[j])
  std::string model_name;
};

namespace detail {

class net_builder {
 public:
  /// A net over `params` (the optimizer's order), of which those from `first_step` on are LSQ
  /// steps; ops are added by the calls below (kernels/train_supernet.hpp builds the supernet so).
  net_builder(std::string name, std::vector<parameter<float>*> params, std::size_t first_step) {
    b_.model_name = std::move(name);
    b_.params = std::move(params);
    for (std::size_t i = 0; i < b_.params.size(); ++i) {
      index_[b_.params[i]] = static_cast<int>(i);
      b_.net.params.push_back(
          {.name = b_.params[i]->name, .size = b_.params[i]->value.size(), .is_step = i >= first_step, .learned = b_.params[i]->trainable});
    }
  }
  net_builder(nn::model<float>& m, quant::quantized_model<float>* q)
      : net_builder(m.name(), q ? q->parameters(m.parameters()) : m.parameters(), m.parameters().size()) {
    attach_quant(m, q);
  }

  /// q's layers are quantized as q says when conv() and linear_head() meet them.
  void attach_quant(nn::model<float>& m, quant::quantized_model<float>* q) {
    b_.quant = q;
    if (q) {
      if (q->config().count != quant::lsq_count::per_example)
        throw config_error(m.name(), "quant count", "the device engine scales LSQ gradients per example (the default)");
      const auto layers = q->layers();
      const auto steps = q->parameters({});
      for (std::size_t i = 0; i < layers.size(); ++i) quant_[layers[i].name] = {layers[i], steps[2 * i], steps[2 * i + 1], i};
    }
  }

  /// conv() makes the layer named `name` this search layer (op_kind::mixed_conv).
  void search_layer(const std::string& name, train::mixed_spec ms) { mixed_[name] = std::move(ms); }

  struct fmap {
    int v = -1;
    std::int64_t c = 0, h = 0, w = 0;
  };

  fmap input(data::image_shape s) { return {add_value(s.channels * s.height * s.width), s.channels, s.height, s.width}; }

  /// `q`: the layer's quantization as given (else quantized_model's, when it has the layer).
  fmap conv(nn::conv2d<float>& l, fmap x, const train::quant_layer* q = nullptr) {
    const auto& sp = l.spec;
    if (sp.in_channels != x.c)
      throw model_error(l.name + ": reads " + std::to_string(x.c) + " channels, built for " + std::to_string(sp.in_channels));
    const conv_geometry g =
        conv_geometry::of({.c = x.c, .h = x.h, .w = x.w, .kh = sp.kernel, .kw = sp.kernel, .stride = sp.stride, .pad = sp.padding});
    const std::int64_t oh = g.ho, ow = g.wo;
    if (oh < 1 || ow < 1)
      throw model_error(l.name + ": a " + std::to_string(x.h) + "x" + std::to_string(x.w) + " input is smaller than its kernel");
    train::op o{.kind = train::op_kind::conv,
                .in = x.v,
                .weight = param(l.weight),
                .c_in = sp.in_channels,
                .c_out = sp.out_channels,
                .kernel = sp.kernel,
                .stride = sp.stride,
                .pad = sp.padding,
                .groups = sp.groups,
                .h = x.h,
                .w = x.w,
                .oh = oh,
                .ow = ow,
                .name = l.name};
    if (q)
      o.q = *q;
    else
      quantize(o, l, x.c * x.h * x.w);
    if (const auto it = mixed_.find(l.name); it != mixed_.end()) {
      o.kind = train::op_kind::mixed_conv;
      o.mixed = it->second;
      used_[l.name] = true;
    }
    o.out = add_value(sp.out_channels * oh * ow);
    b_.net.ops.push_back(o);
    return {o.out, sp.out_channels, oh, ow};
  }

  fmap bn(nn::batch_norm<float>& l, fmap x) {
    if (l.channels() != x.c)
      throw model_error(l.name + ": normalises " + std::to_string(l.channels()) + " channels of a " + std::to_string(x.c) +
                        "-channel input");
    train::op o{.kind = train::op_kind::batch_norm,
                .in = x.v,
                .weight = param(l.gamma),
                .bias = param(l.beta),
                .stats = static_cast<int>(b_.bns.size()),
                .c_in = x.c,
                .c_out = x.c,
                .h = x.h,
                .w = x.w,
                .act = l.activation == fused_activation::relu    ? train::activation::relu
                       : l.activation == fused_activation::relu6 ? train::activation::relu6
                                                                 : train::activation::none,
                .eps = l.eps,
                .momentum = l.momentum,
                .name = l.name};
    b_.bns.push_back(&l);
    b_.net.bn_channels.push_back(x.c);
    o.out = add_value(x.c * x.h * x.w);
    b_.net.ops.push_back(o);
    return {o.out, x.c, x.h, x.w};
  }

  fmap add(fmap a, fmap x) {
    train::op o{.kind = train::op_kind::add, .in = a.v, .in2 = x.v, .c_in = a.c, .h = a.h, .w = a.w, .name = "add"};
    o.out = add_value(a.c * a.h * a.w);
    b_.net.ops.push_back(o);
    return {o.out, a.c, a.h, a.w};
  }

  /// (C, N, H, W) -> features (N, C).
  fmap global_avg_pool(fmap x) {
    train::op o{
        .kind = train::op_kind::global_avg_pool, .in = x.v, .c_in = x.c, .c_out = x.c, .h = x.h, .w = x.w, .name = "global_avg_pool"};
    o.out = add_value(x.c);
    b_.net.ops.push_back(o);
    return {o.out, x.c, 1, 1};
  }

  void linear_head(nn::linear<float>& l, fmap x, const train::quant_layer* q = nullptr) {
    if (l.spec.in_features != x.c)
      throw model_error(l.name + ": reads " + std::to_string(x.c) + " features, built for " + std::to_string(l.spec.in_features));
    train::op o{.kind = train::op_kind::linear,
                .in = x.v,
                .weight = param(l.weight),
                .bias = param(l.bias),
                .c_in = l.spec.in_features,
                .c_out = l.spec.out_features,
                .name = l.name};
    if (q)
      o.q = *q;
    else
      quantize(o, l, x.c);
    o.out = add_value(l.spec.out_features);
    b_.net.ops.push_back(o);
    b_.net.logits = o.out;
    b_.net.classes = l.spec.out_features;
  }

  /// A search layer: conv l over the widths of `ms` (its mixture offsets, widths and mask set).
  fmap mixed(nn::conv2d<float>& l, fmap x, train::mixed_spec ms) {
    const fmap y = conv(l, x);
    train::op& o = b_.net.ops.back();
    o.kind = train::op_kind::mixed_conv;
    o.mixed = std::move(ms);
    return y;
  }
  fmap shuffle(fmap x, std::int64_t groups) {
    train::op o{.kind = train::op_kind::channel_shuffle,
                .in = x.v,
                .c_in = x.c,
                .c_out = x.c,
                .groups = groups,
                .h = x.h,
                .w = x.w,
                .name = "channel_shuffle"};
    o.out = add_value(x.c * x.h * x.w);
    b_.net.ops.push_back(o);
    return {o.out, x.c, x.h, x.w};
  }
  /// Branches of one shape mixed by mixture[c + j], gradients to mixture[p + index[j]].
  fmap mix(const std::vector<fmap>& branches, std::vector<int> index, int c, int p) {
    train::op o{.kind = train::op_kind::mix, .c_in = branches[0].c, .h = branches[0].h, .w = branches[0].w, .name = "mix"};
    for (const fmap& f : branches) o.mix.inputs.push_back(f.v);
    o.mix.index = std::move(index);
    o.mix.c = c;
    o.mix.p = p;
    o.out = add_value(branches[0].c * branches[0].h * branches[0].w);
    b_.net.ops.push_back(o);
    return {o.out, branches[0].c, branches[0].h, branches[0].w};
  }
  /// n entries of the step's mixture arena; their offset.
  int mixture(std::int64_t n) {
    const auto at = static_cast<int>(b_.net.mixtures);
    b_.net.mixtures += n;
    return at;
  }
  std::size_t ops() const { return b_.net.ops.size(); }
  int param(parameter<float>& p) {
    const auto it = index_.find(&p);
    if (it == index_.end()) throw model_error(b_.model_name + ": parameter " + p.name + " is not among the model's parameters");
    return it->second;
  }

  bound_model finish() {
    for (const auto& [name, ql] : quant_)
      if (!used_.count(name)) throw model_error(b_.model_name + ": quantized layer " + name + " is not on the device path");
    for (const auto& [name, ms] : mixed_)
      if (!used_.count(name)) throw model_error(b_.model_name + ": search layer " + name + " is not on the device path");
    return std::move(b_);
  }

 private:
  struct quant_layer {
    quant::quantized_model<float>::layer_quant info;
    parameter<float>* s_a = nullptr;
    parameter<float>* s_w = nullptr;
    std::size_t index = 0;  ///< among q->layers()
  };

  int add_value(std::int64_t per_image) {
    b_.net.values.push_back({per_image});
    return static_cast<int>(b_.net.values.size()) - 1;
  }
  void quantize(train::op& o, nn::weighted_layer<float>& l, std::int64_t in_per_image) {
    const auto it = quant_.find(l.name);
    if (it == quant_.end()) return;  // full precision (or first_last_only leaves it so)
    const auto& info = it->second.info;
    used_[l.name] = true;
    using quant::method;
    const method am = info.act_method, wm = info.weight_method;
    if (am == method::dorefa || wm == method::pact)  // quantized_model never installs these
      throw config_error(
          l.name, "method",
          std::string("activations by ") + quant::to_string(am) + " and weights by " + quant::to_string(wm) + " are not a quantizer pair");
    if (!info.initialized)
      throw config_error(l.name, "act_step", "not initialised yet: run jaq::cuda::initialize_quantizers on a first training batch");
    const auto kind = [](method m) {
      return m == method::pact     ? train::quantizer::pact
             : m == method::minmax ? train::quantizer::minmax
             : m == method::dorefa ? train::quantizer::dorefa
                                   : train::quantizer::lsq;
    };
    // PACT and min/max grids are unsigned (quantized_model gives signed inputs LSQ instead of PACT)
    const bool lsq_in = am == method::lsq, lsq_w = wm == method::lsq;
    const quant::qrange a = quant::qrange::of(info.abits, lsq_in && info.act_signed, l.name);
    const quant::qrange w = quant::qrange::of(info.wbits, lsq_w, l.name);
    const std::int64_t wsize = l.weight.value.size(), co = l.weight.value.shape()[0];
    o.q = {.on = true,
           .a = kind(am),
           .w = kind(wm),
           .a_qn = a.q_n,
           .a_qp = a.q_p,
           .w_qn = w.q_n,
           .w_qp = w.q_p,
           .w_per_channel = wm == method::minmax || (lsq_w && info.per_channel),  // min/max weights: always per output channel
           .s_a = param(*it->second.s_a),
           .s_w = param(*it->second.s_w),
           .a_scale = lsq_in ? quant::lsq_grad_scale(in_per_image, a.q_p) : 1.0,
           .w_scale = lsq_w ? quant::lsq_grad_scale(info.per_channel ? wsize / co : wsize, w.q_p) : 1.0};
    // steps no quantizer reads get no gradient, so jaq::optim::sgd leaves them (weight decay too)
    if (am == method::minmax) b_.net.params[std::size_t(o.q.s_a)].learned = false;
    if (!lsq_w) b_.net.params[std::size_t(o.q.s_w)].learned = false;
    if (am == method::minmax) {
      o.q.observer = static_cast<int>(b_.net.observers++);
      o.q.observer_momentum = b_.quant->observer(it->second.index).momentum;
      b_.observers.push_back(it->second.index);
    }
  }

  bound_model b_;
  std::map<const parameter<float>*, int> index_;
  std::map<std::string, quant_layer> quant_;
  std::map<std::string, train::mixed_spec> mixed_;
  std::map<std::string, bool> used_;
};

}  // namespace detail

namespace detail {

/// The ops of m (small-cnn or mbconv-small) on images of shape s, in forward order.
inline void bind_layers(net_builder& nb, nn::model<float>& m, data::image_shape s) {
  auto x = nb.input(s);
  if (auto* c = dynamic_cast<nn::small_cnn<float>*>(&m)) {
    x = nb.bn(c->bn1, nb.conv(c->conv1, x));
    x = nb.bn(c->bn2, nb.conv(c->conv2, x));
    x = nb.bn(c->bn3, nb.conv(c->conv3, x));
    nb.linear_head(c->fc, nb.global_avg_pool(x));
  } else if (auto* mb = dynamic_cast<nn::mbconv_small<float>*>(&m)) {
    x = nb.bn(mb->stem_bn, nb.conv(mb->stem, x));
    for (auto& b : mb->blocks) {
      auto h = x;
      if (b->expand) h = nb.bn(*b->expand_bn, nb.conv(*b->expand, h));
      h = nb.bn(b->depthwise_bn, nb.conv(b->depthwise, h));
      h = nb.bn(b->project_bn, nb.conv(b->project, h));
      x = b->residual() ? nb.add(h, x) : h;
    }
    x = nb.bn(*mb->head_bn, nb.conv(*mb->head, x));
    nb.linear_head(*mb->fc, nb.global_avg_pool(x));
  } else {
    throw config_error(m.name(), "model", "the device training engine runs small-cnn and mbconv-small; train " + m.name() + " on the CPU");
  }
}

}  // namespace detail

/// `m` (small-cnn or mbconv-small) on images of shape `s`, quantized by `q` when given (any
/// method, every layer initialised). config_error for a model the device engine does not run.
inline bound_model bind_model(nn::model<float>& m, quant::quantized_model<float>* q, data::image_shape s) {
  detail::net_builder nb(m, q);
  detail::bind_layers(nb, m, s);
  return nb.finish();
}

/// Sets LSQ's activation steps (and signedness) from `b` as the CPU's first training step would:
/// one training-mode forward pass without gradients, after which every BatchNorm's running
/// statistics, and `q`'s min/max observers when given, are put back (the device's first step
/// updates them, as the CPU's would).
inline void initialize_quantizers(nn::model<float>& m, const data::batch& b, quant::quantized_model<float>* q = nullptr) {
  std::vector<std::pair<tensor<float>, tensor<float>>> saved;
  for (auto* bn : m.batch_norms()) saved.emplace_back(bn->state.running_mean.clone(), bn->state.running_var.clone());
  std::vector<quant::minmax_observer> observers;
  const std::size_t layers = q ? q->layers().size() : 0;
  for (std::size_t i = 0; i < layers; ++i) observers.push_back(q->observer(i));
  const bool was = m.training();
  m.set_training(true);
  tape<float> tp;
  tp.set_grad_enabled(false);
  (void)m.forward(tp, tp.constant(nn::batch_tensor<float>(b)));
  m.set_training(was);
  for (std::size_t i = 0; i < saved.size(); ++i) {
    m.batch_norms()[i]->state.running_mean = std::move(saved[i].first);
    m.batch_norms()[i]->state.running_var = std::move(saved[i].second);
  }
  for (std::size_t i = 0; i < layers; ++i) q->observer(i) = observers[i];
}

/// A model's training, step by step, on a trainer (device_trainer, or host_trainer, its twin):
/// the state moves to the trainer when this is made and back with sync_to_model().
template <class Trainer>
class model_trainer {
 public:
  /// `opt` trains exactly bound.params (the optimizer of qs.parameters(model.parameters())):
  /// its settings, learning rate and momentum are the step's. Extra arguments go to Trainer's
  /// constructor after (net, max_batch) (device_trainer: the device).
  template <class... Args>
  model_trainer(bound_model bound, optim::sgd<float>& opt, std::int64_t max_batch, Args&&... args)
      : b_(std::move(bound)), opt_(opt), t_(b_.net, max_batch, std::forward<Args>(args)...) {
    auto st = opt_.state();
    if (st.size() != b_.params.size() + 1) throw model_error("model_trainer: the optimizer does not train the bound parameters");
    for (std::size_t k = 0; k < b_.params.size(); ++k)
      if (st[k + 1].name != "sgd." + b_.params[k]->name + ".momentum")
        throw model_error("model_trainer: optimizer parameter " + st[k + 1].name + " is not the bound " + b_.params[k]->name);
    sync_from_model();
  }

  const bound_model& bound() const { return b_; }
  Trainer& trainer() { return t_; }

  /// The model's state (parameters, running statistics and min/max ranges, momentum) to the trainer.
  void sync_from_model() {
    std::vector<float> p, mom, run;
    auto st = opt_.state();
    for (std::size_t k = 0; k < b_.params.size(); ++k) {
      const auto& v = b_.params[k]->value;
      p.insert(p.end(), v.begin(), v.end());
      const auto& m = *st[k + 1].value;
      mom.insert(mom.end(), m.begin(), m.end());
    }
    for (auto* bn : b_.bns) {
      run.insert(run.end(), bn->state.running_mean.begin(), bn->state.running_mean.end());
      run.insert(run.end(), bn->state.running_var.begin(), bn->state.running_var.end());
    }
    for (std::size_t j : b_.observers) {
      const quant::minmax_observer& o = b_.quant->observer(j);
      run.insert(run.end(), {o.seen ? 1.0f : 0.0f, o.running.lo, o.running.hi});
    }
    check(t_.set_state(p, mom, run));
    pending_ = 0;
  }

  /// The trainer's state back into the model, its quantizer steps and the optimizer (whose step
  /// count advances by the steps taken since the last sync).
  void sync_to_model() {
    const std::int64_t np = train::param_elements(b_.net), nr = train::running_elements(b_.net);
    std::vector<float> p(static_cast<std::size_t>(np)), mom(static_cast<std::size_t>(np)), run(static_cast<std::size_t>(nr));
    check(t_.get_state(p, mom, run));
    auto st = opt_.state();
    std::size_t at = 0;
    for (std::size_t k = 0; k < b_.params.size(); ++k) {
      auto& v = b_.params[k]->value;
      auto& m = *st[k + 1].value;
      std::copy_n(p.begin() + std::ptrdiff_t(at), v.size(), v.begin());
      std::copy_n(mom.begin() + std::ptrdiff_t(at), m.size(), m.begin());
      at += static_cast<std::size_t>(v.size());
    }
    at = 0;
    for (auto* bn : b_.bns) {
      auto& rm = bn->state.running_mean;
      auto& rv = bn->state.running_var;
      std::copy_n(run.begin() + std::ptrdiff_t(at), rm.size(), rm.begin());
      at += static_cast<std::size_t>(rm.size());
      std::copy_n(run.begin() + std::ptrdiff_t(at), rv.size(), rv.begin());
      at += static_cast<std::size_t>(rv.size());
    }
    for (std::size_t j : b_.observers) {
      quant::minmax_observer& o = b_.quant->observer(j);
      o.seen = run[at] != 0.0f;
      o.running = {run[at + 1], run[at + 2]};
      at += 3;
    }
    (*st[0].value)[0] += static_cast<float>(pending_);
    pending_ = 0;
  }

  /// One step on `b` at the optimizer's learning rate: what jaq::nn::train_step returns. A
  /// non-finite loss stops training with a model_error naming the step (the state on the
  /// trainer is then left as it was after the failed step; the model keeps its last sync).
  /// With `plan`, a search step (kernels/train_supernet.hpp makes the plans); one that does not
  /// update is not counted as an optimizer step.
  nn::step_result step(const data::batch& b, std::int64_t step, const train::step_plan* plan = nullptr) {
    const tensor<float> x = nn::batch_tensor<float>(b);
    const auto& c = opt_.config();
    const train::sgd_settings s{.momentum = float(c.momentum), .weight_decay = float(c.weight_decay), .nesterov = c.nesterov};
    train::step_stats st;
    const std::span<const float> xs(x.data(), std::size_t(x.size()));
    const std::span<const std::int32_t> ls(b.labels);
    check(plan ? t_.step(xs, ls, float(opt_.lr()), s, *plan, st) : t_.step(xs, ls, float(opt_.lr()), s, st));
    if (!plan || plan->update) ++pending_;
    if (!std::isfinite(st.loss))
      throw model_error("training diverged at step " + std::to_string(step) + ": loss is " + std::to_string(st.loss) +
                        " on the device (try a smaller lr)");
    return {.loss = st.loss, .correct = st.correct, .count = b.size()};
  }

 private:
  bound_model b_;
  optim::sgd<float>& opt_;
  Trainer t_;
  std::int64_t pending_ = 0;  // steps since the last sync_to_model
};

}  // namespace jaq::cuda
