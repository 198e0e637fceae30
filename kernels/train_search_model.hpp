// kernels/train_search_model.hpp: a model's mixed-precision search (jaq::nas::search_model,
// `train --mixed`, with or without CSQ) on the device training engine: every inner convolution
// is an op_kind::mixed_conv over the candidate widths, the first and last layers LSQ at their
// fixed widths, and each step's plan carries every layer's Gumbel-softmax sample.
//
//   jaq::nas::search_model<float> sm(*model, {.bits = {2, 3, 4, 8}, .csq = jaq::nas::csq_config{.keep_percent = 20}}, gen);
//   jaq::cuda::initialize_quantizers(*model, first_batch, &sm.fixed());   // every step size, from one batch
//   jaq::cuda::search_model_trainer<jaq::cuda::device_trainer> t(*model, sm, opt, {1, 28, 28}, 256, 0);
//   sm.begin_step(s);  auto r = t.step(batch, s);   // even s: SGD on the device; odd s: Adam on beta (host)
//   t.sync_to_model();
//
// A weight step is the CPU's: the soft mixture of every width, SGD, the steps floored. An
// architecture step runs the top-2 mixture without updating the weights; the mixture weights'
// gradients come back, jaq::nas::gumbel_backward turns them into d loss / d beta, and the
// search's own Adam steps beta on the host, as search_model's stepper does on the CPU. Without
// CSQ the all-channel mixture runs fused (nas::mixed_conv2d over every channel: the naive
// composition's sum).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/nas/search_model.hpp"
#include "jaq/optim/sgd.hpp"
#include "kernels/train_model.hpp"

namespace jaq::cuda {

/// A search model as a train::net, and where each search layer's op and mixture are.
struct bound_search_model {
  bound_model model;
  std::vector<int> mixture;      ///< per search layer: its widths' mixture weights
  std::vector<std::size_t> ops;  ///< per search layer: its mixed_conv op
};

/// m with sm's search layers on images of shape s. Every layer must be initialised
/// (initialize_quantizers(m, batch, &sm.fixed())).
inline bound_search_model bind_search_model(nn::model<float>& m, nas::search_model<float>& sm, data::image_shape s) {
  detail::net_builder nb(m.name(), sm.parameters(m.parameters()), m.parameters().size());
  nb.attach_quant(m, &sm.fixed());
  bound_search_model out;
  const auto& bits = sm.config().bits;
  for (std::size_t i = 0; i < sm.num_layers(); ++i) {
    const auto l = sm.layer(i);
    if (!l.initialized)
      throw config_error(l.name, "act_step", "not initialised yet: run jaq::cuda::initialize_quantizers on a first training batch");
    train::mixed_spec ms{.p = nb.mixture(std::int64_t(bits.size()))};
    for (std::size_t b = 0; b < bits.size(); ++b) {
      const quant::qrange a = quant::qrange::of(bits[b], l.act_signed, l.name), w = quant::qrange::of(bits[b], true, l.name);
      ms.widths.push_back(
          {.a_qn = a.q_n, .a_qp = a.q_p, .w_qn = w.q_n, .w_qp = w.q_p, .s_a = nb.param(l.s_a[b]), .s_w = nb.param(l.s_w[b])});
    }
    for (int c : l.mask.selected) ms.selected.push_back(std::int32_t(c));
    out.mixture.push_back(ms.p);
    nb.search_layer(l.name, std::move(ms));
  }
  detail::bind_layers(nb, m, s);
  out.model = nb.finish();
  for (std::size_t i = 0; i < sm.num_layers(); ++i)
    for (std::size_t k = 0; k < out.model.net.ops.size(); ++k)
      if (out.model.net.ops[k].kind == train::op_kind::mixed_conv && out.model.net.ops[k].name == sm.layer(i).name) out.ops.push_back(k);
  return out;
}

/// A search model's steps on a trainer; the state moves to the trainer when this is made and
/// back with sync_to_model(). `opt` trains sm.parameters(m.parameters()).
template <class Trainer>
class search_model_trainer {
 public:
  template <class... Args>
  search_model_trainer(nn::model<float>& m, nas::search_model<float>& sm, optim::sgd<float>& opt, data::image_shape s,
                       std::int64_t max_batch, Args&&... args)
      : sm_(sm), b_(bind_search_model(m, sm, s)), mt_(b_.model, opt, max_batch, std::forward<Args>(args)...) {}

  const bound_search_model& bound() const { return b_; }
  model_trainer<Trainer>& model() { return mt_; }

  /// The step begin_step(step) drew: a weight step (SGD at the optimizer's rate) or an
  /// architecture step (beta's gradients, then the search's Adam).
  nn::step_result step(const data::batch& b, std::int64_t step) {
    const bool arch = sm_.arch_step();
    train::step_plan plan{.mixture = std::vector<float>(std::size_t(b_.model.net.mixtures), 0.0f), .update = !arch};
    for (std::size_t i = 0; i < sm_.num_layers(); ++i) {
      const auto l = sm_.layer(i);
      for (std::size_t k = 0; k < l.sample.weights.size(); ++k) plan.mixture[std::size_t(b_.mixture[i]) + k] = float(l.sample.weights[k]);
      const std::vector<std::int32_t> mask(l.mask.selected.begin(), l.mask.selected.end());
      check(mt_.trainer().set_mask(b_.ops[i], mask));
    }
    const nn::step_result r = mt_.step(b, step, &plan);
    if (!arch) return r;
    std::vector<float> gm(std::size_t(b_.model.net.mixtures));
    check(mt_.trainer().get_mixture_grads(gm));
    for (std::size_t i = 0; i < sm_.num_layers(); ++i) {
      const auto l = sm_.layer(i);
      std::vector<double> g(l.sample.weights.size());
      for (std::size_t k = 0; k < g.size(); ++k) g[k] = double(gm[std::size_t(b_.mixture[i]) + k]);
      const auto gb = nas::gumbel_backward(l.sample, sm_.temperature(), g);
      l.beta.grad = tensor<float>::zeros(l.beta.value.shape());
      for (std::size_t k = 0; k < gb.size(); ++k) l.beta.grad[std::int64_t(k)] += float(gb[k]);
    }
    sm_.arch_optimizer().step();
    return r;
  }

  void sync_to_model() { mt_.sync_to_model(); }
  void sync_from_model() { mt_.sync_from_model(); }

 private:
  nas::search_model<float>& sm_;
  bound_search_model b_;
  model_trainer<Trainer> mt_;
};

}  // namespace jaq::cuda
