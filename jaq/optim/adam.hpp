// jaq/optim/adam.hpp: Adam (Kingma & Ba) with bias correction and optional L2 weight decay:
//   g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//
//   jaq::optim::adam<float> opt(model.parameters(), {.lr = 1e-3});
#pragma once

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/parameter.hpp"
#include "jaq/core/error.hpp"

namespace jaq::optim {

struct adam_config {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;

  friend std::ostream& operator<<(std::ostream& os, const adam_config& c) {
    return os << "adam_config{.lr=" << c.lr << ", .beta1=" << c.beta1 << ", .beta2=" << c.beta2 << ", .eps=" << c.eps
              << ", .weight_decay=" << c.weight_decay << "}";
  }
};

template <scalar T>
class adam {
 public:
  adam(std::vector<parameter<T>*> params, adam_config c) : params_(std::move(params)), cfg_(c), step_(jaq::shape{1}) {
    if (!(c.lr >= 0)) throw config_error("adam_config", "lr", std::to_string(c.lr) + " (must be >= 0)");
    if (!(c.beta1 >= 0 && c.beta1 < 1)) throw config_error("adam_config", "beta1", std::to_string(c.beta1) + " (must be in [0, 1))");
    if (!(c.beta2 >= 0 && c.beta2 < 1)) throw config_error("adam_config", "beta2", std::to_string(c.beta2) + " (must be in [0, 1))");
    if (!(c.eps > 0)) throw config_error("adam_config", "eps", std::to_string(c.eps) + " (must be > 0)");
    step_[0] = T(0);
    for (auto* p : params_) {
      m_.push_back(tensor<T>::zeros(p->value.shape()));
      v_.push_back(tensor<T>::zeros(p->value.shape()));
    }
  }

  void zero_grad() {
    for (auto* p : params_) p->zero_grad();
  }

  void step() {
    step_[0] += T(1);
    const double t = static_cast<double>(step_[0]);
    const double c1 = 1.0 - std::pow(cfg_.beta1, t), c2 = 1.0 - std::pow(cfg_.beta2, t);
    const T b1 = static_cast<T>(cfg_.beta1), b2 = static_cast<T>(cfg_.beta2), wd = static_cast<T>(cfg_.weight_decay);
    const T step_size = static_cast<T>(cfg_.lr / c1), root_c2 = static_cast<T>(std::sqrt(c2)), eps = static_cast<T>(cfg_.eps);
    for (std::size_t k = 0; k < params_.size(); ++k) {
      parameter<T>& p = *params_[k];
      if (p.grad.empty() || !p.trainable) continue;
      T* w = p.value.data();
      const T* g = p.grad.data();
      T* m = m_[k].data();
      T* v = v_[k].data();
      for (std::int64_t i = 0; i < p.value.size(); ++i) {
        const T d = g[i] + wd * w[i];
        m[i] = b1 * m[i] + (T(1) - b1) * d;
        v[i] = b2 * v[i] + (T(1) - b2) * d * d;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) / root_c2 + eps);
      }
    }
  }

  double lr() const { return cfg_.lr; }
  void set_lr(double lr) { cfg_.lr = lr; }
  const adam_config& config() const { return cfg_; }
  std::int64_t steps() const { return static_cast<std::int64_t>(step_[0]); }

  std::vector<named_tensor<T>> state() {
    std::vector<named_tensor<T>> st{{"adam.step", &step_}};
    for (std::size_t k = 0; k < params_.size(); ++k) {
      st.push_back({"adam." + params_[k]->name + ".m", &m_[k]});
      st.push_back({"adam." + params_[k]->name + ".v", &v_[k]});
    }
    return st;
  }

 private:
  std::vector<parameter<T>*> params_;
  adam_config cfg_;
  std::vector<tensor<T>> m_, v_;
  tensor<T> step_;
};

}  // namespace jaq::optim
