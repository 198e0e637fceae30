// kernels/train_supernet.hpp: the joint search's supernet (jaq::nas::supernet) as the device
// training engine's train::net, and its search steps on a trainer (device_trainer, or the host
// twin): every candidate operator of every block is in the net; each step's plan, made on the
// host from the supernet's own samples, says which operators run (the two sampled ones: the
// first trained, the second forward only) and gives the mixture weights.
//
//   supernet.initialize_layers(tp, first_images);                    // every step size set at once
//   jaq::cuda::supernet_trainer<jaq::cuda::device_trainer> t(supernet, sgd, {1, 28, 28}, 256, 0);
//   supernet.begin_step(false);  auto r = t.weight_step(batch, s);   // SGD on the device
//   supernet.begin_step(true);   t.arch_step(batch, s);              // d CE / d alpha, beta into their .grad
//   t.sync_to_model();                                               // weights, steps, statistics, momentum back
//
// What runs where, as nas::supernet::forward in training:
// - stem, head and classifier: LSQ at the fixed width (their mixed_layer's one width);
// - a searched convolution, dense or depthwise: op_kind::mixed_conv, its widths mixed by the
//   operator's width sample (with separate_wa: the activations' sample as p, the weights' as
//   pw); with CSQ over the layer's mask, else over every channel (the naive mixture's sum,
//   computed fused);
// - a grouped searched convolution (the g2 operators' project): one LSQ convolution per active
//   width (with separate_wa, per active pair of widths) and a mixture of them, as
//   naive_mixed_conv2d;
// - the block: a mix of every candidate's output with straight-through weights (1 for the first
//   sampled operator, 0 for the second, the others not run); the gradient of the operators'
//   Gumbel-softmax weights is <g, y_j>.
// The architecture logits stay on the host: arch_step takes the mixture weights' gradients back
// and puts them through jaq::nas::gumbel_backward into alpha and beta (those the CPU's step
// gives a gradient: every block's alpha, the first operator's beta when it has a convolution),
// for the caller's optimizer and its cost term.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/nas/supernet.hpp"
#include "jaq/nas/train_engine.hpp"
#include "jaq/optim/sgd.hpp"
#include "kernels/train_model.hpp"

