// jaq/search/expected_cost.hpp: the differentiable hardware term of the joint search's loss.
//
//   cost(alpha, beta) = sum_b sum_o P_bo * sum_w Q_bow * c[b, o, w]
//   P_b = softmax(alpha_b) (operators),  Q_bo = softmax(beta_bo) (widths),
//   c = lambda_L * latency / latency_ref + lambda_E * energy / energy_ref   (a cost_table combined)
// Gradients:  d cost / d alpha_bk = P_bk (E_bk - C_b),  E_bo = sum_w Q_bow c_bow,  C_b = sum_o P_bo E_bo
//             d cost / d beta_bow = P_bo Q_bow (c_bow - E_bo).
// The probabilities are the plain softmax, not the step's Gumbel sample: the expectation is
// exact and deterministic (no sampling noise in the hardware gradient), and every operator and
// width gets a gradient on every architecture step, not only the two that ran.
//
//   auto c = jaq::search::combined_cost(table, {.lambda_latency = 1, .lambda_energy = 1}, ref);
//   var<float> hw = jaq::search::expected_cost(tp, alphas, betas, c);   // alphas (B) x (O), betas (B*O) x (W)
//   var<float> f = jaq::search::expected_cost(tp, alphas, {}, m);       // no betas: m (B, O, 1), Q = 1
//   var<float> s = jaq::search::expected_cost(tp, alphas, betas, c2, betas_act);  // c2 (B, O, W * A)
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/error.hpp"
#include "jaq/nas/gumbel_softmax.hpp"
#include "jaq/search/cost_table.hpp"

