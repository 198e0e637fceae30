// jaq/quant/quantize_model.hpp: fixed-precision quantization-aware training of a jaq::nn model,
// installed through the layers' hooks (jaq/nn/weighted_layer.hpp), never by editing the model.
//
// Methods: LSQ (activations per tensor, weights per output channel by default; conv layers run
// the fused jaq::quant::qconv2d, whose forward is bit-exact with the integer reference), PACT
// (learned clip on activations; weights LSQ), min/max with STE (activations per tensor with a
// running range, weights per output channel). The first and the last weighted layer use
// `first_bits` / `last_bits` (8 by default, as is common). A layer whose input can be negative
// (the first layer's normalised image, a residual sum) gets a signed activation grid; PACT, which
// clips at 0, gives such a layer LSQ instead. Signedness and initial steps are taken from the
// first training batch: s0 = 2 mean|x| / sqrt(Q_P), alpha0 = s0 * Q_P.
//
//   jaq::quant::quantized_model<float> q(*model, {.method = jaq::quant::method::lsq, .wbits = 4, .abits = 4});
//   jaq::optim::sgd<float> opt(q.parameters(model->parameters()), {...});   // steps train too
//   std::cout << q;                                                         // per-layer widths
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/core/error.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/model.hpp"
#include "jaq/quant/fake_quant.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/qconv2d.hpp"

namespace jaq::quant {

/// lsq: LSQ weights and activations; pact: LSQ weights, PACT activations; minmax: Auto-NBA's
/// baseline; dorefa: DoReFa weights with PACT activations (the usual pairing).
enum class method { lsq, pact, minmax, dorefa };

inline const char* to_string(method m) {
  switch (m) {
    case method::lsq:
      return "lsq";
    case method::pact:
      return "pact";
    case method::minmax:
      return "minmax";
    case method::dorefa:
      return "dorefa";
  }
  return "?";
}

/// "lsq" | "pact" | "minmax" | "dorefa"; anything else is a config_error naming `where`.
inline method parse_method(const std::string& s, const std::string& where = "quant_config") {
  if (s == "lsq") return method::lsq;
  if (s == "pact") return method::pact;
  if (s == "minmax") return method::minmax;
  if (s == "dorefa") return method::dorefa;
  throw config_error(where, "method", "unknown quantizer '" + s + "' (lsq, pact, minmax or dorefa)");
}

struct quant_config {
  quant::method method = quant::method::lsq;
  int wbits = 4;            ///< weights of the inner layers
  int abits = 4;            ///< input activations of the inner layers
  int first_bits = 8;       ///< weights and input of the first weighted layer
  int last_bits = 8;        ///< weights and input of the last weighted layer
  bool per_channel = true;  ///< weights: one step per output channel (else per tensor)
  lsq_count count = lsq_count::per_example;
  bool first_last_only = false;  ///< quantize only the first and last layer (used by the search)
  /// Per-layer widths (weights and input activations) that override wbits/abits for the named
  /// layers: a searched network's derived precision. Every name must be a weighted layer.
  std::vector<std::pair<std::string, int>> layer_bits = {};
  /// Per-layer widths of the input activations alone, applied after layer_bits (a searched
  /// network whose weights and activations chose their widths apart).
  std::vector<std::pair<std::string, int>> layer_act_bits = {};

  void validate(const std::string& where) const {
    (void)qrange::of(wbits, true, where + ": wbits");
    (void)qrange::of(abits, false, where + ": abits");
    (void)qrange::of(first_bits, true, where + ": first_bits");
    (void)qrange::of(last_bits, true, where + ": last_bits");
    for (const auto& [name, b] : layer_bits) (void)qrange::of(b, true, where + ": layer " + name + " bits");
    for (const auto& [name, b] : layer_act_bits) (void)qrange::of(b, false, where + ": layer " + name + " act_bits");
  }

