// jaq/hwgen/policy_mlp.hpp: the hardware generation network: a small MLP whose outputs are the
// logits of one categorical distribution per accelerator parameter, with its own gradient.
//
// x (D) -> tanh(W1 x + b1) (H) -> W2 h + b2 (L = sum of the heads' sizes). The output layer
// starts at zero, so the first distribution is uniform over every parameter's values. Trained by
// Adam on gradients given with respect to the logits (REINFORCE in generator.hpp); backward()
// is checked against finite differences in tests/hwgen/policy_mlp_test.cpp.
//
//   jaq::rng gen(1);
//   jaq::hwgen::policy_mlp net({.inputs = 4, .hidden = 32, .heads = {5, 5, 6}}, gen);
//   auto z = net.forward(x);                 // (L) logits
//   net.zero_grad(); net.backward(x, dz); net.adam_step(0.05);
#pragma once

#include <cmath>
#include <cstddef>
#include <numeric>
#include <ostream>
#include <span>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"

namespace jaq::hwgen {

struct policy_spec {
  int inputs = 1;          // D
  int hidden = 32;         // H
  std::vector<int> heads;  // sizes of the categorical heads; L = their sum
  double init_scale = 0.5; // first-layer weights ~ N(0, init_scale^2 / D)
};

class policy_mlp {
 public:
  policy_mlp(policy_spec spec, rng& gen) : spec_(std::move(spec)) {
    if (spec_.inputs <= 0 || spec_.hidden <= 0 || spec_.heads.empty())
      throw config_error("policy_spec", "inputs/hidden/heads", "must be positive and non-empty");
    for (int h : spec_.heads)
      if (h <= 0) throw config_error("policy_spec", "heads", "every head needs >= 1 value");
    D_ = static_cast<std::size_t>(spec_.inputs);
    H_ = static_cast<std::size_t>(spec_.hidden);
    L_ = static_cast<std::size_t>(std::accumulate(spec_.heads.begin(), spec_.heads.end(), 0));
    params_.assign(H_ * D_ + H_ + L_ * H_ + L_, 0.0);
    const double s = spec_.init_scale / std::sqrt(static_cast<double>(D_));
    for (std::size_t i = 0; i < H_ * D_; ++i) params_[i] = s * gen.normal();  // W1; the rest 0
    grad_.assign(params_.size(), 0.0);
    m_.assign(params_.size(), 0.0);
    v_.assign(params_.size(), 0.0);
  }

  std::size_t inputs() const { return D_; }
  std::size_t outputs() const { return L_; }
  const std::vector<int>& heads() const { return spec_.heads; }
  std::vector<double>& parameters() { return params_; }
  const std::vector<double>& gradient() const { return grad_; }

  /// Logits for input x (D): (L).
  std::vector<double> forward(std::span<const double> x) const {
    JAQ_ASSERT(x.size() == D_);
    std::vector<double> h = hidden(x), z(L_);
    const double* W2 = w2();
    const double* b2 = W2 + L_ * H_;
    for (std::size_t l = 0; l < L_; ++l) {
      double acc = b2[l];
      for (std::size_t j = 0; j < H_; ++j) acc += W2[l * H_ + j] * h[j];
      z[l] = acc;
    }
    return z;
  }

  /// Adds d(loss)/d(params) to the gradient, given dz = d(loss)/d(logits) (L) at input x (D).
  void backward(std::span<const double> x, std::span<const double> dz) {
    JAQ_ASSERT(x.size() == D_ && dz.size() == L_);
    const std::vector<double> h = hidden(x);
    const double* W2 = w2();
    double* gW1 = grad_.data();
    double* gb1 = gW1 + H_ * D_;
    double* gW2 = gb1 + H_;
    double* gb2 = gW2 + L_ * H_;
    std::vector<double> gh(H_, 0.0);
    for (std::size_t l = 0; l < L_; ++l) {
      gb2[l] += dz[l];
      for (std::size_t j = 0; j < H_; ++j) {
        gW2[l * H_ + j] += dz[l] * h[j];
        gh[j] += W2[l * H_ + j] * dz[l];
      }
    }
    for (std::size_t j = 0; j < H_; ++j) {
      const double ga = gh[j] * (1.0 - h[j] * h[j]);  // tanh'
      gb1[j] += ga;
      for (std::size_t d = 0; d < D_; ++d) gW1[j * D_ + d] += ga * x[d];
    }
  }

  void zero_grad() { std::fill(grad_.begin(), grad_.end(), 0.0); }

  /// One Adam step (beta1 0.9, beta2 0.999, eps 1e-8) down the accumulated gradient.
  void adam_step(double lr) {
    ++t_;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - std::pow(b1, t_), c2 = 1.0 - std::pow(b2, t_);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      m_[i] = b1 * m_[i] + (1 - b1) * grad_[i];
      v_[i] = b2 * v_[i] + (1 - b2) * grad_[i] * grad_[i];
      params_[i] -= lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps);
    }
  }

 private:
  const double* w2() const { return params_.data() + H_ * D_ + H_; }
  std::vector<double> hidden(std::span<const double> x) const {
    const double* W1 = params_.data();
    const double* b1 = W1 + H_ * D_;
    std::vector<double> h(H_);
    for (std::size_t j = 0; j < H_; ++j) {
      double a = b1[j];
      for (std::size_t d = 0; d < D_; ++d) a += W1[j * D_ + d] * x[d];
      h[j] = std::tanh(a);
    }
    return h;
  }

  policy_spec spec_;
  std::size_t D_ = 0, H_ = 0, L_ = 0;
  std::vector<double> params_, grad_, m_, v_;  // [W1 (H,D), b1 (H), W2 (L,H), b2 (L)]
  int t_ = 0;
};

/// Softmax of each head's slice of the logits z (L), in place into p (L).
inline void head_softmax(const std::vector<int>& heads, std::span<const double> z,
                         std::span<double> p) {
  std::size_t off = 0;
  for (int n : heads) {
    double mx = z[off];
    for (int k = 1; k < n; ++k) mx = std::max(mx, z[off + static_cast<std::size_t>(k)]);
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      p[off + static_cast<std::size_t>(k)] = std::exp(z[off + static_cast<std::size_t>(k)] - mx);
      sum += p[off + static_cast<std::size_t>(k)];
    }
    for (int k = 0; k < n; ++k) p[off + static_cast<std::size_t>(k)] /= sum;
    off += static_cast<std::size_t>(n);
  }
}

inline std::ostream& operator<<(std::ostream& os, const policy_mlp& m) {
  return os << "policy_mlp{" << m.inputs() << " -> tanh(hidden) -> " << m.outputs()
            << " logits in " << m.heads().size() << " heads}";
}

}  // namespace jaq::hwgen
