// jaq/optim/sgd.hpp: stochastic gradient descent with momentum and weight decay (PyTorch's
// update rule, dampening 0):
//   g = grad + weight_decay * p;   buf = momentum * buf + g;   p -= lr * (nesterov ? g + momentum * buf : buf)
//
//   jaq::optim::sgd<float> opt(model.parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
//   opt.zero_grad(); ...backward...; opt.step();
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/parameter.hpp"
#include "jaq/core/error.hpp"

namespace jaq::optim {

struct sgd_config {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  friend std::ostream& operator<<(std::ostream& os, const sgd_config& c) {
    return os << "sgd_config{.lr=" << c.lr << ", .momentum=" << c.momentum << ", .weight_decay=" << c.weight_decay
              << ", .nesterov=" << c.nesterov << "}";
  }
};

template <scalar T>
class sgd {
 public:
  sgd(std::vector<parameter<T>*> params, sgd_config c) : params_(std::move(params)), cfg_(c), step_(jaq::shape{1}) {
    if (!(c.lr >= 0)) throw config_error("sgd_config", "lr", std::to_string(c.lr) + " (must be >= 0)");
    if (!(c.momentum >= 0 && c.momentum < 1))
      throw config_error("sgd_config", "momentum", std::to_string(c.momentum) + " (must be in [0, 1))");
    if (!(c.weight_decay >= 0)) throw config_error("sgd_config", "weight_decay", std::to_string(c.weight_decay) + " (must be >= 0)");
    step_[0] = T(0);
    for (auto* p : params_) buf_.push_back(tensor<T>::zeros(p->value.shape()));
  }

  void zero_grad() {
    for (auto* p : params_) p->zero_grad();
  }

  void step() {
    const T lr = static_cast<T>(cfg_.lr), mom = static_cast<T>(cfg_.momentum), wd = static_cast<T>(cfg_.weight_decay);
    for (std::size_t k = 0; k < params_.size(); ++k) {
      parameter<T>& p = *params_[k];
      if (p.grad.empty() || !p.trainable) continue;
      T* w = p.value.data();
      const T* g = p.grad.data();
      T* b = buf_[k].data();
      for (std::int64_t i = 0; i < p.value.size(); ++i) {
        T d = g[i] + wd * w[i];
        if (cfg_.momentum != 0.0) {
          b[i] = mom * b[i] + d;
          d = cfg_.nesterov ? d + mom * b[i] : b[i];
        }
        w[i] -= lr * d;
      }
    }
    step_[0] += T(1);
  }

  double lr() const { return cfg_.lr; }
  void set_lr(double lr) { cfg_.lr = lr; }
  const sgd_config& config() const { return cfg_; }
  std::int64_t steps() const { return static_cast<std::int64_t>(step_[0]); }

  /// Momentum buffers and the step count, by name, for checkpoints.
  std::vector<named_tensor<T>> state() {
    std::vector<named_tensor<T>> st{{"sgd.step", &step_}};
    for (std::size_t k = 0; k < params_.size(); ++k) st.push_back({"sgd." + params_[k]->name + ".momentum", &buf_[k]});
    return st;
  }

 private:
  std::vector<parameter<T>*> params_;
  sgd_config cfg_;
  std::vector<tensor<T>> buf_;
  tensor<T> step_;
};

}  // namespace jaq::optim