  friend std::ostream& operator<<(std::ostream& os, const quant_config& c) {
    return os << "quant_config{." << to_string(c.method) << ", .wbits=" << c.wbits << ", .abits=" << c.abits
              << ", .first_bits=" << c.first_bits << ", .last_bits=" << c.last_bits << ", .per_channel=" << c.per_channel << "}";
  }
};

template <scalar T>
class quantized_model {
 public:
  /// Installs quantizers on `m`'s weighted layers; `m` must outlive this object (and the hooks
  /// must not be called after it is destroyed).
  quantized_model(nn::model<T>& m, quant_config c) : model_(m), cfg_(c) {
    c.validate(m.name());
    const auto& sites = m.sites();
    auto named = c.layer_bits;
    named.insert(named.end(), c.layer_act_bits.begin(), c.layer_act_bits.end());
    for (const auto& [name, b] : named) {
      bool found = false;
      for (const auto& site : sites) found = found || site.layer->name == name;
      if (!found) throw config_error(m.name(), "layer " + name, "no weighted layer of this name (a derived precision of another model?)");
    }
    for (std::size_t i = 0; i < sites.size(); ++i) {
      const bool first = i == 0, last = i + 1 == sites.size();
      if (c.first_last_only && !first && !last) continue;
      int wb = first ? c.first_bits : last ? c.last_bits : c.wbits;
      int ab = first ? c.first_bits : last ? c.last_bits : c.abits;
      for (const auto& [name, b] : c.layer_bits)
        if (name == sites[i].layer->name) wb = ab = b;
      for (const auto& [name, b] : c.layer_act_bits)
        if (name == sites[i].layer->name) ab = b;
      install(*sites[i].layer, wb, ab);
    }
  }
  quantized_model(const quantized_model&) = delete;  // the hooks point into this object
  quantized_model& operator=(const quantized_model&) = delete;

  /// `model_params` plus every step size and clip this object owns: what the optimizer trains.
  std::vector<parameter<T>*> parameters(std::vector<parameter<T>*> model_params = {}) {
    for (auto& l : layers_) {
      model_params.push_back(&l.s_a);
      model_params.push_back(&l.s_w);
    }
    return model_params;
  }

  /// Keeps every step and clip positive after an optimizer step (SGD can push a small step
  /// through zero, and v/s is then meaningless): s = max(s, min_step).
  void project(T min_step = T(1e-6)) {
    for (auto& l : layers_)
      for (auto* p : {&l.s_a, &l.s_w})
        for (auto& v : p->value) v = std::max(v, min_step);
  }

  /// What a checkpoint needs to continue training exactly: every layer's steps (or clips) and a
  /// small tensor of its quantizer flags and min/max observer, packed by this call (call it again
  /// before each save: the entries point at tensors this object owns). After load_checkpoint
  /// of these entries, restore_state() unpacks the flags.
  std::vector<named_tensor<T>> state() {
    std::vector<named_tensor<T>> out;
    for (auto& l : layers_) {
      l.packed[0] = T(l.initialized);
      l.packed[1] = T(l.act_signed);
      l.packed[2] = T(static_cast<int>(l.act_method));
      l.packed[3] = T(l.observer.seen);
      l.packed[4] = T(l.observer.running.lo);
      l.packed[5] = T(l.observer.running.hi);
      out.push_back({l.s_a.name, &l.s_a.value});
      out.push_back({l.s_w.name, &l.s_w.value});
      out.push_back({l.name + ".quant_state", &l.packed});
    }
    return out;
  }
  /// Unpacks what state() packed (after load_checkpoint); model_error for a method out of range.
  void restore_state() {
    for (auto& l : layers_) {
      const int m = static_cast<int>(l.packed[2]);
      if (m < 0 || m > static_cast<int>(method::dorefa))
        throw model_error(l.name + ".quant_state: method " + std::to_string(m) + " out of range");
      l.initialized = l.packed[0] != T(0);
      l.act_signed = l.packed[1] != T(0);
      l.act_method = static_cast<method>(m);
      l.observer.seen = l.packed[3] != T(0);
      l.observer.running.lo = static_cast<float>(l.packed[4]);
      l.observer.running.hi = static_cast<float>(l.packed[5]);
    }
  }

