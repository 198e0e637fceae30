// jaq/hwgen/policy_mlp.hpp: the hardware generation network: a small MLP whose outputs are the
// logits of one categorical distribution per accelerator parameter, with its own gradient.
//
// x (D) -> tanh(W1 x + b1) (H) -> W2 h + b2 (L = sum of the heads' sizes). The output layer
// starts at zero, so the first distribution is uniform over every parameter's values. The
// weights are jaq::parameter<double> tensors (W1, b1, W2, b2), so any jaq optimizer trains them
// (generator.hpp: jaq::optim::adam on gradients given with respect to the logits, REINFORCE) and
// checkpoints save them; backward() is checked against finite differences in
// tests/hwgen/policy_mlp_test.cpp.
//
//   jaq::rng gen(1);
//   jaq::hwgen::policy_mlp net({.inputs = 4, .hidden = 32, .heads = {5, 5, 6}}, gen);
//   jaq::optim::adam<double> opt(net.parameters(), {.lr = 0.05});
//   auto z = net.forward(x);                 // (L) logits
//   opt.zero_grad(); net.backward(x, dz); opt.step();
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/parameter.hpp"
#include "jaq/autograd/tensor.hpp"
#include "jaq/config.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"

namespace jaq::hwgen {

struct policy_spec {
  int inputs = 1;           // D
  int hidden = 32;          // H
  std::vector<int> heads;   // sizes of the categorical heads; L = their sum
  double init_scale = 0.5;  // first-layer weights ~ N(0, init_scale^2 / D)
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
    const auto d = static_cast<std::int64_t>(D_), h = static_cast<std::int64_t>(H_), l = static_cast<std::int64_t>(L_);
    W1_ = make("policy.W1", {h, d});
    b1_ = make("policy.b1", {h});
    W2_ = make("policy.W2", {l, h});
    b2_ = make("policy.b2", {l});
    const double s = spec_.init_scale / std::sqrt(static_cast<double>(D_));
    for (double& w : W1_.value) w = s * gen.normal();  // the rest stays 0
  }

  std::size_t inputs() const { return D_; }
  std::size_t outputs() const { return L_; }
  const std::vector<int>& heads() const { return spec_.heads; }
  /// W1 (H, D), b1 (H), W2 (L, H), b2 (L), named "policy.W1" ...; gradients allocated (zeros).
  std::vector<parameter<double>*> parameters() { return {&W1_, &b1_, &W2_, &b2_}; }

  /// Logits for input x (D): (L).
  std::vector<double> forward(std::span<const double> x) const {
    JAQ_ASSERT(x.size() == D_);
    std::vector<double> h = hidden(x), z(L_);
    const double* W2 = W2_.value.data();
    const double* b2 = b2_.value.data();
    for (std::size_t l = 0; l < L_; ++l) {
      double acc = b2[l];
      for (std::size_t j = 0; j < H_; ++j) acc += W2[l * H_ + j] * h[j];
      z[l] = acc;
    }
    return z;
  }

  /// Adds d(loss)/d(params) to the parameters' gradients, given dz = d(loss)/d(logits) (L) at
  /// input x (D).
  void backward(std::span<const double> x, std::span<const double> dz) {
    JAQ_ASSERT(x.size() == D_ && dz.size() == L_);
    const std::vector<double> h = hidden(x);
    const double* W2 = W2_.value.data();
    double* gW1 = W1_.grad.data();
    double* gb1 = b1_.grad.data();
    double* gW2 = W2_.grad.data();
    double* gb2 = b2_.grad.data();
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

  void zero_grad() {
    for (parameter<double>* p : parameters()) p->zero_grad();
  }

 private:
  static parameter<double> make(std::string name, jaq::shape s) {
    return {.name = std::move(name), .value = tensor<double>::zeros(s), .grad = tensor<double>::zeros(s)};
  }
  std::vector<double> hidden(std::span<const double> x) const {
    const double* W1 = W1_.value.data();
    const double* b1 = b1_.value.data();
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
  parameter<double> W1_, b1_, W2_, b2_;
};

/// Softmax of each head's slice of the logits z (L), in place into p (L).
inline void head_softmax(const std::vector<int>& heads, std::span<const double> z, std::span<double> p) {
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
  return os << "policy_mlp{" << m.inputs() << " -> tanh(hidden) -> " << m.outputs() << " logits in " << m.heads().size() << " heads}";
}

}  // namespace jaq::hwgen
