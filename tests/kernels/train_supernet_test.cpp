// Tests of the joint search's supernet on the device training engine (kernels/train_supernet.hpp)
// on the CPU, through the host twin, against the supernet's own CPU steps (what
// jaq::search::joint_search runs): two supernets built alike, sampled alike, one stepped by
// jaq's engine and one by the trainer.
// - weight steps: the loss of every step, and after them every weight, step size, batch-norm
//   statistic and momentum;
// - architecture steps: d CE / d alpha and beta of every logit the CPU gives a gradient, and
//   no gradient where it gives none;
// with CSQ (masks recomputed between epochs), without it (the naive mixture), with separate
// weight and activation widths, and in full precision (the sequential baseline's search).
// Every candidate kind is in the space: MBConv with and without expansion, the grouped g2
// project (one convolution per width), residuals, the identity and the strided skip.
#include "kernels/train_supernet.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/supernet.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/sgd.hpp"
#include "kernels/host_trainer.hpp"
#include "tests/kernels/train_cases.hpp"

namespace cu = jaq::cuda;
namespace nas = jaq::nas;
using jaq_test::random_batch;
using jaq_test::rel_err_floor;

namespace {

nas::space_config tiny_space(bool separate, std::vector<int> bits = {2, 4, 8}) {
  return {.name = "tiny",
          .in_channels = 1,
          .image_size = 12,
          .classes = 4,
          .stem_channels = 4,
          .stage_channels = {4, 8},
          .stage_blocks = {1, 1},
          .stage_strides = {1, 2},
          .head_channels = 16,
          .ops = {"k3_e1", "k3_e1_g2", "k3_e3", "k5_e1", "skip"},
          .bits = std::move(bits),
          .separate_wa = separate};
}

/// A supernet with its BatchNorms' gamma and beta drawn away from 1 and 0 (see train_cases.hpp's
/// make: quantized zeros at a channel mean of 0 would make ReLU a coin toss between engines).
std::unique_ptr<nas::supernet<float>> make_net(const nas::supernet_config& c) {
  jaq::rng gen(21);
  auto n = std::make_unique<nas::supernet<float>>(c, gen);
  jaq::rng bn_gen(22);
  for (auto* bn : n->batch_norms()) {
    for (auto& v : bn->gamma.value) v = static_cast<float>(1.0 + 0.3 * bn_gen.normal());
    for (auto& v : bn->beta.value) v = static_cast<float>(0.2 * bn_gen.normal());
  }
  return n;
}

const jaq::optim::sgd_config kSgd{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4};

void check_search(const nas::supernet_config& cfg, int steps) {
  CAPTURE(cfg.csq.has_value());
  CAPTURE(cfg.space.separate_wa);
  CAPTURE(cfg.full_precision);
  jaq::rng r(4);
  const jaq::data::image_shape shape{1, 12, 12};
  const std::int64_t n = 8;
  std::vector<jaq::data::batch> batches;
  for (int i = 0; i < 2 * steps; ++i) batches.push_back(random_batch(r, n, shape, 4));
  auto cpu = make_net(cfg), dev = make_net(cfg);
  for (auto* net : {cpu.get(), dev.get()}) {
    jaq::tape<float> tp;
    net->set_training(true);
    net->initialize_layers(tp, tp.constant(jaq::nn::batch_tensor<float>(batches[0])));
  }
  jaq::optim::sgd<float> sgd_cpu(cpu->weight_parameters(), kSgd), sgd_dev(dev->weight_parameters(), kSgd);
  cu::supernet_trainer<cu::host_trainer> t(*dev, sgd_dev, shape, n);

  auto clear = [](nas::supernet<float>& net) {
    for (auto* p : net.weight_parameters()) p->grad = jaq::tensor<float>{};
    for (auto* p : net.arch_parameters()) p->grad = jaq::tensor<float>{};
  };
  auto cpu_step = [&](const jaq::data::batch& b, bool arch) {
    clear(*cpu);
    jaq::tape<float> tp;
    auto logits = cpu->forward(tp, tp.constant(jaq::nn::batch_tensor<float>(b)));
    auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(b.labels));
    const double l = loss.value()[0];
    tp.backward(loss);
    if (!arch) {
      sgd_cpu.step();
      cpu->project();
    }
    return l;
  };
  int misses = 0;
  for (int s = 0; s < steps; ++s) {
    CAPTURE(s);
    if (s == steps / 2) {  // a new epoch: temperature and CSQ masks, from the weights trained so far
      t.sync_to_model();
      cpu->begin_epoch(1);
      dev->begin_epoch(1);
    }
    cpu->begin_step(false);
    dev->begin_step(false);
    const double lc = cpu_step(batches[2 * std::size_t(s)], false);
    const double ld = t.weight_step(batches[2 * std::size_t(s)], s).loss;
    CHECK(std::fabs(ld - lc) <= 2e-2 * std::max(1.0, lc));
    misses += std::fabs(ld - lc) > 1e-4 * std::max(1.0, lc);

    cpu->begin_step(true);
    dev->begin_step(true);
    const double la = cpu_step(batches[2 * std::size_t(s) + 1], true);
    clear(*dev);
    const double lb = t.arch_step(batches[2 * std::size_t(s) + 1], s).loss;
    CHECK(std::fabs(lb - la) <= 2e-2 * std::max(1.0, la));
    misses += std::fabs(lb - la) > 1e-4 * std::max(1.0, la);
    const auto ac = cpu->arch_parameters(), ad = dev->arch_parameters();
    for (std::size_t k = 0; k < ac.size(); ++k) {
      CAPTURE(ac[k]->name);
      REQUIRE(ac[k]->grad.empty() == ad[k]->grad.empty());
      if (!ac[k]->grad.empty()) CHECK(rel_err_floor(ad[k]->grad.data(), ac[k]->grad.data(), ac[k]->grad.size(), 1e-6) < 2e-3);
    }
  }
  CHECK(misses <= 2);
  t.sync_to_model();
  const auto pc = cpu->weight_parameters(), pd = dev->weight_parameters();
  for (std::size_t k = 0; k < pc.size(); ++k) {
    CAPTURE(pc[k]->name);
    CHECK(jaq_test::rel_err(pd[k]->value.data(), pc[k]->value.data(), pc[k]->value.size()) < 1e-3);
  }
  const auto sc = sgd_cpu.state(), sd = sgd_dev.state();
  for (std::size_t k = 0; k < sc.size(); ++k) {
    CAPTURE(sc[k].name);
    CHECK(rel_err_floor(sd[k].value->data(), sc[k].value->data(), sc[k].value->size(), 1e-7) < 1e-2);
  }
  for (std::size_t j = 0; j < cpu->batch_norms().size(); ++j) {
    const auto* bc = cpu->batch_norms()[j];
    const auto* bd = dev->batch_norms()[j];
    CAPTURE(bc->name);
    CHECK(jaq_test::rel_err(bd->state.running_mean.data(), bc->state.running_mean.data(), bc->channels()) < 1e-3);
    CHECK(jaq_test::rel_err(bd->state.running_var.data(), bc->state.running_var.data(), bc->channels()) < 1e-3);
  }
}

}  // namespace

