// jaq/nn/model.hpp: what every jaq network offers: forward, its parameters, its weighted layers
// with the BatchNorm that feeds each, train/eval switching, and its state for checkpoints.
//
//   std::unique_ptr<jaq::nn::model<float>> m = jaq::nn::make_model<float>("small-cnn", {}, gen);
//   m->set_training(true);
//   auto logits = m->forward(tp, x);            // x (C, N, H, W) -> (N, classes)
//   for (auto& s : m->sites())                  // each conv/linear, in forward order
//     if (s.input_bn) rank_channels(s.input_bn->gamma.value);   // CSQ: |gamma| of the feeding BN
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/parameter.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/weighted_layer.hpp"

namespace jaq::nn {

/// A weighted layer and the BatchNorm whose output (through ReLU/ReLU6/pooling) is its input.
/// input_bn is null for the first layer (it reads the image). After a residual add, it is the
/// BatchNorm that ends the preceding block's projection.
template <scalar T>
struct layer_site {
  weighted_layer<T>* layer = nullptr;
  batch_norm<T>* input_bn = nullptr;
};

template <scalar T>
class model {
 public:
  model() = default;
  model(const model&) = delete;  // layers hold pointers into the model
  model& operator=(const model&) = delete;
  virtual ~model() = default;

  virtual std::string name() const = 0;
  /// x (C, N, H, W) -> logits (N, classes).
  virtual var<T> forward(tape<T>& tp, var<T> x) = 0;

  /// Weighted layers in forward order, with the BatchNorm feeding each.
  const std::vector<layer_site<T>>& sites() const { return sites_; }
  const std::vector<batch_norm<T>*>& batch_norms() const { return bns_; }

  /// Every trainable parameter: each layer's weight (and bias), then each BatchNorm's gamma, beta.
  std::vector<parameter<T>*> parameters() {
    std::vector<parameter<T>*> ps;
    for (auto& s : sites_) {
      ps.push_back(&s.layer->weight);
      for (parameter<T>* extra : extras_[s.layer]) ps.push_back(extra);
    }
    for (auto* bn : bns_) {
      ps.push_back(&bn->gamma);
      ps.push_back(&bn->beta);
    }
    return ps;
  }

  /// Parameters and BatchNorm running statistics, by name: what a checkpoint stores.
  std::vector<named_tensor<T>> state() {
    std::vector<named_tensor<T>> st;
    for (parameter<T>* p : parameters()) st.push_back({p->name, &p->value});
    for (auto* bn : bns_) {
      st.push_back({bn->name + ".running_mean", &bn->state.running_mean});
      st.push_back({bn->name + ".running_var", &bn->state.running_var});
    }
    return st;
  }

  void set_training(bool on) {
    training_ = on;
    for (auto* bn : bns_) bn->training = on;
  }
  bool training() const { return training_; }

  std::int64_t parameter_count() {
    std::int64_t n = 0;
    for (auto* p : parameters()) n += p->value.size();
    return n;
  }

  friend std::ostream& operator<<(std::ostream& os, model& m) {
    os << m.name() << " (" << m.parameter_count() << " parameters)\n";
    for (const auto& s : m.sites_)
      os << "  " << s.layer->name << " " << s.layer->weight.value.shape() << " <- "
         << (s.input_bn ? s.input_bn->name : std::string("input")) << '\n';
    return os;
  }

 protected:
  void add_site(weighted_layer<T>& l, batch_norm<T>* input_bn, std::vector<parameter<T>*> extra = {}) {
    sites_.push_back({&l, input_bn});
    extras_.emplace(&l, std::move(extra));
  }
  void add_batch_norm(batch_norm<T>& bn) { bns_.push_back(&bn); }

 private:
  std::vector<layer_site<T>> sites_;
  std::vector<batch_norm<T>*> bns_;
  std::map<const weighted_layer<T>*, std::vector<parameter<T>*>> extras_;
  bool training_ = true;
};

}  // namespace jaq::nn
