// kernels/host_trainer.hpp: the host twin of jaq::cuda::device_trainer: the same training
// program (kernels/detail/train_program.hpp) and the same API, run on the CPU by
// kernels/detail/host_exec.hpp. The CPU tests check it against jaq's engine; on a GPU the device
// is checked against it. Not a fast path: jaq's engine (jaq/autograd) is the CPU's.
//
//   jaq::cuda::host_trainer t(net, 8);
//   jaq::cuda::check(t.set_state(params, momentum, running));
//   jaq::cuda::check(t.step(images, labels, lr, sgd, st));
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "kernels/detail/host_exec.hpp"
#include "kernels/detail/train_program.hpp"
#include "kernels/train.hpp"

namespace jaq::cuda {

/// The host twin: the same program and the same API on the CPU (tests; not a fast path).
class host_trainer {
 public:
  /// jaq::error for a net whose search ops are malformed (train::check_search_ops).
  host_trainer(train::net nt, std::int64_t max_batch) : prog_(ex_, checked(std::move(nt)), max_batch) {}

  const train::net& net() const { return prog_.nt; }
  std::int64_t max_batch() const { return prog_.max_batch; }

  status set_state(std::span<const float> params, std::span<const float> momentum, std::span<const float> running) {
    if (const status s = train::check_state_sizes(prog_.nt, params.size(), momentum.size(), running.size()); !s.ok()) return s;
    std::copy(params.begin(), params.end(), prog_.params.begin());
    std::copy(momentum.begin(), momentum.end(), prog_.momentum.begin());
    std::copy(running.begin(), running.end(), prog_.running.begin());
    return status::success();
  }
  status get_state(std::span<float> params, std::span<float> momentum, std::span<float> running) const {
    if (const status s = train::check_state_sizes(prog_.nt, params.size(), momentum.size(), running.size()); !s.ok()) return s;
    std::copy(prog_.params.begin(), prog_.params.end(), params.begin());
    std::copy(prog_.momentum.begin(), prog_.momentum.end(), momentum.begin());
    std::copy_n(prog_.running.begin(), running.size(), running.begin());
    return status::success();
  }
  status get_grads(std::span<float> grads) const {
    if (const status s = train::check_grads_size(prog_.nt, grads.size()); !s.ok()) return s;
    std::copy(prog_.grads.begin(), prog_.grads.end(), grads.begin());
    return status::success();
  }
  status step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
              train::step_stats& out) {
    if (const status s = train::check_unplanned(prog_.nt); !s.ok()) return s;
    if (const status s = train::check_step_input(prog_.nt, prog_.max_batch, images.size(), labels); !s.ok()) return s;
    out = prog_.step(images.data(), labels.data(), static_cast<std::int64_t>(labels.size()), lr, opt);
    return status::success();
  }
  status step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
              const train::step_plan& plan, train::step_stats& out) {
    if (const status s = train::check_plan(prog_.nt, plan); !s.ok()) return s;
    if (const status s = train::check_step_input(prog_.nt, prog_.max_batch, images.size(), labels); !s.ok()) return s;
    out = prog_.step(images.data(), labels.data(), static_cast<std::int64_t>(labels.size()), lr, opt, &plan);
    return status::success();
  }
  status get_mixture_grads(std::span<float> grads) const {
    if (static_cast<std::int64_t>(grads.size()) != prog_.nt.mixtures)
      return {1, "get_mixture_grads: " + std::to_string(grads.size()) + " elements for " + std::to_string(prog_.nt.mixtures)};
    std::copy_n(prog_.gmixture.begin(), grads.size(), grads.begin());
    return status::success();
  }
  status set_mask(std::size_t i, std::span<const std::int32_t> selected) {
    if (const status s = train::check_mask(prog_.nt, i, selected); !s.ok()) return s;
    prog_.set_mask(i, {selected.begin(), selected.end()});
    return status::success();
  }

 private:
  static train::net checked(train::net nt) {
    if (const status s = train::check_search_ops(nt); !s.ok()) throw error("training net: " + s.message);
    return nt;
  }
  train::host_exec ex_;
  train::program<train::host_exec> prog_;
};

}  // namespace jaq::cuda
