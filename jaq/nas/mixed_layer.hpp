// jaq/nas/mixed_layer.hpp: one weighted layer of a search network with its candidate widths:
// per-width LSQ step sizes (activation per tensor, weight per output channel), the CSQ channel
// mask, and the forward that mixes the widths with weights p given by the caller.
//
// The caller owns the logits and their sampling (a layer's own beta in nas::search_model, an
// operator's beta shared by all its convolutions in nas::supernet); this object owns what is
// per layer. Activation steps and the grid's signedness come from the first batch that reaches
// the layer (s0 = 2 mean|x| / sqrt(Q_P), as LSQ); weight steps from the initial weights.
//
//   jaq::nas::mixed_layer<float> ml(conv, {2, 3, 4}, &input_bn);
//   ml.refresh_mask(20.0);                                  // CSQ: top-20% channels by |gamma|
//   auto y = ml.forward(tp, x, p, jaq::nas::mixing::csq);   // p (3): mixture weights of the widths
//   auto z = ml.forward_width(tp, x, 1);                    // one width alone (evaluation)
//   auto v = ml.forward(tp, x, pa, how, pw);                // separate activation / weight widths
//   auto u = ml.forward_width(tp, x, 0, 2);                 // activations at bits[0], weights at bits[2]
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/parameter.hpp"
#include "jaq/core/error.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/mixed_conv.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/weighted_layer.hpp"
#include "jaq/quant/fake_quant.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/qconv2d.hpp"

namespace jaq::nas {

/// How the candidate widths of a convolution are computed.
enum class mixing {
  csq,        ///< only the masked (top-K%) input channels at every width (mixed_conv2d)
  fused_all,  ///< every channel at every width, fused (mixed_conv2d with an all-channel mask)
  naive,      ///< every channel at every width, one quantized conv per width, then mixed
};

template <scalar T>
class mixed_layer {
 public:
  /// `input_bn` (may be null) ranks the input channels for CSQ. A linear layer takes one width.
  mixed_layer(nn::weighted_layer<T>& layer, std::vector<int> bits, nn::batch_norm<T>* input_bn = nullptr)
      : layer_(&layer), input_bn_(input_bn), bits_(std::move(bits)) {
    if (bits_.empty()) throw config_error(layer.name, "bits", "no candidate bit-widths");
    for (int b : bits_) quant::all_bits::check(b, layer.name);
    conv_ = dynamic_cast<nn::conv2d<T>*>(&layer);
    if (!conv_ && bits_.size() != 1)
      throw config_error(layer.name, "bits", "a linear layer takes one fixed width, got " + std::to_string(bits_.size()));
    if (conv_ && conv_->spec.groups > 1 && conv_->spec.groups != conv_->spec.in_channels)
      grouped_ = true;  // grouped, not depthwise: mixed_conv2d cannot stack it
    const std::int64_t co = layer.weight.value.shape()[0];
    std::vector<float> w(layer.weight.value.begin(), layer.weight.value.end());
    for (int b : bits_) {
      const std::string tag = "." + std::to_string(b) + "b";
      s_a_.push_back({.name = layer.name + ".act_step" + tag, .value = tensor<T>::full(jaq::shape{1}, T(1)), .grad = {}});
      std::vector<float> s(static_cast<std::size_t>(co));
      quant::lsq_init_step_per_channel(w, quant::qrange::of(b, true, layer.name).q_p, s);
      tensor<T> sw(jaq::shape{co});
      for (std::int64_t o = 0; o < co; ++o) sw[o] = T(s[std::size_t(o)]);
      s_w_.push_back({.name = layer.name + ".weight_step" + tag, .value = std::move(sw), .grad = {}});
    }
    flags_ = tensor<T>::zeros(jaq::shape{2});
    set_mask(channel_mask::all(int(layer.in_channels())));
  }

  const std::string& name() const { return layer_->name; }
  nn::weighted_layer<T>& layer() { return *layer_; }
  const std::vector<int>& bits() const { return bits_; }
  const channel_mask& mask() const { return mask_; }
  bool initialized() const { return flags_[0] != T(0); }
  bool act_signed() const { return flags_[1] != T(0); }