TEST_CASE("the supernet's search steps on the device engine track the CPU's: CSQ") {
  check_search({.space = tiny_space(false), .csq = nas::csq_config{.keep_percent = 50}}, 8);
}

TEST_CASE("the supernet's search steps on the device engine track the CPU's: every channel (naive), separate widths") {
  check_search({.space = tiny_space(false)}, 6);
  check_search({.space = tiny_space(true), .csq = nas::csq_config{.keep_percent = 50}}, 6);
  check_search({.space = tiny_space(true)}, 6);
}

// One width: every sample is one-hot, and the second operator, run without a tape, computes it
// as the first does (CSQ's masked channels quantized, jaq::nas::mixed_layer::forward).
TEST_CASE("the supernet's search steps on the device engine track the CPU's: one width with CSQ") {
  check_search({.space = tiny_space(false, {4}), .csq = nas::csq_config{.keep_percent = 50}}, 8);
}

TEST_CASE("the supernet's search steps on the device engine track the CPU's: full precision") {
  check_search({.space = tiny_space(false), .full_precision = true}, 6);
}

TEST_CASE("binding a supernet: uninitialised steps are an error naming the layer") {
  jaq::rng gen(1);
  nas::supernet<float> net({.space = tiny_space(false)}, gen);
  jaq::optim::sgd<float> sgd(net.weight_parameters(), kSgd);
  CHECK_THROWS_WITH(cu::bind_supernet(net, {1, 12, 12}), doctest::Contains("stem: act_step"));
}
