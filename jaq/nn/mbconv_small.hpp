// jaq/nn/mbconv_small.hpp: a small MobileNetV2-style network for 28x28 (or 32x32) images:
//   stem conv3x3(in->16)-BN-ReLU6, inverted-residual blocks from `blocks`,
//   head conv1x1(->head_channels)-BN-ReLU6, global average pool, fc(->classes).
//
//   jaq::nn::mbconv_small<float> m({}, gen);
//   auto cfg = jaq::nn::mbconv_small_config{.blocks = {{.kernel = 5, .expansion = 6, .stride = 2, .out_channels = 24}}};
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/mbconv.hpp"
#include "jaq/nn/model.hpp"

namespace jaq::nn {

struct mbconv_small_config {
  std::int64_t in_channels = 1;
  std::int64_t classes = 10;
  std::int64_t stem_channels = 16;
  std::vector<mbconv_block_spec> blocks = {
      {.kernel = 3, .expansion = 1, .stride = 1, .out_channels = 16}, {.kernel = 3, .expansion = 4, .stride = 2, .out_channels = 24},
      {.kernel = 3, .expansion = 4, .stride = 1, .out_channels = 24}, {.kernel = 5, .expansion = 4, .stride = 2, .out_channels = 40},
      {.kernel = 3, .expansion = 4, .stride = 1, .out_channels = 40},
  };
  std::int64_t head_channels = 128;

  friend std::ostream& operator<<(std::ostream& os, const mbconv_small_config& c) {
    os << "mbconv_small_config{.in_channels=" << c.in_channels << ", .classes=" << c.classes << ", .stem_channels=" << c.stem_channels
       << ", .blocks={";
    for (std::size_t i = 0; i < c.blocks.size(); ++i) os << (i ? ", " : "") << c.blocks[i];
    return os << "}, .head_channels=" << c.head_channels << "}";
  }
};

template <scalar T>
class mbconv_small final : public model<T> {
 public:
  mbconv_small_config config;
  conv2d<T> stem;
  batch_norm<T> stem_bn;
  std::vector<std::unique_ptr<mbconv_block<T>>> blocks;
  std::unique_ptr<conv2d<T>> head;
  std::unique_ptr<batch_norm<T>> head_bn;
  std::unique_ptr<linear<T>> fc;

  mbconv_small(mbconv_small_config c, rng& gen)
      : config(c),
        stem({.in_channels = c.in_channels, .out_channels = c.stem_channels, .kernel = 3, .padding = 1}, "stem", gen),
        stem_bn(c.stem_channels, "stem_bn", fused_activation::relu6) {
    this->add_site(stem, nullptr);
    this->add_batch_norm(stem_bn);
    std::int64_t ch = c.stem_channels;
    batch_norm<T>* feeding = &stem_bn;
    for (std::size_t i = 0; i < c.blocks.size(); ++i) {
      auto b = std::make_unique<mbconv_block<T>>(ch, c.blocks[i], "blocks." + std::to_string(i), gen);
      if (b->expand) {
        this->add_site(*b->expand, feeding);
        this->add_batch_norm(*b->expand_bn);
        feeding = b->expand_bn.get();
      }
      this->add_site(b->depthwise, feeding);
      this->add_batch_norm(b->depthwise_bn);
      this->add_site(b->project, &b->depthwise_bn);
      this->add_batch_norm(b->project_bn);
      feeding = &b->project_bn;
      ch = c.blocks[i].out_channels;
      blocks.push_back(std::move(b));
    }
    head = std::make_unique<conv2d<T>>(conv2d_spec{.in_channels = ch, .out_channels = c.head_channels, .kernel = 1}, "head", gen);
    head_bn = std::make_unique<batch_norm<T>>(c.head_channels, "head_bn", fused_activation::relu6);
    fc = std::make_unique<linear<T>>(linear_spec{.in_features = c.head_channels, .out_features = c.classes}, "fc", gen);
    this->add_site(*head, feeding);
    this->add_batch_norm(*head_bn);
    this->add_site(*fc, head_bn.get(), {&fc->bias});
  }

  std::string name() const override { return "mbconv-small"; }

  var<T> forward(tape<T>& tp, var<T> x) override {
    x = stem_bn.forward(tp, stem.forward(tp, x));  // BN + ReLU6, fused
    for (auto& b : blocks) x = b->forward(tp, x);
    x = head_bn->forward(tp, head->forward(tp, x));
    return fc->forward(tp, jaq::global_avg_pool(tp, x));
  }
};

}  // namespace jaq::nn
