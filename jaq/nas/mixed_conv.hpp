// jaq/nas/mixed_conv.hpp: the convolution of a mixed-precision search layer, with CSQ.
//
// A search layer mixes its candidate bit-widths b (LSQ on activation and weight at b bits) with
// weights p_b (Gumbel-softmax, jaq/nas/gumbel_softmax.hpp):  y = sum_b p_b conv(Qa_b(x), Qw_b(w)).
// CSQ (channel-wise sparse quantization) quantizes only the selected input channels (the top-K%
// by |gamma|, jaq/nas/channel_mask.hpp); unselected channels pass through in full precision:
//     y = conv(x_U, sum_b p_b Qw_b(w)[:, U]) + sum_b p_b conv(Qa_b(x_S), Qw_b(w)[:, S])
// Both terms are one convolution over a stacked input X~ = [x_U ; Qa_b1(x_S) ; Qa_b2(x_S) ...]
// with the stacked weight W~ = [sum_b p_b Qw_b(w)[:, U] ; p_b1 Qw_b1(w)[:, S] ; ...]. Backward
// needs X~ only. The op saves the quantized part (|A| |S| channels, one copy per active
// candidate) and reads x_U back from its input x, which the tape holds anyway: ONE
// full-precision copy of the unselected channels, not one per candidate. The im2col matrix is
// rebuilt in backward. With every channel selected this is the fused form of
// the all-channel supernet; jaq::nas::naive_mixed_conv2d is the unfused composition (one
// quantized conv per candidate, then the weighted sum) that frameworks run by default.
// Only the candidates with p_b != 0 run (top-2 sampling leaves two).
//
// Separate weight and activation widths (`pw`, the weights' own mixture over the same widths):
//     y = sum_a sum_i p_a pw_i conv(x_U ; Qa_a(x_S), Qw_i(w)),
// which, the convolution being bilinear, is the same stacked convolution with
// W~ = [P W_mix[:, U] ; p_a1 W_mix[:, S] ; ...], W_mix = sum_i pw_i Qw_i(w), P = sum_a p_a (1
// for a sampled mixture): one copy of the quantized input per activation width, not one per
// (activation, weight) pair.
//
//   auto p = jaq::nas::gumbel_mixture(tp, tp.param(beta), sample, tau);
//   auto y = jaq::nas::mixed_conv2d(tp, x, tp.param(w), p, s_a, s_w, mask,
//                                   {.conv = {.padding = 1}, .bits = {2, 3, 4, 8}, .name = "conv2"});
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/detail/conv_engine.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/detail/lsq_kernels.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/qconv2d.hpp"

namespace jaq::nas {

/// A search layer's convolution and its candidates.
struct mixed_conv_spec {
  conv2d_options conv{};
  std::vector<int> bits{2, 3, 4, 8};  ///< candidate widths, each 1..8
  bool act_signed = false;            ///< activation grid (unsigned after ReLU)
  quant::lsq_count count = quant::lsq_count::per_example;
  std::string name = "search";

