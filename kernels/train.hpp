// kernels/train.hpp: a whole training step on a CUDA device: forward, softmax cross-entropy,
// backward and the SGD update of a train::net, with every tensor in device memory. Per step
// the host sends the images and labels and reads back two numbers (the loss and the hits).
//
// The step is kernels/detail/train_program.hpp, the same source as its host twin
// (`host_trainer`, kernels/host_trainer.hpp), which the CPU tests check against
// jaq's engine; on a GPU, //tests/kernels:gpu_test checks the device against the host twin.
// kernels/train_model.hpp binds a jaq::nn model (small-cnn, mbconv-small, with or without LSQ
// quantization) to either.
//
//   jaq::cuda::device_trainer t(net, 256);                  // throws jaq::error without a device
//   jaq::cuda::check(t.set_state(params, momentum, running));
//   jaq::cuda::train::step_stats st;
//   jaq::cuda::check(t.step(images, labels, lr, sgd, st));  // st.loss, st.correct
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "kernels/detail/train_net.hpp"
#include "kernels/device.hpp"

namespace jaq::cuda {

namespace train {
/// Elements of the three state arenas of a net: parameters (and, in the same layout, their
/// momentum), and running statistics (each batch norm's mean, then its variance; then each
/// min/max input's running range, {seen, lo, hi}).
inline std::int64_t param_elements(const net& nt) {
  std::int64_t n = 0;
  for (const auto& p : nt.params) n += p.size;
  return n;
}
inline std::int64_t running_elements(const net& nt) {
  std::int64_t n = 0;
  for (std::int64_t c : nt.bn_channels) n += 2 * c;
  return n + 3 * nt.observers;
}
/// ok when a step's inputs make a batch of at most max_batch images of this net.
inline status check_step_input(const net& nt, std::int64_t max_batch, std::size_t image_elements, std::span<const std::int32_t> labels) {
  const auto n = static_cast<std::int64_t>(labels.size());
  if (n < 1 || n > max_batch || static_cast<std::int64_t>(image_elements) != n * nt.values[0].per_image)
    return {1, "training step: " + std::to_string(n) + " labels and " + std::to_string(image_elements) +
                   " image elements do not make a batch of 1 to " + std::to_string(max_batch) + " images of " +
                   std::to_string(nt.values[0].per_image) + " elements"};
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= nt.classes)
      return {1, "training step: label " + std::to_string(labels[i]) + " of image " + std::to_string(i) + " is not one of the " +
                     std::to_string(nt.classes) + " classes"};
  return status::success();
}

/// ok when a gradient span has the net's parameter count.
inline status check_grads_size(const net& nt, std::size_t grads) {
  if (static_cast<std::int64_t>(grads) != param_elements(nt))
    return {1, "get_grads: " + std::to_string(grads) + " elements for " + std::to_string(param_elements(nt)) + " parameters"};
  return status::success();
}

/// ok when the three state spans have the net's sizes.
inline status check_state_sizes(const net& nt, std::size_t params, std::size_t momentum, std::size_t running) {
  const std::int64_t p = param_elements(nt), r = running_elements(nt);
  if (static_cast<std::int64_t>(params) != p || static_cast<std::int64_t>(momentum) != p || static_cast<std::int64_t>(running) != r)
    return {1, "training state of " + std::to_string(params) + " parameters, " + std::to_string(momentum) + " momentum and " +
                   std::to_string(running) + " running statistics for a net of " + std::to_string(p) + ", " + std::to_string(p) + " and " +
                   std::to_string(r)};
  return status::success();
}
}  // namespace train

/// The training step on device `device`, for batches of up to max_batch images.
class device_trainer {
 public:
  /// Allocates the state on the device; jaq::error when it cannot (no device, no cuBLAS, no memory).
  device_trainer(train::net nt, std::int64_t max_batch, int device = 0);
  ~device_trainer();
  device_trainer(const device_trainer&) = delete;
  device_trainer& operator=(const device_trainer&) = delete;

  const train::net& net() const;
  std::int64_t max_batch() const;

  /// Parameters and momentum (param_elements each) and running statistics (running_elements).
  status set_state(std::span<const float> params, std::span<const float> momentum, std::span<const float> running);
  status get_state(std::span<float> params, std::span<float> momentum, std::span<float> running) const;
  /// Gradients of the last step (param_elements), for tests.
  status get_grads(std::span<float> grads) const;

  /// One step on labels.size() images (channel-major, as jaq::nn::batch_tensor lays them out).
  status step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
              train::step_stats& out);

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace jaq::cuda