  /// Read-only view of one quantized layer's state (the integer forward reads it; see
  /// jaq/quant/integer_model.hpp). The pointers stay valid while this object lives.
  struct layer_quant {
    std::string name;
    int wbits = 8, abits = 8;
    bool act_signed = false;                           ///< meaningful once initialized
    bool initialized = false;                          ///< the activation step was set from a first batch
    quant::method act_method = quant::method::lsq;     ///< lsq or pact (or minmax)
    quant::method weight_method = quant::method::lsq;  ///< lsq (lsq, pact), minmax or dorefa
    bool per_channel = true;                           ///< s_w has one step per output channel (else one)
    const parameter<T>* s_a = nullptr;                 ///< LSQ activation step (1), or PACT alpha
    const parameter<T>* s_w = nullptr;                 ///< LSQ weight steps (Co) or (1)
  };

  /// The quantized layers in forward order (a first_last_only model lists two).
  std::vector<layer_quant> layers() const {
    std::vector<layer_quant> out;
    const quant::method wm = cfg_.method == method::pact ? method::lsq : cfg_.method;
    for (const auto& l : layers_)
      out.push_back({.name = l.name,
                     .wbits = l.wbits,
                     .abits = l.abits,
                     .act_signed = l.act_signed,
                     .initialized = l.initialized,
                     .act_method = l.act_method,
                     .weight_method = wm,
                     .per_channel = cfg_.per_channel,
                     .s_a = &l.s_a,
                     .s_w = &l.s_w});
    return out;
  }

  const quant_config& config() const { return cfg_; }

  /// The min/max input observer of layer i (in layers() order): the running range evaluation
  /// reads. Only method minmax uses it; a training engine of its own (kernels/) keeps it current.
  minmax_observer& observer(std::size_t i) { return layers_.at(i).observer; }

  friend std::ostream& operator<<(std::ostream& os, const quantized_model& q) {
    os << q.cfg_ << '\n';
    for (const auto& l : q.layers_)
      os << "  " << l.name << ": w" << l.wbits << " a" << l.abits << (l.initialized ? (l.act_signed ? " signed" : " unsigned") : "") << " ("
         << to_string(l.act_method) << ")\n";
    return os;
  }

 private:
  struct layer_state {
    std::string name;
    int wbits = 8, abits = 8;
    quant::method act_method = quant::method::lsq;
    bool initialized = false;
    bool act_signed = false;
    parameter<T> s_a;  ///< LSQ activation step, or PACT alpha
    parameter<T> s_w;  ///< LSQ weight steps (Co) or (1); unused by min/max
    minmax_observer observer{};
    tensor<T> packed;  ///< {initialized, act_signed, act_method, observer seen, lo, hi}: state()'s form of the above
  };