  /// Recomputes the CSQ mask from |gamma| of the input's BatchNorm (all channels without one).
  void refresh_mask(double keep_percent) {
    if (!input_bn_) {
      set_mask(channel_mask::all(int(layer_->in_channels())));
      return;
    }
    const auto& g = input_bn_->gamma.value;
    set_mask(top_channels(std::vector<float>(g.begin(), g.end()), keep_percent, name()));
  }
  /// Rebuilds the mask from its checkpointed form (after load_checkpoint of append_state()).
  void restore_mask() { mask_ = channel_mask::from_flags(mask_state_, mask_state_.size()); }
  void set_input_bn(nn::batch_norm<T>* bn) { input_bn_ = bn; }

  /// The step sizes (trained with the weights).
  void append_parameters(std::vector<parameter<T>*>& out) {
    for (std::size_t b = 0; b < bits_.size(); ++b) {
      out.push_back(&s_a_[b]);
      out.push_back(&s_w_[b]);
    }
  }
  /// Steps and the initialisation flags, for checkpoints.
  void append_state(std::vector<named_tensor<T>>& out) {
    for (std::size_t b = 0; b < bits_.size(); ++b) {
      out.push_back({s_a_[b].name, &s_a_[b].value});
      out.push_back({s_w_[b].name, &s_w_[b].value});
    }
    out.push_back({layer_->name + ".quant_flags", &flags_});
    out.push_back({layer_->name + ".csq_mask", &mask_state_});
  }
  /// Keeps every step positive after a weight step.
  void project(T min_step = T(1e-6)) {
    for (std::size_t b = 0; b < bits_.size(); ++b) {
      for (auto& v : s_a_[b].value) v = std::max(v, min_step);
      for (auto& v : s_w_[b].value) v = std::max(v, min_step);
    }
  }

  /// y = sum_b p_b layer(Qa_b(x), Qw_b(w)) over the widths with p_b != 0; p (widths). With
  /// `pw` (separate weight widths): y = sum_a sum_i p_a pw_i layer(Qa_a(x), Qw_i(w)).
  var<T> forward(tape<T>& tp, var<T> x, var<T> p, mixing how, std::optional<var<T>> pw = std::nullopt) {
    init(x.value());
    JAQ_ASSERT(p.shape().numel() == std::int64_t(bits_.size()));
    JAQ_ASSERT(!pw || pw->shape().numel() == std::int64_t(bits_.size()));
    const int a = one_hot(p), w = pw ? one_hot(*pw) : a;
    // constant one-hot weights (a width alone, or a sample whose other weights underflowed): that
    // width as the mixture computes it, so that with CSQ only the masked channels are quantized
    // whether or not the tape records gradients
    if (a >= 0 && w >= 0) return forward_one_width(tp, x, a, how, w);
    if (!conv_) throw model_error(name() + ": a linear layer has no width mixture");
    return mixture(tp, x, p, how, pw);
  }

  /// What forward(p, how) computes for a one-hot p at width index a (and weights at w, -1: a):
  /// with mixing::csq only the masked channels quantized, the others at full precision (the
  /// supernet as the search trains it); otherwise forward_width(a, w).
  var<T> forward_one_width(tape<T>& tp, var<T> x, int a, mixing how, int w = -1) {
    if (w < 0) w = a;
    if (how != mixing::csq || !conv_ || grouped_) return forward_width(tp, x, a, w);
    init(x.value());
    auto onehot = [&](int b) {
      tensor<T> t = tensor<T>::zeros(jaq::shape{std::int64_t(bits_.size())});
      t[b] = T(1);
      return tp.constant(std::move(t));
    };
    return mixture(tp, x, onehot(a), how, a == w ? std::nullopt : std::optional<var<T>>(onehot(w)));
  }

