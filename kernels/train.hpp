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

/// ok when the search ops of a net are well formed: a mixed_conv dense (groups 1) or
/// depthwise, with widths, steps of the right sizes and its mixtures inside the arena; a mix's
/// weights inside it; a channel shuffle's groups dividing its channels.
inline status check_search_ops(const net& nt) {
  auto bad = [](const op& o, const std::string& why) { return status{1, "op '" + o.name + "': " + why}; };
  auto in_arena = [&](int at, std::int64_t len) { return at >= 0 && at + len <= nt.mixtures; };
  for (const op& o : nt.ops) {
    if (o.kind == op_kind::mix) {
      if (o.mix.inputs.empty() || o.mix.index.size() != o.mix.inputs.size()) return bad(o, "a mix needs branches, each with an index");
      if (!in_arena(o.mix.c, std::int64_t(o.mix.inputs.size())))
        return bad(o, "its branch weights lie outside the mixture arena of " + std::to_string(nt.mixtures));
      for (int j : o.mix.index)
        if (!in_arena(o.mix.p + j, 1)) return bad(o, "its mixture weights lie outside the mixture arena of " + std::to_string(nt.mixtures));
      for (int v : o.mix.inputs)
        if (v < 0 || v >= int(nt.values.size()) || nt.values[std::size_t(v)].per_image != nt.values[std::size_t(o.out)].per_image)
          return bad(o, "a branch is not a value of the output's size");
    }
    if (o.kind == op_kind::channel_shuffle && (o.groups < 1 || o.c_in % o.groups != 0))
      return bad(o, std::to_string(o.groups) + " groups do not divide " + std::to_string(o.c_in) + " channels");
    if (o.kind != op_kind::mixed_conv) continue;
    const auto nb = std::int64_t(o.mixed.widths.size());
    std::int64_t params = 0;  // the stacking tables hold parameter offsets as int32
    for (const auto& p : nt.params) params += p.size;
    if (params > std::int64_t(INT32_MAX)) return bad(o, "a net with search layers holds at most 2^31 - 1 parameter elements");
    for (std::size_t k = 0; k < o.mixed.selected.size(); ++k)
      if (o.mixed.selected[k] < 0 || o.mixed.selected[k] >= o.c_in || (k > 0 && o.mixed.selected[k] <= o.mixed.selected[k - 1]))
        return bad(o, "its mask's channel " + std::to_string(o.mixed.selected[k]) + " at " + std::to_string(k) +
                          " (need distinct channels of 0.." + std::to_string(o.c_in - 1) + ", ascending)");
    if (nb == 0) return bad(o, "no candidate widths");
    if (!(o.groups == 1 || (o.groups == o.c_in && o.groups == o.c_out)))
      return bad(o, "a mixed convolution is dense or depthwise, not " + std::to_string(o.groups) + " groups");
    if (!in_arena(o.mixed.p, nb) || (o.mixed.pw >= 0 && !in_arena(o.mixed.pw, nb)))
      return bad(o, "its width mixture lies outside the mixture arena of " + std::to_string(nt.mixtures));
    for (const width_quant& w : o.mixed.widths) {
      const auto np = std::int64_t(nt.params.size());
      if (w.s_a < 0 || w.s_a >= np || w.s_w < 0 || w.s_w >= np || nt.params[std::size_t(w.s_a)].size != 1 ||
          nt.params[std::size_t(w.s_w)].size != o.c_out)
        return bad(o, "each width needs an input step of 1 and a weight step of " + std::to_string(o.c_out) + " elements");
    }
  }
  return status::success();
}

/// ok when `plan` fits the net: one mixture weight per arena entry, each in [0, 1] (-1, a branch
/// not run, only among a mix's branch weights), and one run mode per op (or none).
inline status check_plan(const net& nt, const step_plan& plan) {
  if (static_cast<std::int64_t>(plan.mixture.size()) != nt.mixtures)
    return {1, "step plan: " + std::to_string(plan.mixture.size()) + " mixture weights for a net of " + std::to_string(nt.mixtures)};
  if (!plan.run.empty() && plan.run.size() != nt.ops.size())
    return {1, "step plan: " + std::to_string(plan.run.size()) + " run modes for " + std::to_string(nt.ops.size()) + " ops"};
  for (std::size_t k = 0; k < plan.mixture.size(); ++k)
    if (!((plan.mixture[k] >= 0.0f && plan.mixture[k] <= 1.0f) || plan.mixture[k] == -1.0f))
      return {1, "step plan: mixture weight " + std::to_string(k) + " is " + std::to_string(plan.mixture[k]) +
                     " (must be in [0, 1], or -1 for a branch not run)"};
  for (const op& o : nt.ops) {  // a search layer's widths are weights: -1 there would run a width at -1
    if (o.kind != op_kind::mixed_conv) continue;
    for (int at : {o.mixed.p, o.mixed.pw}) {
      if (at < 0) continue;
      for (std::size_t b = 0; b < o.mixed.widths.size(); ++b)
        if (plan.mixture[std::size_t(at) + b] < 0.0f)
          return {1, "step plan: mixture weight " + std::to_string(std::size_t(at) + b) + " of op '" + o.name +
                         "' is a width's weight: -1 is only for a mix's branches"};
    }
  }
  return status::success();
}

/// ok for a plain step: the net has no mixture weights to be given.
inline status check_unplanned(const net& nt) {
  if (nt.mixtures > 0) return {1, "training step: a search net (" + std::to_string(nt.mixtures) + " mixture weights) needs a step plan"};
  return status::success();
}

/// ok when `selected` is a CSQ mask of mixed_conv op `i`: distinct input channels, ascending.
inline status check_mask(const net& nt, std::size_t i, std::span<const std::int32_t> selected) {
  if (i >= nt.ops.size() || nt.ops[i].kind != op_kind::mixed_conv)
    return {1, "set_mask: op " + std::to_string(i) + " is not a mixed convolution"};
  for (std::size_t k = 0; k < selected.size(); ++k)
    if (selected[k] < 0 || selected[k] >= nt.ops[i].c_in || (k > 0 && selected[k] <= selected[k - 1]))
      return {1, "set_mask: op '" + nt.ops[i].name + "': channel " + std::to_string(selected[k]) + " at " + std::to_string(k) +
                     " (need distinct channels of 0.." + std::to_string(nt.ops[i].c_in - 1) + ", ascending)"};
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
  /// A search step: the plan's mixture weights and run modes (a net with mixed ops needs one).
  status step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
              const train::step_plan& plan, train::step_stats& out);
  /// d loss / d mixture weight of the last step (net::mixtures).
  status get_mixture_grads(std::span<float> grads) const;
  /// Replaces mixed_conv op i's CSQ mask: its quantized input channels, ascending.
  status set_mask(std::size_t i, std::span<const std::int32_t> selected);

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace jaq::cuda