  void validate() const {
    if (bits.empty()) throw config_error(name, "bits", "no candidate bit-widths");
    for (int b : bits) quant::all_bits::check(b, name);
  }
};

/// p (B) = the Gumbel-softmax weights of `sample` as a var whose backward reaches beta.
template <scalar T>
var<T> gumbel_mixture(tape<T>& tp, var<T> beta, const gumbel_weights& sample, double tau) {
  const std::int64_t nb = beta.shape().numel();
  JAQ_ASSERT(std::size_t(nb) == sample.weights.size());
  tensor<T> p(jaq::shape{nb});
  for (std::int64_t b = 0; b < nb; ++b) p[b] = T(sample.weights[std::size_t(b)]);
  return tp.record("gumbel_mixture", std::move(p), {beta}, [sample, tau, nb](backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    std::vector<double> gw(static_cast<std::size_t>(nb));
    for (std::int64_t b = 0; b < nb; ++b) gw[std::size_t(b)] = double(ctx.grad_output()[b]);
    const auto gb = gumbel_backward(sample, tau, gw);
    auto& g = ctx.grad_input(0);
    for (std::int64_t b = 0; b < nb; ++b) g[b] += T(gb[std::size_t(b)]);
  });
}

namespace detail {

// One channel of the stacked input: which input channel, and which candidate (-1: unquantized).
struct stacked_channel {
  std::int64_t source;
  int candidate;
};

inline std::vector<stacked_channel> stack_channels(const channel_mask& m, const std::vector<int>& active) {
  std::vector<stacked_channel> s;
  for (int c : m.unselected) s.push_back({c, -1});
  for (int b : active)
    for (int c : m.selected) s.push_back({c, b});
  return s;
}

/// For each input channel, the stacked channels that read it, in ascending order.
inline std::vector<std::vector<std::int64_t>> stacked_by_source(const std::vector<stacked_channel>& stack, std::int64_t c) {
  std::vector<std::vector<std::int64_t>> by(static_cast<std::size_t>(c));
  for (std::size_t j = 0; j < stack.size(); ++j) by[std::size_t(stack[j].source)].push_back(std::int64_t(j));
  return by;
}

}  // namespace detail

/// x (C, N, H, W), w (Co, C/groups, k, k) with groups 1 or depthwise (groups = C = Co),
/// p (B), s_a[b] (1), s_w[b] (Co): -> (Co, N, Ho, Wo). With `pw` (B), p weighs the activation
/// widths and pw the weight widths; without it one width b drives both, weighted p_b.
template <scalar T>
var<T> mixed_conv2d(tape<T>& tp, var<T> x, var<T> w, var<T> p, const std::vector<var<T>>& s_a, const std::vector<var<T>>& s_w,
                    const channel_mask& mask, const mixed_conv_spec& spec, std::optional<var<T>> pw = std::nullopt) {
  spec.validate();
  const bool separate = pw.has_value();
  const std::int64_t nb = std::int64_t(spec.bits.size());
  const jaq::detail::conv_geometry g0 = jaq::detail::conv_check("mixed_conv2d", x.shape(), w.shape(), spec.conv);
  const std::int64_t c = g0.c, co = w.shape()[0], groups = spec.conv.groups;
  const bool depthwise = groups > 1;
  if (depthwise && !(groups == c && groups == co))
    throw model_error(spec.name + ": mixed_conv2d supports groups = 1 or depthwise, got groups " + std::to_string(groups));
  if (p.shape().numel() != nb || std::int64_t(s_a.size()) != nb || std::int64_t(s_w.size()) != nb ||
      (separate && pw->shape().numel() != nb))
    throw model_error(spec.name + ": need one mixture weight and one step pair per candidate (" + std::to_string(nb) + ")");
  if (mask.channels() != c)
    throw model_error(spec.name + ": channel mask has " + std::to_string(mask.channels()) + " channels, input has " + std::to_string(c));
  for (std::int64_t b = 0; b < nb; ++b) {
    if (s_a[b].shape().numel() != 1 || s_w[b].shape().numel() != co)
      throw model_error(spec.name + ": steps of candidate " + std::to_string(spec.bits[b]) + " must be (1) and (" + std::to_string(co) +
                        ")");
    quant::detail::check_steps(s_a[b].value(), spec.name + ".input", "lsq step");
    quant::detail::check_steps(s_w[b].value(), spec.name + ".weight", "lsq step");
  }
  std::vector<int> active, wactive;  // activation candidates that run; weight widths that run
  for (std::int64_t b = 0; b < nb; ++b)
    if (p.value()[b] != T(0)) active.push_back(int(b));
  if (separate) {
    for (std::int64_t b = 0; b < nb; ++b)
      if (pw->value()[b] != T(0)) wactive.push_back(int(b));
  } else {
    wactive = active;
  }
  const std::int64_t pw_input = 3 + 2 * nb;  // pw's index among the op's inputs
  const auto stack = detail::stack_channels(mask, active);
  const std::int64_t cs = std::int64_t(stack.size());
  const std::int64_t plane = g0.n * g0.h * g0.w;  // one channel of x
  const std::int64_t kk = g0.kh * g0.kw;
  const std::int64_t cin_w = w.shape()[1];  // C (dense) or 1 (depthwise)
  const auto ex = tp.exec();

  // X~ (Cs, N, H, W) is never stored whole: its unselected channels are x's own planes, its
  // quantized channels (the last Cs - |U|) live in q, the tensor backward keeps.
  const std::int64_t nu = std::int64_t(mask.unselected.size());
  tensor<T> q(jaq::shape{cs - nu, g0.n, g0.h, g0.w});
  {
    const T* xv = x.value().data();
    parallel_for(ex, nu, cs, [&](std::int64_t j) {
      const auto& sc = stack[std::size_t(j)];
      const T* src = xv + sc.source * plane;
      T* dst = q.data() + (j - nu) * plane;
      const T s = s_a[sc.candidate].value()[0];
      quant::with_grid(spec.bits[std::size_t(sc.candidate)], spec.act_signed, spec.name, [&](auto grid) {
        using G = decltype(grid);
        quant::detail::lsq_code_row<G::q_n, G::q_p>(src, s, s, plane, dst);
      });
    });
  }
  // w_hat_b for the weight widths that run, and W~
  auto weight_hats = [spec, co, wactive](const T* wv, std::int64_t nw, const std::vector<const T*>& sw) {
    std::vector<std::vector<T>> hats(spec.bits.size());
    for (int b : wactive) {
      auto& h = hats[std::size_t(b)];
      h.resize(std::size_t(nw));
      const std::int64_t inner = nw / co;
      quant::with_grid(spec.bits[std::size_t(b)], true, spec.name, [&](auto grid) {
        using G = decltype(grid);
        for (std::int64_t o = 0; o < co; ++o) {
          const T so = sw[std::size_t(b)][o];
          quant::detail::lsq_code_row<G::q_n, G::q_p>(wv + o * inner, so, so, inner, h.data() + o * inner);
        }
      });
    }
    return hats;
  };
  // separate widths: P = sum_a p_a, W_mix = sum_i pw_i w_hat_i
  auto psum = [active](const T* pv) {
    T t = 0;
    for (int a : active) t += pv[a];
    return t;
  };
  auto weight_mix = [wactive](const std::vector<std::vector<T>>& hats, const T* pwv, std::int64_t nw) {
    std::vector<T> m(static_cast<std::size_t>(nw), T(0));
    for (int i : wactive)
      for (std::int64_t k = 0; k < nw; ++k) m[std::size_t(k)] += pwv[i] * hats[std::size_t(i)][std::size_t(k)];
    return m;
  };
  // Every element of W~ in storage order (dense (Co, Cs, kh, kw); depthwise (Cs, 1, kh, kw)):
  // f(its stacked channel, its index in w and the w_hats, its index in W~). Forward builds W~
  // and backward reads W~'s gradient through this one traversal.
  auto for_each_wstack = [stack, co, cs, kk, cin_w, depthwise](auto&& f) {
    for (std::int64_t j = 0; j < cs; ++j) {
      const auto& sc = stack[std::size_t(j)];
      for (std::int64_t o = 0; o < (depthwise ? 1 : co); ++o) {
        const std::int64_t src = depthwise ? sc.source * kk : (o * cin_w + sc.source) * kk;
        const std::int64_t dst = depthwise ? j * kk : (o * cs + j) * kk;
        for (std::int64_t t = 0; t < kk; ++t) f(sc, std::size_t(src + t), std::size_t(dst + t));
      }
    }
  };
  auto build_wstack = [for_each_wstack, active, co, cs, kk, depthwise, separate, psum](const std::vector<std::vector<T>>& hats, const T* pv,
                                                                                       const std::vector<T>& wmix) {
    std::vector<T> ws(static_cast<std::size_t>(depthwise ? cs * kk : co * cs * kk));
    const T ps = separate ? psum(pv) : T(0);
    for_each_wstack([&](const detail::stacked_channel& sc, std::size_t src, std::size_t dst) {
      T v = 0;
      if (separate)
        v = (sc.candidate < 0 ? ps : pv[sc.candidate]) * wmix[src];
      else if (sc.candidate < 0)
        for (int b : active) v += pv[b] * hats[std::size_t(b)][src];
      else
        v = pv[sc.candidate] * hats[std::size_t(sc.candidate)][src];
      ws[dst] = v;
    });
    return ws;
  };
  std::vector<const T*> swp(static_cast<std::size_t>(nb));
  for (std::int64_t b = 0; b < nb; ++b) swp[std::size_t(b)] = s_w[std::size_t(b)].value().data();
  const std::int64_t nw = w.shape().numel();
  const auto hats = weight_hats(w.value().data(), nw, swp);
  const auto wstack = build_wstack(hats, p.value().data(), separate ? weight_mix(hats, pw->value().data(), nw) : std::vector<T>{});

  jaq::detail::conv_geometry gs = g0;
  gs.c = cs;
  // channel planes of X~: x for the unselected channels, q for the quantized ones
  auto stacked_planes = [stack, nu, plane](const T* xv, const T* qv) {
    std::vector<const T*> pl(stack.size());
    for (std::size_t j = 0; j < stack.size(); ++j)
      pl[j] = std::int64_t(j) < nu ? xv + stack[j].source * plane : qv + (std::int64_t(j) - nu) * plane;
    return pl;
  };
  const auto xplanes = stacked_planes(x.value().data(), q.data());
  tensor<T> y(jaq::shape{co, g0.n, g0.ho, g0.wo});
  const std::int64_t oplane = g0.cols();
  if (!depthwise) {
    jaq::detail::conv_forward(ex, gs, co, std::int64_t(1), xplanes.data(), wstack.data(), y.data());
  } else {
    std::unique_ptr<T[]> ys(new T[std::size_t(cs * oplane)]);  // every element written by the conv
    jaq::detail::conv_forward(ex, gs, cs, cs, xplanes.data(), wstack.data(), ys.get());
    // each source channel (in parallel): its first stacked channel copied, the others added in
    // ascending j (the same sums as adding them all into zeros, without filling y first)
    const auto by_source = detail::stacked_by_source(stack, co);
    parallel_for(ex, 0, co, [&](std::int64_t c2) {
      T* dst = y.data() + c2 * oplane;
      const auto& js = by_source[std::size_t(c2)];
      if (js.empty()) {
        std::fill(dst, dst + oplane, T(0));
        return;
      }
      std::copy(ys.get() + js[0] * oplane, ys.get() + (js[0] + 1) * oplane, dst);
      for (std::size_t k = 1; k < js.size(); ++k) jaq::detail::add_row(ys.get() + js[k] * oplane, dst, oplane);
    });
  }

  std::vector<var<T>> inputs{x, w, p};
  for (auto& v : s_a) inputs.push_back(v);
  for (auto& v : s_w) inputs.push_back(v);
  if (separate) inputs.push_back(*pw);
  std::vector<tensor<T>> saved;
  bool needs = false;
  for (auto& v : inputs) needs = needs || v.requires_grad();
  // Save only the quantized channels: the unselected ones are read back from x itself (the
  // input the tape already holds), so they are stored once, in full precision.
  if (needs && tp.grad_enabled()) saved.push_back(std::move(q));

  // gradient scales: activation N per example over the selected slice (what the quantizer sees)
  const std::int64_t per_example = std::int64_t(mask.selected.size()) * g0.h * g0.w;
  const std::int64_t act_count = spec.count == quant::lsq_count::per_example ? per_example : per_example * g0.n;
  std::vector<double> ga(static_cast<std::size_t>(nb)), gw(static_cast<std::size_t>(nb));
  for (std::int64_t b = 0; b < nb; ++b) {
    const auto ra = quant::qrange::of(spec.bits[std::size_t(b)], spec.act_signed, spec.name);
    const auto rw = quant::qrange::of(spec.bits[std::size_t(b)], true, spec.name);
    ga[std::size_t(b)] = quant::lsq_grad_scale(std::max<std::int64_t>(act_count, 1), ra.q_p);
    gw[std::size_t(b)] = quant::lsq_grad_scale(nw / co, rw.q_p);
  }

  return tp.record(
      "mixed_conv2d", std::move(y), inputs,
      [=](backward_context<T>& ctx) {
        const auto ex = ctx.exec();
        const T* gy = ctx.grad_output().data();
        const T* xv = ctx.input(0).data();
        const T* wv = ctx.input(1).data();
        const T* pv = ctx.input(2).data();
        std::vector<const T*> swp2(static_cast<std::size_t>(nb));
        for (std::int64_t b = 0; b < nb; ++b) swp2[std::size_t(b)] = ctx.input(3 + nb + b).data();
        const auto hats2 = weight_hats(wv, nw, swp2);
        const T* pwv = separate ? ctx.input(pw_input).data() : nullptr;
        const auto wmix2 = separate ? weight_mix(hats2, pwv, nw) : std::vector<T>{};
        const auto ws2 = build_wstack(hats2, pv, wmix2);
        // X~ again: unselected channels from the input, quantized ones from the saved tensor
        const auto xplanes2 = stacked_planes(xv, ctx.saved(0).data());
        // gradient w.r.t. the stacked output channels
        std::unique_ptr<T[]> gys;  // every element written below
        const T* gstack = gy;
        if (depthwise) {
          gys.reset(new T[std::size_t(cs * oplane)]);
          parallel_for(ex, 0, cs, [&](std::int64_t j) {
            const std::int64_t src = stack[std::size_t(j)].source;
            std::copy(gy + src * oplane, gy + (src + 1) * oplane, gys.get() + j * oplane);
          });
          gstack = gys.get();
        }
        const std::int64_t co_s = depthwise ? cs : co, groups_s = depthwise ? cs : 1;
        // W~ gradient -> p, w_hat_b -> w, s_w
        bool need_w = ctx.needs_grad(1) || ctx.needs_grad(2) || (separate && ctx.needs_grad(pw_input));
        for (std::int64_t b = 0; b < nb; ++b) need_w = need_w || ctx.needs_grad(3 + nb + b);
        bool need_x = ctx.needs_grad(0);
        for (std::int64_t b = 0; b < nb; ++b) need_x = need_x || ctx.needs_grad(3 + b);
        // both gradients of the stacked conv in one engine pass (written, so left uninitialised)
        std::unique_ptr<T[]> gws(need_w ? new T[ws2.size()] : nullptr);
        std::unique_ptr<T[]> gxs(need_x ? new T[std::size_t(cs * plane)] : nullptr);
        jaq::detail::conv_backward<T>(ex, gs, co_s, groups_s, xplanes2.data(), ws2.data(), gstack, gws.get(), true, gxs.get(), true);
        if (need_w) {
          std::vector<std::vector<T>> ghat(static_cast<std::size_t>(nb));
          for (int b : wactive) ghat[std::size_t(b)].assign(std::size_t(nw), T(0));
          std::vector<double> gp(static_cast<std::size_t>(nb), 0.0);
          if (separate) {  // W~ -> W_mix (and p), then W_mix -> w_hat_i (and pw)
            std::vector<T> dmix(static_cast<std::size_t>(nw), T(0));
            const T ps = psum(pv);
            double gu = 0;  // <g, W_mix> over the unselected block: every active p_a's through P
            for_each_wstack([&](const detail::stacked_channel& sc, std::size_t src, std::size_t dst) {
              const T gv = gws[dst];
              if (sc.candidate < 0) {
                dmix[src] += ps * gv;
                gu += double(gv) * double(wmix2[src]);
              } else {
                dmix[src] += pv[sc.candidate] * gv;
                gp[std::size_t(sc.candidate)] += double(gv) * double(wmix2[src]);
              }
            });
            for (int a : active) gp[std::size_t(a)] += gu;
            std::vector<double> gpw(static_cast<std::size_t>(nb), 0.0);
            for (int i : wactive) {
              auto& gh = ghat[std::size_t(i)];
              const auto& h = hats2[std::size_t(i)];
              for (std::int64_t k = 0; k < nw; ++k) {
                gh[std::size_t(k)] = pwv[i] * dmix[std::size_t(k)];
                gpw[std::size_t(i)] += double(dmix[std::size_t(k)]) * double(h[std::size_t(k)]);
              }
            }
            if (ctx.needs_grad(pw_input)) {
              auto& g = ctx.grad_input(pw_input);
              for (int i : wactive) g[i] += T(gpw[std::size_t(i)]);
            }
          } else {  // W~ -> w_hat_b (and p)
            for_each_wstack([&](const detail::stacked_channel& sc, std::size_t src, std::size_t dst) {
              const T gv = gws[dst];
              auto add = [&](int b) {
                ghat[std::size_t(b)][src] += pv[b] * gv;
                gp[std::size_t(b)] += double(gv) * double(hats2[std::size_t(b)][src]);
              };
              if (sc.candidate < 0)
                for (int b : active) add(b);
              else
                add(sc.candidate);
            });
          }
          if (ctx.needs_grad(2)) {
            auto& g = ctx.grad_input(2);
            for (int b : active) g[b] += T(gp[std::size_t(b)]);
          }
          T* gwp = ctx.needs_grad(1) ? ctx.grad_input(1).data() : nullptr;
          for (int b : wactive) {
            const auto rw = quant::qrange::of(spec.bits[std::size_t(b)], true, spec.name);
            T* gsw = ctx.needs_grad(3 + nb + b) ? ctx.grad_input(3 + nb + b).data() : nullptr;
            quant::detail::lsq_chain(ex, rw, spec.name, wv, swp2[std::size_t(b)], nw, nw / co, ghat[std::size_t(b)].data(), gwp, false, gsw,
                                     gw[std::size_t(b)]);
          }
        }
        if (need_x) {
          // gx is written, not zero-filled and added to, when this op is the first to give it a
          // gradient (ow): each source channel's first stacked channel writes, the others add
          bool ow = false;
          T* gx = ctx.needs_grad(0) ? ctx.grad_input_for_write(0, ow).data() : nullptr;
          // Each stacked channel adds into its source channel. Source channels run in parallel,
          // each taking its stacked channels in ascending j (the serial order per element); the
          // step-gradient term of each j is kept apart and the terms added in j order below.
          const auto by_source = detail::stacked_by_source(stack, c);
          std::vector<double> term(static_cast<std::size_t>(cs), 0.0);
          parallel_for(ex, 0, c, [&](std::int64_t src) {
            bool write = ow;  // the first contribution to this source channel overwrites
            for (const std::int64_t j : by_source[std::size_t(src)]) {
              const auto& sc = stack[std::size_t(j)];
              const T* gj = gxs.get() + j * plane;
              if (sc.candidate < 0) {
                if (gx && write)
                  std::copy(gj, gj + plane, gx + src * plane);
                else if (gx)
                  jaq::detail::add_row(gj, gx + src * plane, plane);  // gx += gj, vectorised
                write = false;
                continue;
              }
              const int b = sc.candidate;
              const T s = ctx.input(3 + b)[0];
              quant::with_grid(spec.bits[std::size_t(b)], spec.act_signed, spec.name, [&](auto grid) {
                using G = decltype(grid);
                term[std::size_t(j)] =
                    quant::detail::lsq_ste_step_row<G::q_n, G::q_p>(xv + src * plane, s, gj, plane, gx ? gx + src * plane : nullptr, write);
              });
              write = false;
            }
            if (gx && write) std::fill(gx + src * plane, gx + (src + 1) * plane, T(0));  // no stacked channel reads it
          });
          std::vector<double> gsa(static_cast<std::size_t>(nb), 0.0);
          for (std::int64_t j = 0; j < cs; ++j)
            if (stack[std::size_t(j)].candidate >= 0) gsa[std::size_t(stack[std::size_t(j)].candidate)] += term[std::size_t(j)];
          for (int b : active)
            if (ctx.needs_grad(3 + b)) ctx.grad_input(3 + b)[0] += T(gsa[std::size_t(b)] * ga[std::size_t(b)]);
        }
      },
      std::move(saved));
}

/// How weighted_mix weighs its branches.
struct mix_options {
  /// ys[j] is weighted by p[index[j]] (empty: by p[j], and p has one entry per branch).
  std::vector<int> index = {};
  /// Straight-through weights (empty: p itself). With them the forward value and the branches'
  /// gradients use these constants, while p gets d loss / d p_j = <g, y_j>: Auto-NBA's
  /// (h - p).detach() + p, e.g. {1, 0} for a hard top-2 pick whose second branch only steers p.
  std::vector<double> forward_weights = {};
};

/// sum_j c_j y_j with c_j = p[index[j]] (or the straight-through weights); p's gradient is
/// <g, y_j>. Saves nothing: backward reads the branch outputs, which the tape holds anyway.
template <scalar T>
var<T> weighted_mix(tape<T>& tp, const std::vector<var<T>>& ys, var<T> p, const mix_options& o = {}) {
  const std::size_t nb = ys.size();
  std::vector<int> index = o.index;
  if (index.empty())
    for (std::size_t j = 0; j < nb; ++j) index.push_back(int(j));
  if (nb == 0 || index.size() != nb || (!o.forward_weights.empty() && o.forward_weights.size() != nb))
    throw model_error("weighted_mix: " + std::to_string(nb) + " branches, " + std::to_string(index.size()) + " indices, " +
                      std::to_string(o.forward_weights.size()) + " forward weights");
  for (int i : index)
    if (i < 0 || i >= p.shape().numel()) throw model_error("weighted_mix: index " + std::to_string(i) + " outside p " + p.shape().str());
  const std::int64_t n = ys[0].shape().numel();
  for (const auto& y : ys)
    if (!(y.shape() == ys[0].shape())) throw model_error("weighted_mix: branch shapes " + ys[0].shape().str() + " and " + y.shape().str());
  std::vector<T> c(nb);
  for (std::size_t j = 0; j < nb; ++j) c[j] = o.forward_weights.empty() ? p.value()[index[j]] : T(o.forward_weights[j]);
  tensor<T> y = tensor<T>::zeros(ys[0].shape());
  for (std::size_t j = 0; j < nb; ++j) {
    if (c[j] == T(0)) continue;
    const T* src = ys[j].value().data();
    for (std::int64_t i = 0; i < n; ++i) y[i] += c[j] * src[i];
  }
  std::vector<var<T>> inputs(ys);
  inputs.push_back(p);
  const bool straight = !o.forward_weights.empty();
  return tp.record("weighted_mix", std::move(y), inputs, [nb, n, index, c, straight](backward_context<T>& ctx) {
    const T* gy = ctx.grad_output().data();
    const T* pv = ctx.input(nb).data();
    for (std::size_t j = 0; j < nb; ++j) {
      const T cj = straight ? c[j] : pv[index[j]];
      if (ctx.needs_grad(j) && cj != T(0)) {
        T* g = ctx.grad_input(j).data();
        for (std::int64_t i = 0; i < n; ++i) g[i] += cj * gy[i];
      }
      if (ctx.needs_grad(nb)) {
        const T* yj = ctx.input(j).data();
        double d = 0;
        for (std::int64_t i = 0; i < n; ++i) d += double(gy[i]) * double(yj[i]);
        ctx.grad_input(nb)[index[j]] += T(d);
      }
    }
  });
}

/// pq[a * m + i] = p[a] q[i] (p (n), q (m)), with its gradient to p and q: the weights of the
/// (activation, weight) width pairs.
template <scalar T>
var<T> outer_weights(tape<T>& tp, var<T> p, var<T> q) {
  const std::int64_t n = p.shape().numel(), m = q.shape().numel();
  tensor<T> pq(jaq::shape{n * m});
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t i = 0; i < m; ++i) pq[a * m + i] = p.value()[a] * q.value()[i];
  return tp.record("outer_weights", std::move(pq), {p, q}, [n, m](backward_context<T>& ctx) {
    const T* g = ctx.grad_output().data();
    const T* pv = ctx.input(0).data();
    const T* qv = ctx.input(1).data();
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t i = 0; i < m; ++i) {
        if (ctx.needs_grad(0)) ctx.grad_input(0)[a] += g[a * m + i] * qv[i];
        if (ctx.needs_grad(1)) ctx.grad_input(1)[i] += g[a * m + i] * pv[a];
      }
  });
}