namespace jaq::cuda {

/// A supernet as a train::net, and where its candidates and mixtures are.
struct bound_supernet {
  bound_model model;
  /// A grouped searched convolution, computed one width (or, separate_wa, one pair of an
  /// activation width a and a weight width i, branch a * widths + i) at a time.
  struct naive_conv {
    std::vector<std::size_t> width_ops;  ///< the conv op of each branch
    int c = -1;                          ///< the branches' weights
    int pairs = -1;                      ///< separate_wa: the pairs' weights' gradients (outer_weights' output)
  };
  struct candidate {
    std::size_t op_begin = 0, op_end = 0;  ///< its ops, [begin, end) of net.ops
    int width_p = -1, act_p = -1;          ///< the widths' (and, separate_wa, the activations') mixture weights
    bool has_convs = false;
    std::vector<naive_conv> naive;
  };
  struct block {
    std::vector<candidate> ops;
    int alpha_p = -1, alpha_c = -1;  ///< the operators' mixture weights and the straight-through constants
  };
  std::vector<block> blocks;
  std::vector<std::pair<std::size_t, nas::mixed_layer<float>*>> masked;  ///< mixed_conv ops and their layers (CSQ masks)
};

namespace detail {

/// The steps of mixed_layer l: s_a[b], s_w[b].
inline std::pair<std::vector<parameter<float>*>, std::vector<parameter<float>*>> layer_steps(nas::mixed_layer<float>& l) {
  std::vector<parameter<float>*> all, sa, sw;
  l.append_parameters(all);
  for (std::size_t b = 0; b < all.size(); b += 2) {
    sa.push_back(all[b]);
    sw.push_back(all[b + 1]);
  }
  return {sa, sw};
}

/// LSQ of layer l at width index b on both sides, as mixed_layer::forward_width (and each
/// branch of naive_mixed_conv2d) computes it: activations per tensor (gradient scale per
/// example), weights per output channel.
/// With `wb` >= 0 the weights at width index wb (separate_wa's pairs).
inline train::quant_layer width_quant_layer(net_builder& nb, nas::mixed_layer<float>& l, std::size_t b, std::int64_t in_per_image,
                                            std::ptrdiff_t wb = -1) {
  const auto [sa, sw] = layer_steps(l);
  const std::size_t bw = wb >= 0 ? std::size_t(wb) : b;
  const quant::qrange a = quant::qrange::of(l.bits()[b], l.act_signed(), l.name()), w = quant::qrange::of(l.bits()[bw], true, l.name());
  const auto& wt = l.layer().weight.value;
  return {.on = true,
          .a_qn = a.q_n,
          .a_qp = a.q_p,
          .w_qn = w.q_n,
          .w_qp = w.q_p,
          .w_per_channel = true,
          .s_a = nb.param(*sa[b]),
          .s_w = nb.param(*sw[bw]),
          .a_scale = quant::lsq_grad_scale(in_per_image, a.q_p),
          .w_scale = quant::lsq_grad_scale(wt.size() / wt.shape()[0], w.q_p)};
}

inline void require_initialized(nas::mixed_layer<float>& l) {
  if (!l.initialized())
    throw config_error(l.name(), "act_step", "not initialised yet: run supernet::initialize_layers on a first training batch");
}

}  // namespace detail

/// `sn` on images of shape `s`. Every quantized layer must be initialised
/// (supernet::initialize_layers).
inline bound_supernet bind_supernet(nas::supernet<float>& sn, data::image_shape s) {
  const bool fp = sn.full_precision();
  const std::vector<parameter<float>*> ps = sn.weight_parameters();
  std::size_t weights = sn.parameters().size();
  for (int b = 0; b < sn.num_blocks(); ++b)
    for (int o = 0; o < sn.num_ops(); ++o) weights += sn.op(b, o).convs().size();
  detail::net_builder nb(sn.name(), ps, weights);
  bound_supernet out;
  const auto nbits = std::int64_t(sn.num_widths());
  auto fixed = [&](nas::mixed_layer<float>& l, std::int64_t in_per_image) {
    detail::require_initialized(l);
    return detail::width_quant_layer(nb, l, 0, in_per_image);
  };
  auto x = nb.input(s);
  {
    train::quant_layer q;
    if (!fp) q = fixed(sn.stem_quant(), x.c * x.h * x.w);
    x = nb.bn(sn.stem_bn(), nb.conv(sn.stem(), x, fp ? nullptr : &q));
  }
  for (int b = 0; b < sn.num_blocks(); ++b) {
    auto& blk = out.blocks.emplace_back();
    const int n_ops = sn.num_ops();
    if (n_ops > 1) {
      blk.alpha_p = nb.mixture(n_ops);
      blk.alpha_c = nb.mixture(n_ops);
    }
    const auto block_in = x;
    std::vector<detail::net_builder::fmap> outs;
    for (int o = 0; o < n_ops; ++o) {
      auto& cand = sn.op(b, o);
      auto& cb = blk.ops.emplace_back();
      cb.op_begin = nb.ops();
      if (!fp) {
        cb.width_p = nb.mixture(nbits);
        if (sn.separate_wa()) cb.act_p = nb.mixture(nbits);
      }
      cb.has_convs = !cand.convs().empty();
      auto conv_k = [&](std::size_t k, detail::net_builder::fmap h) {
        nn::conv2d<float>& conv = *cand.convs()[k].conv;
        if (fp) return nb.conv(conv, h);
        auto& l = sn.layer(b, o, k);
        detail::require_initialized(l);
        const auto& sp = conv.spec;
        if (sp.groups > 1 && sp.groups != sp.in_channels) {  // grouped: naive_mixed_conv2d, one conv per width (pair)
          bound_supernet::naive_conv nc;
          std::vector<detail::net_builder::fmap> ys;
          std::vector<int> index;
          const bool pairs = sn.separate_wa();
          for (std::int64_t a = 0; a < nbits; ++a)
            for (std::int64_t w = 0; w < (pairs ? nbits : 1); ++w) {
              const train::quant_layer q =
                  detail::width_quant_layer(nb, l, std::size_t(a), h.c * h.h * h.w, pairs ? std::ptrdiff_t(w) : std::ptrdiff_t(-1));
              nc.width_ops.push_back(nb.ops());
              ys.push_back(nb.conv(conv, h, &q));
              index.push_back(int(pairs ? a * nbits + w : a));
            }
          nc.c = nb.mixture(std::int64_t(ys.size()));
          if (pairs) nc.pairs = nb.mixture(nbits * nbits);
          cb.naive.push_back(nc);
          return nb.mix(ys, index, nc.c, pairs ? nc.pairs : cb.width_p);
        }
        train::mixed_spec ms{.p = sn.separate_wa() ? cb.act_p : cb.width_p, .pw = sn.separate_wa() ? cb.width_p : -1};
        const auto [sa, sw] = detail::layer_steps(l);
        for (std::int64_t w = 0; w < nbits; ++w) {
          const int bits = l.bits()[std::size_t(w)];
          const quant::qrange a = quant::qrange::of(bits, l.act_signed(), l.name()), wq = quant::qrange::of(bits, true, l.name());
          ms.widths.push_back({.a_qn = a.q_n,
                               .a_qp = a.q_p,
                               .w_qn = wq.q_n,
                               .w_qp = wq.q_p,
                               .s_a = nb.param(*sa[std::size_t(w)]),
                               .s_w = nb.param(*sw[std::size_t(w)])});
        }
        const bool csq = sn.layer_mixing() == nas::mixing::csq;
        for (std::int64_t c = 0; c < sp.in_channels; ++c)
          if (!csq || l.mask().is_selected[std::size_t(c)]) ms.selected.push_back(std::int32_t(c));
        if (csq) out.masked.emplace_back(nb.ops(), &l);
        return nb.mixed(conv, h, std::move(ms));
      };
      // candidate_op::forward, op by op
      auto bns = cand.batch_norms();
      detail::net_builder::fmap y = block_in;
      if (cand.identity()) {
        y = block_in;
      } else if (cand.spec.skip) {
        y = nb.bn(*bns[0], conv_k(0, block_in));
      } else {
        std::size_t k = 0, bi = 0;
        auto h = block_in;
        if (cand.spec.expansion != 1) h = nb.bn(*bns[bi++], conv_k(k++, h));
        h = nb.bn(*bns[bi++], conv_k(k++, h));
        if (cand.spec.groups > 1) h = nb.shuffle(h, cand.spec.groups);
        h = nb.bn(*bns[bi++], conv_k(k++, h));
        y = cand.residual() ? nb.add(h, block_in) : h;
      }
      cb.op_end = nb.ops();
      outs.push_back(y);
    }
    if (n_ops > 1) {
      std::vector<int> index;
      for (int o = 0; o < n_ops; ++o) index.push_back(o);
      x = nb.mix(outs, index, blk.alpha_c, blk.alpha_p);
    } else {
      x = outs[0];
    }
  }
  {
    train::quant_layer q;
    if (!fp) q = fixed(sn.head_quant(), x.c * x.h * x.w);
    x = nb.bn(sn.head_bn(), nb.conv(sn.head(), x, fp ? nullptr : &q));
    x = nb.global_avg_pool(x);
    if (!fp) q = fixed(sn.fc_quant(), x.c);
    nb.linear_head(sn.fc(), x, fp ? nullptr : &q);
  }
  out.model = nb.finish();
  return out;
}

/// The supernet's search steps on a trainer; the weights' state moves to the trainer when this
/// is made and back with sync_to_model(). The supernet keeps the logits and draws the samples.
template <class Trainer>
class supernet_trainer {
 public:
  /// `sgd` trains exactly sn.weight_parameters(). Extra arguments go to Trainer's constructor
  /// after (net, max_batch) (device_trainer: the device).
  template <class... Args>
  supernet_trainer(nas::supernet<float>& sn, optim::sgd<float>& sgd, data::image_shape s, std::int64_t max_batch, Args&&... args)
      : sn_(sn), b_(bind_supernet(sn, s)), mt_(b_.model, sgd, max_batch, std::forward<Args>(args)...) {}