  /// The layer with input activations at width index a and weights at w (-1: a) alone (LSQ on
  /// both; a conv is the fused qconv2d).
  var<T> forward_width(tape<T>& tp, var<T> x, int a, int w = -1) {
    if (w < 0) w = a;
    init(x.value());
    const quant::lsq_spec wspec{
        .bits = bits_[std::size_t(w)], .is_signed = true, .per_channel = true, .batch_axis = -1, .name = name() + ".weight"};
    quant::lsq_spec aspec{.bits = bits_[std::size_t(a)],
                          .is_signed = act_signed(),
                          .per_channel = false,
                          .batch_axis = conv_ ? 1 : 0,
                          .name = name() + ".input"};
    auto sa = tp.param(s_a_[std::size_t(a)]);
    auto sw = tp.param(s_w_[std::size_t(w)]);
    if (conv_) return quant::qconv2d(tp, x, tp.param(layer_->weight), sa, sw, {.conv = opts(), .act = aspec, .weight = wspec});
    return layer_->compute(tp, quant::lsq_quantize(tp, x, sa, aspec), quant::lsq_quantize(tp, tp.param(layer_->weight), sw, wspec));
  }

 private:
  // The index of a constant one-hot p (exactly one entry, equal to 1), else -1.
  static int one_hot(const var<T>& p) {
    if (p.requires_grad()) return -1;
    int hot = -1, nonzero = 0;
    for (std::int64_t b = 0; b < p.shape().numel(); ++b)
      if (p.value()[b] != T(0)) {
        ++nonzero;
        hot = int(b);
      }
    return nonzero == 1 && p.value()[hot] == T(1) ? hot : -1;
  }

  // The convolution over the widths weighted by p (and pw), as `how` computes it (initialised layer).
  var<T> mixture(tape<T>& tp, var<T> x, var<T> p, mixing how, std::optional<var<T>> pw = std::nullopt) {
    std::vector<var<T>> sa, sw;
    for (std::size_t b = 0; b < bits_.size(); ++b) {
      sa.push_back(tp.param(s_a_[b]));
      sw.push_back(tp.param(s_w_[b]));
    }
    const mixed_conv_spec spec{.conv = opts(), .bits = bits_, .act_signed = act_signed(), .name = name()};
    auto w = tp.param(layer_->weight);
    if (how == mixing::naive || grouped_) return naive_mixed_conv2d(tp, x, w, p, sa, sw, spec, pw);
    const channel_mask& m = how == mixing::csq ? mask_ : all_channels();
    return mixed_conv2d(tp, x, w, p, sa, sw, m, spec, pw);
  }

  void set_mask(channel_mask m) {
    mask_ = std::move(m);
    mask_state_ = tensor<T>(jaq::shape{std::int64_t(mask_.channels())});
    mask_.write_flags(mask_state_);
  }
  conv2d_options opts() const { return {.stride = conv_->spec.stride, .padding = conv_->spec.padding, .groups = conv_->spec.groups}; }
  const channel_mask& all_channels() {
    if (all_.channels() != int(layer_->in_channels())) all_ = channel_mask::all(int(layer_->in_channels()));
    return all_;
  }
  void init(const tensor<T>& xv) {
    if (initialized()) return;
    T lo = xv[0];
    for (std::int64_t i = 0; i < xv.size(); ++i) lo = std::min(lo, xv[i]);
    flags_[1] = lo < T(0) ? T(1) : T(0);
    std::vector<float> v(xv.begin(), xv.end());
    for (std::size_t b = 0; b < bits_.size(); ++b)
      s_a_[b].value[0] = T(quant::lsq_init_step(v, quant::qrange::of(bits_[b], act_signed(), name()).q_p));
    flags_[0] = T(1);
  }

  nn::weighted_layer<T>* layer_;
  nn::conv2d<T>* conv_ = nullptr;
  nn::batch_norm<T>* input_bn_;
  std::vector<int> bits_;
  bool grouped_ = false;
  std::vector<parameter<T>> s_a_, s_w_;  // per width
  tensor<T> flags_;                      // {initialized, act_signed}: checkpointed with the steps
  tensor<T> mask_state_;                 // (C) 1 for a selected channel: the mask, checkpointed
  channel_mask mask_, all_;
};

}  // namespace jaq::nas
