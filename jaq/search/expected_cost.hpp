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
/// Without betas (an operator-only cost such as a FLOPs term) c is (B, O, 1) and Q = 1.
template <scalar T>
var<T> expected_cost(tape<T>& tp, const std::vector<var<T>>& alphas, const std::vector<var<T>>& betas,
                     const xt::xtensor<double, 3>& c) {
  const std::size_t nb = c.shape()[0], no = c.shape()[1], nw = c.shape()[2];
  const bool widths = !betas.empty();
  if (!widths && nw != 1)
    throw model_error("expected_cost: no betas, so the table must have one width column, got " + std::to_string(nw));
  if (alphas.size() != nb || (widths && betas.size() != nb * no))
    throw model_error("expected_cost: table " + std::to_string(nb) + "x" + std::to_string(no) + "x" + std::to_string(nw) + ", got " +
                      std::to_string(alphas.size()) + " alphas and " + std::to_string(betas.size()) + " betas");
  for (const auto& a : alphas)
    if (std::size_t(a.shape().numel()) != no) throw model_error("expected_cost: alpha " + a.shape().str() + ", expected (" + std::to_string(no) + ")");
  for (const auto& b : betas)
    if (std::size_t(b.shape().numel()) != nw) throw model_error("expected_cost: beta " + b.shape().str() + ", expected (" + std::to_string(nw) + ")");
  // P (B, O), Q (B, O, W), E (B, O), C (B) in double
  std::vector<double> P(nb * no), Q(nb * no * nw), E(nb * no), C(nb, 0.0);
  double total = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    std::vector<double> z(no);
    for (std::size_t o = 0; o < no; ++o) z[o] = double(alphas[b].value()[std::int64_t(o)]);
    const auto p = detail::softmax(z.data(), no);
    for (std::size_t o = 0; o < no; ++o) {
      std::vector<double> y(nw);
      for (std::size_t w = 0; w < nw && widths; ++w) y[w] = double(betas[b * no + o].value()[std::int64_t(w)]);
      const auto q = widths ? detail::softmax(y.data(), nw) : std::vector<double>{1.0};
      double e = 0;
      for (std::size_t w = 0; w < nw; ++w) {
        Q[(b * no + o) * nw + w] = q[w];
        e += q[w] * c(b, o, w);
      }
      P[b * no + o] = p[o];
      E[b * no + o] = e;
      C[b] += p[o] * e;
    }
    total += C[b];
  }
  tensor<T> out(jaq::shape{1});
  out[0] = T(total);
  std::vector<var<T>> inputs(alphas);
  inputs.insert(inputs.end(), betas.begin(), betas.end());
  return tp.record("expected_cost", std::move(out), inputs, [=](backward_context<T>& ctx) {
    const double g = double(ctx.grad_output()[0]);
    for (std::size_t b = 0; b < nb; ++b) {
      if (ctx.needs_grad(b)) {
        auto& ga = ctx.grad_input(b);
        for (std::size_t o = 0; o < no; ++o) ga[std::int64_t(o)] += T(g * P[b * no + o] * (E[b * no + o] - C[b]));
      }
      for (std::size_t o = 0; o < no && widths; ++o) {
        const std::size_t k = nb + b * no + o;
        if (!ctx.needs_grad(k)) continue;
        auto& gb = ctx.grad_input(k);
        for (std::size_t w = 0; w < nw; ++w)
          gb[std::int64_t(w)] += T(g * P[b * no + o] * Q[(b * no + o) * nw + w] * (c(b, o, w) - E[b * no + o]));
      }
    }
  });
}

}  // namespace jaq::search