  void install(nn::weighted_layer<T>& layer, int wbits, int abits) {
    layer_state& st = layers_.emplace_back();
    st.name = layer.name;
    st.wbits = wbits;
    st.abits = abits;
    st.act_method = cfg_.method == method::dorefa ? method::pact : cfg_.method;
    const std::int64_t co = layer.weight.value.shape()[0];
    const bool per_channel = cfg_.per_channel;
    st.s_a = {.name = layer.name + ".act_step", .value = tensor<T>::full(jaq::shape{1}, T(1)), .grad = {}};
    st.s_w = {.name = layer.name + ".weight_step",
              .value = tensor<T>::zeros(jaq::shape{per_channel ? co : 1}),
              .grad = {}};  // min/max, DoReFa: unused
    st.packed = tensor<T>::zeros(jaq::shape{6});
    if (cfg_.method != method::minmax && cfg_.method != method::dorefa) {  // LSQ weight steps from the initial weights
      const auto& wv = layer.weight.value;
      std::vector<float> w(wv.begin(), wv.end()), s(std::size_t(per_channel ? co : 1));
      const int qp = qrange::of(wbits, true, layer.name).q_p;
      if (per_channel)
        lsq_init_step_per_channel(w, qp, s);
      else
        s[0] = lsq_init_step(w, qp);
      for (std::size_t k = 0; k < s.size(); ++k) st.s_w.value[std::int64_t(k)] = T(s[k]);
    }
    layer_state* sp = &st;
    nn::model<T>* mp = &model_;
    const lsq_count count = cfg_.count;
    auto* conv = dynamic_cast<nn::conv2d<T>*>(&layer);

    // activation initialisation from the first batch that reaches the layer
    auto init_act = [sp](const tensor<T>& x) {
      if (sp->initialized) return;
      T lo = x[0];
      for (std::int64_t i = 0; i < x.size(); ++i) lo = std::min(lo, x[i]);
      sp->act_signed = lo < T(0);
      if (sp->act_method == method::pact && sp->act_signed) sp->act_method = method::lsq;
      std::vector<float> v(x.begin(), x.end());
      const int qp = qrange::of(sp->abits, sp->act_signed, sp->name).q_p;
      const float s0 = lsq_init_step(v, qp);
      sp->s_a.value[0] = T(sp->act_method == method::pact ? s0 * float(qp) : s0);
      sp->initialized = true;
    };
    auto act_spec = [sp, count](int batch_axis) {
      return lsq_spec{.bits = sp->abits,
                      .is_signed = sp->act_signed,
                      .per_channel = false,
                      .count = count,
                      .batch_axis = batch_axis,
                      .name = sp->name + ".input"};
    };
    auto weight_spec = [sp, per_channel] {
      return lsq_spec{.bits = sp->wbits, .is_signed = true, .per_channel = per_channel, .batch_axis = -1, .name = sp->name + ".weight"};
    };

    if (cfg_.method == method::minmax) {
      layer.input_quantizer = [sp, mp, init_act](tape<T>& tp, var<T> x) {
        init_act(x.value());
        return minmax_quantize(tp, x, {.bits = sp->abits, .per_channel = false, .name = sp->name + ".input"}, &sp->observer,
                               mp->training());
      };
      layer.weight_quantizer = [sp](tape<T>& tp, var<T> w) {
        return minmax_quantize(tp, w, {.bits = sp->wbits, .per_channel = true, .name = sp->name + ".weight"});
      };
      return;
    }
    if (cfg_.method == method::dorefa) {
      layer.weight_quantizer = [sp](tape<T>& tp, var<T> w) {
        return dorefa_quantize(tp, w, {.bits = sp->wbits, .name = sp->name + ".weight"});
      };
    } else {
      layer.weight_quantizer = [sp, weight_spec](tape<T>& tp, var<T> w) { return lsq_quantize(tp, w, tp.param(sp->s_w), weight_spec()); };
    }
    const int batch_axis = conv ? 1 : 0;  // (C, N, H, W) feature maps, (N, F) features
    layer.input_quantizer = [sp, init_act, act_spec, batch_axis](tape<T>& tp, var<T> x) {
      init_act(x.value());
      if (sp->act_method == method::pact) return pact_quantize(tp, x, tp.param(sp->s_a), {.bits = sp->abits, .name = sp->name + ".input"});
      return lsq_quantize(tp, x, tp.param(sp->s_a), act_spec(batch_axis));
    };
    if (conv && cfg_.method == method::lsq) {
      // fused: the integer-exact forward, one saved activation-sized tensor
      const conv2d_options opts{.stride = conv->spec.stride, .padding = conv->spec.padding, .groups = conv->spec.groups};
      layer.forward_override = [sp, init_act, act_spec, weight_spec, opts](tape<T>& tp, var<T> x, nn::weighted_layer<T>& self) {
        init_act(x.value());
        return qconv2d(tp, x, tp.param(self.weight), tp.param(sp->s_a), tp.param(sp->s_w),
                       {.conv = opts, .act = act_spec(1), .weight = weight_spec()});
      };
    }
  }

  nn::model<T>& model_;
  quant_config cfg_;
  std::deque<layer_state> layers_;  // stable addresses: the hooks hold pointers
};

}  // namespace jaq::quant
