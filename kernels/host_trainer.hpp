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
  host_trainer(train::net nt, std::int64_t max_batch) : prog_(ex_, std::move(nt), max_batch) {}

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
    if (const status s = train::check_step_input(prog_.nt, prog_.max_batch, images.size(), labels); !s.ok()) return s;
    out = prog_.step(images.data(), labels.data(), static_cast<std::int64_t>(labels.size()), lr, opt);
    return status::success();
  }

 private:
  train::host_exec ex_;
  train::program<train::host_exec> prog_;
};

}  // namespace jaq::cuda