  const bound_supernet& bound() const { return b_; }
  model_trainer<Trainer>& model() { return mt_; }

  /// The plan of the supernet's current samples (begin_step): run modes, mixture weights, masks.
  train::step_plan plan(bool update) {
    const train::net& nt = b_.model.net;
    train::step_plan p{.mixture = std::vector<float>(std::size_t(nt.mixtures), 0.0f),
                       .run = std::vector<train::run_mode>(nt.ops.size(), train::run_mode::train),
                       .update = update};
    for (int b = 0; b < sn_.num_blocks(); ++b) {
      const auto& blk = b_.blocks[std::size_t(b)];
      const int first = sn_.first(b), second = sn_.second(b);
      for (int o = 0; o < int(blk.ops.size()); ++o) {
        if (blk.alpha_p >= 0) {
          p.mixture[std::size_t(blk.alpha_p + o)] = float(sn_.op_sample(b).weights[std::size_t(o)]);
          p.mixture[std::size_t(blk.alpha_c + o)] = o == first ? 1.0f : o == second ? 0.0f : -1.0f;
        }
        const auto& cb = blk.ops[std::size_t(o)];
        const train::run_mode mode = o == first ? train::run_mode::train : o == second ? train::run_mode::forward : train::run_mode::skip;
        for (std::size_t i = cb.op_begin; i < cb.op_end; ++i) p.run[i] = mode;
        if (mode == train::run_mode::skip || cb.width_p < 0) continue;
        const auto& ws = sn_.width_sample(b, o).weights;
        for (std::size_t w = 0; w < ws.size(); ++w) p.mixture[std::size_t(cb.width_p) + w] = float(ws[w]);
        if (cb.act_p >= 0) {
          const auto& as = sn_.act_sample(b, o).weights;
          for (std::size_t w = 0; w < as.size(); ++w) p.mixture[std::size_t(cb.act_p) + w] = float(as[w]);
        }
        for (const auto& nc : cb.naive)  // a branch of weight 0 does not run
          for (std::size_t j = 0; j < nc.width_ops.size(); ++j) {
            float c = 0.0f;
            if (nc.pairs >= 0) {  // outer_weights: p_a pw_i, p the activations' sample, pw the weights'
              const std::size_t a = j / ws.size(), i = j % ws.size();
              const float pa = float(sn_.act_sample(b, o).weights[a]), pi = float(ws[i]);
              c = pa != 0.0f && pi != 0.0f ? pa * pi : 0.0f;
            } else {
              c = float(ws[j]);
            }
            p.mixture[std::size_t(nc.c) + j] = c != 0.0f ? c : -1.0f;
            if (c == 0.0f) p.run[nc.width_ops[j]] = train::run_mode::skip;
          }
      }
    }
    for (const auto& [i, l] : b_.masked) {
      const auto& sel = l->mask().selected;
      const std::vector<std::int32_t> m(sel.begin(), sel.end());
      check(mt_.trainer().set_mask(i, m));
    }
    return p;
  }

