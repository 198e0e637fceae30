// jaq/nas/gumbel_softmax.hpp: Gumbel-softmax weights over a layer's candidate bit-widths, its
// temperature schedule, and the two sampling modes of heterogeneous sampling (Auto-NBA).
//
//   z_b = (beta_b + g_b) / tau,  g_b ~ Gumbel(0, 1),  w = softmax(z)
//   soft    (weight step): every candidate runs, mixed with w (the gradient reaches all beta).
//   top-2   (architecture step): only the two candidates with the largest z run, mixed with
//           softmax over those two (w_i / (w_i + w_j)); the others cost nothing and get no
//           gradient. Two (not one) so that the logits still get a relative gradient.
// Backward: d w_b / d beta_c = w_b (delta_bc - w_c) / tau over the active candidates.
//
//   jaq::nas::temperature_schedule tau{.initial = 5.0, .decay = 0.9, .minimum = 0.5};
//   auto w = jaq::nas::gumbel_sample_weights(beta, tau.at(epoch), jaq::nas::sampling::top2, gen);
//   auto d_beta = jaq::nas::gumbel_backward(w, tau.at(epoch), d_w);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"

namespace jaq::nas {

/// tau(epoch) = max(minimum, initial * decay^epoch).
struct temperature_schedule {
  double initial = 5.0;
  double decay = 0.9;
  double minimum = 0.5;

  double at(int epoch) const { return std::max(minimum, initial * std::pow(decay, epoch)); }

  /// Throws config_error naming `where` for a non-positive temperature or a decay outside (0, 1].
  void validate(const std::string& where) const {
    if (!(initial > 0)) throw config_error(where, "tau.initial", std::to_string(initial) + " (must be > 0)");
    if (!(minimum > 0)) throw config_error(where, "tau.minimum", std::to_string(minimum) + " (must be > 0)");
    if (!(decay > 0 && decay <= 1)) throw config_error(where, "tau.decay", std::to_string(decay) + " (must be in (0, 1])");
  }

  friend std::ostream& operator<<(std::ostream& os, const temperature_schedule& t) {
    return os << "tau(" << t.initial << " * " << t.decay << "^epoch, min " << t.minimum << ")";
  }
};

enum class sampling {
  soft,  ///< weight step: soft mixture over all candidates
  top2,  ///< architecture step: hard top-2, renormalised over the two
};

/// Mixture weights of one sample: weights[b] is 0 for an inactive candidate.
struct gumbel_weights {
  std::vector<double> weights;  ///< (candidates)
  std::vector<int> active;      ///< indices of the candidates that run, in increasing order

  bool is_active(int b) const { return std::find(active.begin(), active.end(), b) != active.end(); }
};

/// softmax of z over the indices in `idx` (others 0), max-subtracted for stability.
inline std::vector<double> softmax_over(std::span<const double> z, std::span<const int> idx) {
  std::vector<double> w(z.size(), 0.0);
  double m = -INFINITY;
  for (int i : idx) m = std::max(m, z[static_cast<std::size_t>(i)]);
  double sum = 0.0;
  for (int i : idx) sum += (w[static_cast<std::size_t>(i)] = std::exp(z[static_cast<std::size_t>(i)] - m));
  for (int i : idx) w[static_cast<std::size_t>(i)] /= sum;
  return w;
}

/// Weights from logits beta and given Gumbel noise (deterministic; the sampler below draws it).
inline gumbel_weights gumbel_weights_from_noise(std::span<const float> beta, std::span<const double> noise, double tau, sampling mode) {
  JAQ_ASSERT(beta.size() == noise.size() && !beta.empty() && tau > 0);
  const std::size_t n = beta.size();
  std::vector<double> z(n);
  for (std::size_t b = 0; b < n; ++b) z[b] = (double(beta[b]) + noise[b]) / tau;
  gumbel_weights out;
  if (mode == sampling::soft || n <= 2) {
    for (std::size_t b = 0; b < n; ++b) out.active.push_back(int(b));
  } else {
    std::vector<int> order(n);
    for (std::size_t b = 0; b < n; ++b) order[b] = int(b);
    // largest z first; ties to the lower index so a run is reproducible
    std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return z[std::size_t(a)] > z[std::size_t(c)]; });
    out.active = {std::min(order[0], order[1]), std::max(order[0], order[1])};
  }
  out.weights = softmax_over(z, out.active);
  return out;
}

/// Draws Gumbel(0, 1) noise from `gen` and returns the mixture weights.
inline gumbel_weights gumbel_sample_weights(std::span<const float> beta, double tau, sampling mode, rng& gen) {
  std::vector<double> noise(beta.size());
  for (auto& g : noise) g = gen.gumbel();
  return gumbel_weights_from_noise(beta, noise, tau, mode);
}

/// d loss / d beta from d loss / d weights, through the softmax over the active candidates.
inline std::vector<double> gumbel_backward(const gumbel_weights& w, double tau, std::span<const double> grad_weights) {
  JAQ_ASSERT(grad_weights.size() == w.weights.size());
  double dot = 0.0;
  for (int b : w.active) dot += w.weights[std::size_t(b)] * grad_weights[std::size_t(b)];
  std::vector<double> g(w.weights.size(), 0.0);
  for (int b : w.active) g[std::size_t(b)] = w.weights[std::size_t(b)] * (grad_weights[std::size_t(b)] - dot) / tau;
  return g;
}

}  // namespace jaq::nas
