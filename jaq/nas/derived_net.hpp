// jaq/nas/derived_net.hpp: the network a search derived: one operator per block of a space, as
// a plain jaq::nn model (every convolution a site with the BatchNorm that feeds it), so that
// jaq::quant::quantized_model retrains it fully quantized at its per-layer widths.
//
//   stem conv3x3 -> BN+ReLU -> blocks (the chosen candidate_op each) -> head 1x1 -> BN+ReLU
//   -> global average pool -> fc
//
//   jaq::nas::derived_net<float> net(space, {.ops = {"k3_e3", "skip"}, .bits = {4, 2}}, gen);
//   jaq::quant::quantized_model<float> q(net, {.method = jaq::quant::method::lsq,
//                                              .layer_bits = net.layer_bits(),
//                                              .layer_act_bits = net.layer_act_bits()});
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/candidate_op.hpp"
#include "jaq/nas/space.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/model.hpp"

namespace jaq::nas {

template <scalar T>
class derived_net final : public nn::model<T> {
 public:
  derived_net(const space_config& s, derived_arch arch, rng& gen) : space_(s), arch_(std::move(arch)) {
    s.validate(s.name);
    arch_.validate(s, s.name);
    stem_ = std::make_unique<nn::conv2d<T>>(
        nn::conv2d_spec{.in_channels = s.in_channels, .out_channels = s.stem_channels, .kernel = 3, .stride = s.stem_stride, .padding = 1},
        "stem", gen);
    stem_bn_ = std::make_unique<nn::batch_norm<T>>(s.stem_channels, "stem_bn", fused_activation::relu);
    this->add_site(*stem_, nullptr);
    this->add_batch_norm(*stem_bn_);
    nn::batch_norm<T>* producer = stem_bn_.get();
    for (const auto& g : s.blocks()) {
      const op_spec op = parse_op(arch_.ops[std::size_t(g.index)]);
      auto& b = blocks_.emplace_back(std::make_unique<candidate_op<T>>(op, g, "blocks." + std::to_string(g.index) + "." + op.name, gen));
      for (const auto& oc : b->convs()) {
        this->add_site(*oc.conv, oc.input_bn ? oc.input_bn : producer);
        bits_.push_back({oc.conv->name, arch_.bits[std::size_t(g.index)]});
        if (!arch_.act_bits.empty()) act_bits_.push_back({oc.conv->name, arch_.act_bits[std::size_t(g.index)]});
      }
      for (auto* bn : b->batch_norms()) this->add_batch_norm(*bn);
      if (auto* out = b->output_bn()) producer = out;
    }
    head_ = std::make_unique<nn::conv2d<T>>(
        nn::conv2d_spec{.in_channels = s.stage_channels.back(), .out_channels = s.head_channels, .kernel = 1}, "head", gen);
    head_bn_ = std::make_unique<nn::batch_norm<T>>(s.head_channels, "head_bn", fused_activation::relu);
    fc_ = std::make_unique<nn::linear<T>>(nn::linear_spec{.in_features = s.head_channels, .out_features = s.classes}, "fc", gen);
    this->add_site(*head_, producer);
    this->add_batch_norm(*head_bn_);
    this->add_site(*fc_, head_bn_.get(), {&fc_->bias});
    bits_.push_back({"head", s.fixed_bits});
  }

  std::string name() const override { return "derived:" + space_.name; }
  const derived_arch& arch() const { return arch_; }

  /// Per-layer widths for quant_config::layer_bits: each block's convolutions at the block's
  /// width, the head at the space's fixed width (stem and fc are the first and last layers).
  const std::vector<std::pair<std::string, int>>& layer_bits() const { return bits_; }
  /// Per-layer activation widths for quant_config::layer_act_bits (empty unless the
  /// architecture chose them apart: derived_arch::act_bits).
  const std::vector<std::pair<std::string, int>>& layer_act_bits() const { return act_bits_; }

  // The layers in forward order, read-only, for exporters (jaq/io/onnx.hpp) that write the
  // network in another format: forward() below is what they must reproduce.
  const space_config& space() const { return space_; }
  const nn::conv2d<T>& stem() const { return *stem_; }
  const nn::batch_norm<T>& stem_bn() const { return *stem_bn_; }
  const std::vector<std::unique_ptr<candidate_op<T>>>& blocks() const { return blocks_; }
  const nn::conv2d<T>& head() const { return *head_; }
  const nn::batch_norm<T>& head_bn() const { return *head_bn_; }
  const nn::linear<T>& fc() const { return *fc_; }

  var<T> forward(tape<T>& tp, var<T> x) override {  // (C, N, H, W) -> (N, classes)
    x = stem_bn_->forward(tp, stem_->forward(tp, x));
    for (auto& b : blocks_) x = b->forward(tp, x, [&](tape<T>& t, var<T> h, std::size_t k) { return b->convs()[k].conv->forward(t, h); });
    x = head_bn_->forward(tp, head_->forward(tp, x));
    return fc_->forward(tp, jaq::global_avg_pool(tp, x));
  }

 private:
  space_config space_;
  derived_arch arch_;
  std::unique_ptr<nn::conv2d<T>> stem_, head_;
  std::unique_ptr<nn::batch_norm<T>> stem_bn_, head_bn_;
  std::unique_ptr<nn::linear<T>> fc_;
  std::vector<std::unique_ptr<candidate_op<T>>> blocks_;
  std::vector<std::pair<std::string, int>> bits_, act_bits_;
};

}  // namespace jaq::nas