  /// A weight step on b with the supernet's current samples (begin_step(false)), at the SGD's
  /// learning rate: what the joint search's CPU weight step computes, the steps floored after it.
  nn::step_result weight_step(const data::batch& b, std::int64_t step) {
    const train::step_plan p = plan(true);
    return mt_.step(b, step, &p);
  }

  /// An architecture step's network part (begin_step(true)): the loss and d loss / d logits
  /// into the logits' .grad (allocated as the CPU's tape would: every block's alpha, the first
  /// operator's beta and beta_act when it has a convolution; added to what is there). Nothing
  /// is updated: the caller adds its cost term and steps its optimizer.
  nn::step_result arch_step(const data::batch& b, std::int64_t step) {
    const train::step_plan p = plan(false);
    const nn::step_result r = mt_.step(b, step, &p);
    std::vector<float> gm(std::size_t(b_.model.net.mixtures));
    check(mt_.trainer().get_mixture_grads(gm));
    const double tau = sn_.temperature();
    // separate_wa's grouped layers: the pairs' weights' gradients through outer_weights into
    // the activations' and the weights' mixtures, as its backward does (a, then i, in order)
    for (int blk = 0; blk < sn_.num_blocks(); ++blk)
      for (int o = 0; o < sn_.num_ops(); ++o) {
        const auto& cb = b_.blocks[std::size_t(blk)].ops[std::size_t(o)];
        if (o != sn_.first(blk) || cb.act_p < 0) continue;
        const auto& pa = sn_.act_sample(blk, o).weights;
        const auto& pw = sn_.width_sample(blk, o).weights;
        const std::size_t m = pw.size();
        for (const auto& nc : cb.naive) {
          if (nc.pairs < 0) continue;
          for (std::size_t a = 0; a < pa.size(); ++a)
            for (std::size_t i = 0; i < m; ++i) {
              const float g = gm[std::size_t(nc.pairs) + a * m + i];
              gm[std::size_t(cb.act_p) + a] += g * float(pw[i]);
              gm[std::size_t(cb.width_p) + i] += g * float(pa[a]);
            }
        }
      }
    auto chain = [&](parameter<float>& logits, const nas::gumbel_weights& w, int at) {
      std::vector<double> g(w.weights.size());
      for (std::size_t k = 0; k < g.size(); ++k) g[k] = double(gm[std::size_t(at) + k]);
      const auto gb = nas::gumbel_backward(w, tau, g);
      if (logits.grad.empty()) logits.grad = tensor<float>::zeros(logits.value.shape());
      for (std::size_t k = 0; k < gb.size(); ++k) logits.grad[std::int64_t(k)] += float(gb[k]);
    };
    for (int blk = 0; blk < sn_.num_blocks(); ++blk) {
      const auto& bb = b_.blocks[std::size_t(blk)];
      if (bb.alpha_p >= 0 && sn_.second(blk) >= 0) chain(sn_.alpha(blk), sn_.op_sample(blk), bb.alpha_p);
      const int o = sn_.first(blk);
      const auto& cb = bb.ops[std::size_t(o)];
      if (cb.width_p < 0 || !cb.has_convs) continue;
      chain(sn_.beta(blk, o), sn_.width_sample(blk, o), cb.width_p);
      if (cb.act_p >= 0) chain(sn_.beta_act(blk, o), sn_.act_sample(blk, o), cb.act_p);
    }
    return r;
  }