namespace jaq::search {

/// What the hardware term weighs, and the figures it is normalised by.
struct cost_weights {
  double lambda_latency = 1.0;
  double lambda_energy = 1.0;
  double lambda_area = 0.0;
};
struct cost_reference {
  double latency_s = 1.0;
  double energy_nJ = 1.0;
  double area_mm2 = 1.0;
};

/// c[b, o, w] = lambda_L latency / latency_ref + lambda_E energy / energy_ref.
inline xt::xtensor<double, 3> combined_cost(const cost_table& t, const cost_weights& w, const cost_reference& r) {
  return (w.lambda_latency / r.latency_s) * t.latency_s + (w.lambda_energy / r.energy_nJ) * t.energy_nJ;
}

namespace detail {
/// softmax of z[0..n): nas::softmax_over every index (the library's one double softmax).
inline std::vector<double> softmax(const double* z, std::size_t n) {
  std::vector<int> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = int(i);
  return nas::softmax_over(std::span<const double>(z, n), all);
}
}  // namespace detail

/// The expected cost (a scalar) as a tape op; alphas[b] (O), betas[b * O + o] (W), c (B, O, W).
/// Without betas (an operator-only cost such as a FLOPs term) c is (B, O, 1) and Q = 1. With
/// betas_act[b * O + o] (A) (separate weight and activation widths) c is (B, O, W * A), entry
/// i * A + j for weights at width i and activations at j, weighed Qw_i Qa_j:
///   d cost / d beta_act_boj = P_bo Qa_j (sum_i Qw_i c_ij - E_bo), and the same for beta.
template <scalar T>
var<T> expected_cost(tape<T>& tp, const std::vector<var<T>>& alphas, const std::vector<var<T>>& betas, const xt::xtensor<double, 3>& c,
                     const std::vector<var<T>>& betas_act = {}) {
  const std::size_t nb = c.shape()[0], no = c.shape()[1], ncol = c.shape()[2];
  const bool widths = !betas.empty(), acts = !betas_act.empty();
  auto fail = [&](const std::string& why) {
    throw model_error("expected_cost: table " + std::to_string(nb) + "x" + std::to_string(no) + "x" + std::to_string(ncol) + ", " +
                      std::to_string(alphas.size()) + " alphas, " + std::to_string(betas.size()) + " betas, " +
                      std::to_string(betas_act.size()) + " activation betas: " + why);
  };
  if (acts && !widths) fail("activation betas need betas");
  if (alphas.size() != nb) fail("one alpha per block");
  if (widths && betas.size() != nb * no) fail("one beta per (block, operator)");
  if (acts && betas_act.size() != nb * no) fail("one activation beta per (block, operator)");
  const std::size_t nw = widths ? std::size_t(betas[0].shape().numel()) : 1;
  const std::size_t na = acts ? std::size_t(betas_act[0].shape().numel()) : 1;
  if (ncol != nw * na) fail(widths ? "its last axis must hold every width (pair)" : "no betas, so one width column");
  for (const auto& a : alphas)
    if (std::size_t(a.shape().numel()) != no) fail("alpha " + a.shape().str() + ", expected (" + std::to_string(no) + ")");
  for (const auto& b : betas)
    if (std::size_t(b.shape().numel()) != nw) fail("beta " + b.shape().str() + ", expected (" + std::to_string(nw) + ")");
  for (const auto& b : betas_act)
    if (std::size_t(b.shape().numel()) != na) fail("activation beta " + b.shape().str() + ", expected (" + std::to_string(na) + ")");
  // in double: P (B, O); Qw (B, O, W), Qa (B, O, A); the marginals Mw_i = sum_j Qa_j c_ij and
  // Ma_j = sum_i Qw_i c_ij; E (B, O); C (B)
  std::vector<double> P(nb * no), Qw(nb * no * nw), Qa(nb * no * na), Mw(nb * no * nw), Ma(nb * no * na), E(nb * no), C(nb, 0.0);
  auto probs = [](const var<T>& logits, std::size_t n) {
    std::vector<double> z(n);
    for (std::size_t i = 0; i < n; ++i) z[i] = double(logits.value()[std::int64_t(i)]);
    return detail::softmax(z.data(), n);
  };
  double total = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    const auto p = probs(alphas[b], no);
    for (std::size_t o = 0; o < no; ++o) {
      const std::size_t bo = b * no + o;
      const auto qw = widths ? probs(betas[bo], nw) : std::vector<double>{1.0};
      const auto qa = acts ? probs(betas_act[bo], na) : std::vector<double>{1.0};
      for (std::size_t j = 0; j < na; ++j) {
        Qa[bo * na + j] = qa[j];
        double m = 0;
        for (std::size_t i = 0; i < nw; ++i) m += qw[i] * c(b, o, i * na + j);
        Ma[bo * na + j] = m;
      }
      double e = 0;
      for (std::size_t i = 0; i < nw; ++i) {
        Qw[bo * nw + i] = qw[i];
        double m = 0;
        for (std::size_t j = 0; j < na; ++j) m += qa[j] * c(b, o, i * na + j);
        Mw[bo * nw + i] = m;
        e += qw[i] * m;
      }
      P[bo] = p[o];
      E[bo] = e;
      C[b] += p[o] * e;
    }
    total += C[b];
  }
  tensor<T> out(jaq::shape{1});
  out[0] = T(total);
  std::vector<var<T>> inputs(alphas);
  inputs.insert(inputs.end(), betas.begin(), betas.end());
  inputs.insert(inputs.end(), betas_act.begin(), betas_act.end());
  return tp.record("expected_cost", std::move(out), inputs, [=](backward_context<T>& ctx) {
    const double g = double(ctx.grad_output()[0]);
    for (std::size_t b = 0; b < nb; ++b) {
      if (ctx.needs_grad(b)) {
        auto& ga = ctx.grad_input(b);
        for (std::size_t o = 0; o < no; ++o) ga[std::int64_t(o)] += T(g * P[b * no + o] * (E[b * no + o] - C[b]));
      }
      for (std::size_t o = 0; o < no; ++o) {
        const std::size_t bo = b * no + o;
        if (widths && ctx.needs_grad(nb + bo)) {
          auto& gb = ctx.grad_input(nb + bo);
          for (std::size_t i = 0; i < nw; ++i) gb[std::int64_t(i)] += T(g * P[bo] * Qw[bo * nw + i] * (Mw[bo * nw + i] - E[bo]));
        }
        if (acts && ctx.needs_grad(nb + nb * no + bo)) {
          auto& gb = ctx.grad_input(nb + nb * no + bo);
          for (std::size_t j = 0; j < na; ++j) gb[std::int64_t(j)] += T(g * P[bo] * Qa[bo * na + j] * (Ma[bo * na + j] - E[bo]));
        }
      }
    }
  });
}

}  // namespace jaq::search