/// The unfused all-channel supernet: one qconv2d per candidate with p_b != 0, then weighted_mix.
/// With `pw` (separate weight widths) one qconv2d per (activation a, weight i) pair with
/// p_a pw_i != 0, weighted p_a pw_i.
template <scalar T>
var<T> naive_mixed_conv2d(tape<T>& tp, var<T> x, var<T> w, var<T> p, const std::vector<var<T>>& s_a, const std::vector<var<T>>& s_w,
                          const mixed_conv_spec& spec, std::optional<var<T>> pw = std::nullopt) {
  spec.validate();
  const std::size_t nb = spec.bits.size();
  if (std::size_t(p.shape().numel()) != nb || s_a.size() != nb || s_w.size() != nb || (pw && std::size_t(pw->shape().numel()) != nb))
    throw model_error(spec.name + ": need one mixture weight and one step pair per candidate (" + std::to_string(nb) + ")");
  auto branch = [&](std::size_t a, std::size_t i) {
    return quant::qconv2d(
        tp, x, w, s_a[a], s_w[i],
        {.conv = spec.conv,
         .act = {.bits = spec.bits[a], .is_signed = spec.act_signed, .count = spec.count, .batch_axis = 1, .name = spec.name + ".input"},
         .weight = {.bits = spec.bits[i], .is_signed = true, .per_channel = true, .name = spec.name + ".weight"}});
  };
  std::vector<var<T>> ys;
  std::vector<int> idx;
  for (std::size_t a = 0; a < nb; ++a) {
    if (p.value()[std::int64_t(a)] == T(0)) continue;
    if (!pw) {
      ys.push_back(branch(a, a));
      idx.push_back(int(a));
      continue;
    }
    for (std::size_t i = 0; i < nb; ++i) {
      if (pw->value()[std::int64_t(i)] == T(0)) continue;
      ys.push_back(branch(a, i));
      idx.push_back(int(a * nb + i));
    }
  }
  return weighted_mix(tp, ys, pw ? outer_weights(tp, p, *pw) : p, {.index = idx});
}

}  // namespace jaq::nas
