// jaq/nas/train_engine.hpp: the seam through which a supernet's search steps run on an engine
// other than jaq's CPU autograd. kernels/train_supernet.hpp implements it with the device
// training engine (`jaq::cuda::supernet_engine_on<device_trainer>`); jaq::search::joint_search
// takes a factory of them (`train_on`). The supernet keeps the architecture logits and draws
// the samples; the engine holds the weights' state between syncs.
#pragma once

#include <cstdint>
#include <string>

#include "jaq/data/dataset.hpp"
#include "jaq/nn/training.hpp"

namespace jaq::nas {

struct supernet_engine {
  virtual ~supernet_engine() = default;
  /// A weight step on b with the supernet's current samples (begin_step(false)), the
  /// optimizer's step (at its learning rate) and the step sizes' floor included.
  virtual nn::step_result weight_step(const data::batch& b, std::int64_t step) = 0;
  /// An architecture step's network part (begin_step(true)): d CE / d logits added into the
  /// logits' .grad, as the CPU's tape would give them; nothing updated.
  virtual nn::step_result arch_step(const data::batch& b, std::int64_t step) = 0;
  /// The model's state (weights, steps, BatchNorm statistics, the optimizer's momentum) to the
  /// engine, and back.
  virtual void sync_from_model() = 0;
  virtual void sync_to_model() = 0;
  /// One line: where the steps run.
  virtual std::string name() const = 0;
};

}  // namespace jaq::nas