  void sync_to_model() { mt_.sync_to_model(); }
  void sync_from_model() { mt_.sync_from_model(); }

 private:
  nas::supernet<float>& sn_;
  bound_supernet b_;
  model_trainer<Trainer> mt_;
};

/// The trainer behind the joint search's seam (jaq::search::joint_search::train_on):
///   js.train_on([&](auto& net, auto& sgd) {
///     return std::make_unique<jaq::cuda::supernet_engine_on<jaq::cuda::device_trainer>>(net, sgd, shape, batch, "GPU 0", 0);
///   });
template <class Trainer>
class supernet_engine_on final : public nas::supernet_engine {
 public:
  /// `where` names the engine in messages; extra arguments go to Trainer's constructor.
  template <class... Args>
  supernet_engine_on(nas::supernet<float>& sn, optim::sgd<float>& sgd, data::image_shape s, std::int64_t max_batch, std::string where,
                     Args&&... args)
      : t_(sn, sgd, s, max_batch, std::forward<Args>(args)...), where_(std::move(where)) {}

  nn::step_result weight_step(const data::batch& b, std::int64_t step) override { return t_.weight_step(b, step); }
  nn::step_result arch_step(const data::batch& b, std::int64_t step) override { return t_.arch_step(b, step); }
  void sync_from_model() override { t_.sync_from_model(); }
  void sync_to_model() override { t_.sync_to_model(); }
  std::string name() const override { return where_; }
  supernet_trainer<Trainer>& trainer() { return t_; }

 private:
  supernet_trainer<Trainer> t_;
  std::string where_;
};

}  // namespace jaq::cuda
