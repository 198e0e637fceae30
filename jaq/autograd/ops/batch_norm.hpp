// jaq/autograd/ops/batch_norm.hpp: batch normalisation over every axis but the channel axis,
// with running statistics for evaluation.
//
//   jaq::batch_norm_state<float> st = jaq::batch_norm_state<float>::fresh(16);
//   auto y = jaq::batch_norm(tp, x, tp.param(gamma), tp.param(beta), st, {.training = true});
//   // x (C, N, H, W) (or any (C, ...)): y = gamma * (x - mean_c) / sqrt(var_c + eps) + beta
//
// `.activation = fused_activation::relu` (or relu6) clamps the output in the same op, exactly
// as relu(batch_norm(x)) would.
// Training normalises with the batch's mean and biased variance and updates the running
// statistics: running = (1 - momentum) * running + momentum * batch (the unbiased variance, as
// PyTorch does). Evaluation normalises with the running statistics.
#pragma once

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/detail/reduce.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq {

/// An activation applied to the BatchNorm's output inside the same op (one pass less over the
/// activations each way, and one tensor less held for backward).
enum class fused_activation { none, relu, relu6 };

struct batch_norm_options {
  bool training = true;
  double momentum = 0.1;
  double eps = 1e-5;
  fused_activation activation = fused_activation::none;

  friend std::ostream& operator<<(std::ostream& os, const batch_norm_options& o) {
    const char* act[] = {"", ", relu", ", relu6"};
    return os << "{" << (o.training ? "train" : "eval") << ", momentum " << o.momentum << ", eps " << o.eps
              << act[static_cast<int>(o.activation)] << '}';
  }
};

/// Running mean and variance of one BatchNorm layer (not trained by gradient; saved in checkpoints).
template <scalar T>
struct batch_norm_state {
  tensor<T> running_mean;  // (C)
  tensor<T> running_var;   // (C)

  static batch_norm_state fresh(std::int64_t channels) {
    return {tensor<T>::zeros(jaq::shape{channels}), tensor<T>::full(jaq::shape{channels}, T(1))};
  }
};

template <scalar T>
var<T> batch_norm(tape<T>& tp, var<T> x, var<T> gamma, var<T> beta, batch_norm_state<T>& state, batch_norm_options o = {}) {
  const jaq::shape& xs = x.shape();
  if (xs.rank < 2) throw model_error("batch_norm: input " + xs.str() + " must be (C, ...) with rank >= 2");
  const std::int64_t c = xs[0], m = xs.numel() / c;
  auto chk = [&](const jaq::shape& s, const char* what) {
    if (s.rank != 1 || s[0] != c)
      throw model_error(std::string("batch_norm: ") + what + " " + s.str() + " does not match " + std::to_string(c) +
                        " channels of input " + xs.str());
  };
  chk(gamma.shape(), "gamma");
  chk(beta.shape(), "beta");
  chk(state.running_mean.shape(), "running_mean");
  chk(state.running_var.shape(), "running_var");
  if (o.training && m < 2) throw model_error("batch_norm: training needs more than one value per channel, input " + xs.str());

  const bool clamp = o.activation != fused_activation::none;
  const T hi = o.activation == fused_activation::relu6 ? T(6) : std::numeric_limits<T>::infinity();
  const T* xv = x.value().data();
  const T* gv = gamma.value().data();
  const T* bv = beta.value().data();
  tensor<T> y(xs);
  tensor<T> stats(jaq::shape{2, c});  // mean, 1/sqrt(var + eps) per channel
  parallel_for(tp.exec(), 0, c, [&](std::int64_t ch) {
    const T* xc = xv + ch * m;
    T mean, var;
    if (o.training) {
      double s1, s2;
      detail::shifted_moments(xc, m, xc[0], s1, s2);
      const double d = s1 / static_cast<double>(m);
      const double v = std::max(0.0, s2 / static_cast<double>(m) - d * d);
      mean = static_cast<T>(static_cast<double>(xc[0]) + d);
      var = static_cast<T>(v);
      state.running_mean[ch] = static_cast<T>((1 - o.momentum) * state.running_mean[ch] + o.momentum * mean);
      state.running_var[ch] =
          static_cast<T>((1 - o.momentum) * state.running_var[ch] + o.momentum * v * static_cast<double>(m) / static_cast<double>(m - 1));
    } else {
      mean = state.running_mean[ch];
      var = state.running_var[ch];
    }
    const T inv = static_cast<T>(1.0 / std::sqrt(static_cast<double>(var) + o.eps));
    stats[ch] = mean;
    stats[c + ch] = inv;
    const T a = gv[ch] * inv;
    detail::affine(xc, y.data() + ch * m, m, a, bv[ch] - mean * a, clamp, hi);
  });

  std::vector<tensor<T>> saved;
  if (tp.needs_backward({x, gamma, beta})) saved.push_back(std::move(stats));
  const bool training = o.training;
  return tp.record(
      "batch_norm", std::move(y), {x, gamma, beta},
      [c, m, training, clamp, hi](backward_context<T>& ctx) {
        const T* x = ctx.input(0).data();
        const T* gam = ctx.input(1).data();
        const T* gy = ctx.grad_output().data();
        const T* yv = clamp ? ctx.output().data() : nullptr;  // the clamp's mask comes from the output
        const tensor<T>& st = ctx.saved(0);
        tensor<T>* ggam = ctx.needs_grad(1) ? &ctx.grad_input(1) : nullptr;
        tensor<T>* gbet = ctx.needs_grad(2) ? &ctx.grad_input(2) : nullptr;
        bool ow = false;
        tensor<T>* gx = ctx.needs_grad(0) ? &ctx.grad_input_for_write(0, ow) : nullptr;
        parallel_for(ctx.exec(), 0, c, [&](std::int64_t ch) {
          const T mean = st[ch], inv = st[c + ch];
          const T* xc = x + ch * m;
          const T* gc = gy + ch * m;
          const T* yc = yv ? yv + ch * m : nullptr;
          double sg, sgx;
          detail::grad_moments(gc, xc, m, mean, sg, sgx, yc, hi);
          const double sgxhat = sgx * static_cast<double>(inv);  // sum(gy * xhat)
          if (ggam) (*ggam)[ch] += static_cast<T>(sgxhat);
          if (gbet) (*gbet)[ch] += static_cast<T>(sg);
          if (!gx) return;
          T* out = gx->data() + ch * m;
          const T a = gam[ch] * inv;
          if (!training) {  // gx = gy * gamma * inv
            for (std::int64_t i = 0; i < m; ++i) {
              const T v = detail::pass_clamp(gc[i], yc, i, hi) * a;
              out[i] = ow ? v : out[i] + v;
            }
            return;
          }
          // gx = a * (gy - mean(gy) - xhat * mean(gy * xhat)),  xhat = (x - mean) * inv
          const double md = static_cast<double>(m);
          const T k1 = static_cast<T>(sg / md);
          const T k2 = static_cast<T>(sgxhat / md) * inv;  // per unit of (x - mean)
          detail::bn_input_grad(gc, xc, yc, hi, m, a, k1, k2, mean, out, ow);
        });
      },
      std::move(saved));
}

}  // namespace jaq
