#include "jaq/nas/supernet.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/gradcheck.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/nas/derived_net.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/quant/quantize_model.hpp"

using namespace jaq::nas;

namespace {

space_config tiny_space() {
  return {.name = "tiny",
          .in_channels = 1,
          .image_size = 8,
          .classes = 3,
          .stem_channels = 4,
          .stage_channels = {4, 8},
          .stage_blocks = {1, 1},
          .stage_strides = {1, 2},
          .head_channels = 8};
}

jaq::tensor<float> images(std::int64_t n, jaq::rng& r) {
  jaq::tensor<float> x(jaq::shape{1, n, 8, 8});
  for (auto& v : x) v = float(r.normal());
  return x;
}

double loss_of(supernet<float>& net, jaq::tape<float>& tp, const jaq::tensor<float>& x, bool backward) {
  tp.clear();
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < x.shape()[1]; ++i) labels.push_back(std::int32_t(i % 3));
  auto loss = jaq::cross_entropy(tp, net.forward(tp, tp.constant(x.clone())), std::span<const std::int32_t>(labels));
  const double v = loss.value()[0];
  if (backward) tp.backward(loss);
  return v;
}

// sum of all elements, as a scalar on the tape
jaq::var<double> total(jaq::tape<double>& tp, jaq::var<double> y) {
  jaq::tensor<double> out(jaq::shape{1});
  out[0] = 0;
  for (double v : y.value()) out[0] += v;
  return tp.record("total", std::move(out), {y}, [](jaq::backward_context<double>& ctx) {
    auto& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += ctx.grad_output()[0];
  });
}

double norm(const jaq::tensor<float>& g) {
  double s = 0;
  for (float v : g) s += double(v) * v;
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("op_conv_shapes: MBConv has expand/depthwise/project, expansion 1 no expand, skip a 1x1 only where the shape changes") {
  const block_geometry same{.in_channels = 8, .out_channels = 8, .stride = 1, .in_size = 6, .out_size = 6};
  const block_geometry down{.in_channels = 8, .out_channels = 16, .stride = 2, .in_size = 6, .out_size = 3};
  const auto e3 = op_conv_shapes(parse_op("k5_e3"), down);
  REQUIRE(e3.size() == 3);
  CHECK(e3[0].conv.out_channels == 24);
  CHECK(e3[1].conv.groups == 24);
  CHECK(e3[1].conv.kernel == 5);
  CHECK(e3[1].conv.stride == 2);
  CHECK(e3[1].input_from == 0);
  CHECK(e3[2].in_size == 3);
  CHECK(e3[2].conv.out_channels == 16);
  const auto g2 = op_conv_shapes(parse_op("k3_e1_g2"), down);
  REQUIRE(g2.size() == 2);
  CHECK(g2[0].input_from == -1);
  CHECK(g2[1].conv.groups == 2);
  CHECK(op_conv_shapes(parse_op("skip"), same).empty());
  const auto sk = op_conv_shapes(parse_op("skip"), down);
  REQUIRE(sk.size() == 1);
  CHECK(sk[0].conv.stride == 2);
}

TEST_CASE("gumbel_mixture: finite differences of the sampled weights through beta, soft and top-2") {
  // the weights as a function of beta for fixed noise: softmax((beta + g) / tau) over the active
  // candidates (all, or the two largest), computed here in double
  const std::vector<double> noise{0.3, -0.7, 1.1, 0.2};
  const double tau = 1.7;
  auto sample = [&](const jaq::tensor<double>& beta, bool top2) {
    std::vector<double> z(4);
    for (std::size_t b = 0; b < 4; ++b) z[b] = (beta[std::int64_t(b)] + noise[b]) / tau;
    gumbel_weights w;
    if (top2) {
      std::vector<int> order{0, 1, 2, 3};
      std::sort(order.begin(), order.end(), [&](int a, int c) { return z[std::size_t(a)] > z[std::size_t(c)]; });
      w.active = {std::min(order[0], order[1]), std::max(order[0], order[1])};
    } else {
      w.active = {0, 1, 2, 3};
    }
    w.weights.assign(4, 0.0);
    double sum = 0;
    for (int b : w.active) sum += std::exp(z[std::size_t(b)]);
    for (int b : w.active) w.weights[std::size_t(b)] = std::exp(z[std::size_t(b)]) / sum;
    return w;
  };
  jaq::tensor<double> beta(jaq::shape{4});
  beta[0] = 0.4;
  beta[1] = -0.2;
  beta[2] = 0.1;
  beta[3] = 0.9;  // z: 0.41, -0.53, 0.71, 0.65: top-2 are 2 and 3, far from a tie
  for (bool top2 : {false, true}) {
    CAPTURE(top2);
    std::vector<jaq::tensor<double>> in;
    in.push_back(beta.clone());
    auto res =
        jaq::gradcheck([&](jaq::tape<double>& tp,
                           std::span<const jaq::var<double>> v) { return gumbel_mixture(tp, v[0], sample(v[0].value(), top2), tau); },
                       in);
    CHECK_MESSAGE(res.ok, res);
  }
  // and the library's own sampler gives these weights for this noise
  const std::vector<float> bf(beta.begin(), beta.end());
  const auto lib = gumbel_weights_from_noise(bf, noise, tau, sampling::top2);
  const auto mine = sample(beta, true);
  CHECK(lib.active == mine.active);
  for (int b = 0; b < 4; ++b) CHECK(lib.weights[std::size_t(b)] == doctest::Approx(mine.weights[std::size_t(b)]).epsilon(1e-6));
}

TEST_CASE("weighted_mix: finite differences without straight-through weights; with them d/dp = <g, y_j>") {
  jaq::rng r(3);
  std::vector<jaq::tensor<double>> in;
  for (int j = 0; j < 2; ++j) {
    jaq::tensor<double> y(jaq::shape{2, 3});
    for (auto& v : y) v = r.normal();
    in.push_back(std::move(y));
  }
  jaq::tensor<double> p(jaq::shape{3});
  p[0] = 0.2;
  p[1] = 0.5;
  p[2] = 0.3;
  in.push_back(std::move(p));
  auto res = jaq::gradcheck(
      [](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) {
        return weighted_mix(tp, {v[0], v[1]}, v[2], {.index = {2, 0}});
      },
      in);
  CHECK_MESSAGE(res.ok, res);

  jaq::tape<double> tp;
  auto y0 = tp.variable(in[0].clone());
  auto y1 = tp.variable(in[1].clone());
  auto pv = tp.variable(in[2].clone());
  auto y = weighted_mix(tp, {y0, y1}, pv, {.index = {1, 2}, .forward_weights = {1.0, 0.0}});
  for (std::int64_t i = 0; i < 6; ++i) CHECK(y.value()[i] == in[0][i]);
  tp.backward(total(tp, y));
  double d0 = 0, d1 = 0;
  for (std::int64_t i = 0; i < 6; ++i) {
    d0 += in[0][i];
    d1 += in[1][i];
    CHECK(y0.grad()[i] == 1.0);
  }
  CHECK(y1.grad().empty());  // weighted 0: no gradient flows to the second branch
  CHECK(pv.grad()[0] == 0.0);
  CHECK(pv.grad()[1] == doctest::Approx(d0));
  CHECK(pv.grad()[2] == doctest::Approx(d1));
}

TEST_CASE("supernet: shapes, and an architecture step reaches alpha of the two sampled operators and beta of the first") {
  jaq::rng gen(1), data(2);
  supernet<float> net({.space = tiny_space(), .csq = csq_config{.keep_percent = 50}}, gen);
  CHECK(net.num_blocks() == 2);
  CHECK(net.num_ops() == 9);
  CHECK(net.arch_parameters().size() == 2 + 2 * 9);
  const auto x = images(4, data);
  jaq::tape<float> tp;
  net.set_training(true);
  net.begin_epoch(0);
  net.begin_step(true);
  loss_of(net, tp, x, true);
  for (int b = 0; b < 2; ++b) {
    const auto& g = net.alpha(b).grad;
    REQUIRE(!g.empty());
    int nonzero = 0;
    for (float v : g) nonzero += v != 0.0f;
    CHECK(nonzero == 2);  // the top-2 operators
  }
  // weight step: every width of the first operator runs and gets a gradient through beta
  for (auto* p : net.arch_parameters()) p->zero_grad();
  net.begin_step(false);
  loss_of(net, tp, x, true);
  int betas_with_grad = 0;
  for (int b = 0; b < 2; ++b)
    for (int o = 0; o < 9; ++o) betas_with_grad += !net.beta(b, o).grad.empty() && norm(net.beta(b, o).grad) > 0;
  CHECK(betas_with_grad >= 1);
  CHECK(betas_with_grad <= 2);  // the first operator of each block (an identity skip has no width)
  // evaluation: arg-max path, logits (N, classes)
  net.set_training(false);
  tp.clear();
  auto logits = net.forward(tp, tp.constant(x.clone()));
  CHECK(logits.shape() == jaq::shape{4, 3});
}

TEST_CASE("supernet with separate_wa: beta drives the weights, beta_act the activations, both get gradients") {
  jaq::rng gen(1), data(2);
  space_config s = tiny_space();
  s.separate_wa = true;
  supernet<float> net({.space = s, .csq = csq_config{.keep_percent = 50}}, gen);
  CHECK(net.arch_parameters().size() == 2 + 2 * 9 + 2 * 9);
  const auto x = images(4, data);
  jaq::tape<float> tp;
  net.set_training(true);
  net.begin_epoch(0);
  for (bool arch : {false, true}) {
    for (auto* p : net.arch_parameters()) p->grad = jaq::tensor<float>{};
    net.begin_step(arch);
    loss_of(net, tp, x, true);
    int w = 0, a = 0;
    for (int b = 0; b < 2; ++b)
      for (int o = 0; o < 9; ++o) {
        w += !net.beta(b, o).grad.empty() && norm(net.beta(b, o).grad) > 0;
        a += !net.beta_act(b, o).grad.empty() && norm(net.beta_act(b, o).grad) > 0;
      }
    CAPTURE(arch);
    CHECK(w >= 1);
    CHECK(a >= 1);
  }
  net.alpha(0).value[3] = 1.0f;  // k3_e6, weights at 2 bits, activations at 4
  net.beta(0, 3).value[0] = 1.0f;
  net.beta_act(0, 3).value[2] = 1.0f;
  const derived_arch d = net.derived();
  CHECK(d.bits[0] == 2);
  CHECK(d.act_bits[0] == 4);
  // the derived path's output changes with the activation width alone
  net.set_training(false);
  tp.clear();
  const auto before = net.forward(tp, tp.constant(x.clone())).value().clone();
  net.beta_act(0, 3).value[0] = 2.0f;  // activations now at 2 bits
  tp.clear();
  const auto after = net.forward(tp, tp.constant(x.clone())).value().clone();
  double gap = 0;
  for (std::int64_t i = 0; i < before.size(); ++i) gap = std::max(gap, std::abs(double(before[i]) - after[i]));
  CHECK(gap > 0);
}

TEST_CASE("supernet: CSQ masks keep K% of each searched convolution's input channels") {
  jaq::rng gen(1);
  supernet<float> net({.space = tiny_space(), .csq = csq_config{.keep_percent = 25}}, gen);
  net.begin_epoch(0);
  for (const auto& entry : net.masks()) {
    const auto& name = entry.first;  // (CAPTURE's lambda cannot capture a structured binding before clang 16)
    const auto& m = entry.second;
    CAPTURE(name);
    CHECK(int(m.selected.size()) == kept_channels(m.channels(), 25));
  }
}

TEST_CASE("supernet: derived() is the arg-max operator and its arg-max width") {
  jaq::rng gen(1);
  supernet<float> net({.space = tiny_space()}, gen);
  net.alpha(0).value[6] = 2.0f;  // k5_e3
  net.beta(0, 6).value[2] = 1.0f;
  net.alpha(1).value[8] = 0.5f;  // skip
  net.beta(1, 8).value[1] = 0.7f;
  const derived_arch d = net.derived();
  CHECK(d.ops == std::vector<std::string>{"k5_e3", "skip"});
  CHECK(d.bits == std::vector<int>{4, 3});
}

TEST_CASE("supernet: state entries have unique names and a checkpoint restores the same evaluation output") {
  jaq::rng gen(1), data(5);
  supernet<float> net({.space = tiny_space()}, gen);
  const auto x = images(4, data);
  jaq::tape<float> tp;
  net.set_training(true);
  net.begin_step(false);
  loss_of(net, tp, x, false);  // initialises the activation steps
  auto st = net.state_entries();
  std::set<std::string> names;
  for (const auto& e : st) CHECK_MESSAGE(names.insert(e.name).second, e.name);
  net.set_training(false);
  tp.clear();
  const auto before = net.forward(tp, tp.constant(x.clone())).value().clone();
  const auto path = std::filesystem::temp_directory_path() / "jaq_supernet_test.jaqckpt";
  jaq::save_checkpoint(path, st);
  jaq::rng other(9);
  supernet<float> fresh({.space = tiny_space()}, other);
  jaq::load_checkpoint(path, fresh.state_entries());
  fresh.set_training(false);
  tp.clear();
  const auto after = fresh.forward(tp, tp.constant(x.clone())).value().clone();
  for (std::int64_t i = 0; i < before.size(); ++i) CHECK(after[i] == before[i]);
  std::filesystem::remove(path);
}

TEST_CASE("derived_net: every convolution is a site fed by its BatchNorm, widths per block, quantizable") {
  jaq::rng gen(1), data(2);
  const space_config s = tiny_space();
  derived_net<float> net(s, {.ops = {"k3_e3", "k5_e1_g2"}, .bits = {2, 3}}, gen);
  // stem, expand, depthwise, project, depthwise, project, head, fc
  CHECK(net.sites().size() == 8);
  for (std::size_t i = 1; i < net.sites().size(); ++i) CHECK_MESSAGE(net.sites()[i].input_bn != nullptr, net.sites()[i].layer->name);
  CHECK(net.layer_bits().size() == 6);
  CHECK(net.layer_bits()[0] == std::pair<std::string, int>{"blocks.0.k3_e3.expand", 2});
  CHECK(net.layer_bits()[4] == std::pair<std::string, int>{"blocks.1.k5_e1_g2.project", 3});
  jaq::quant::quantized_model<float> q(net, {.method = jaq::quant::method::lsq, .layer_bits = net.layer_bits()});
  jaq::tape<float> tp;
  auto logits = net.forward(tp, tp.constant(images(2, data)));
  CHECK(logits.shape() == jaq::shape{2, 3});
  CHECK_THROWS_AS(derived_net<float>(s, {.ops = {"k3_e3"}, .bits = {2}}, gen), jaq::config_error);
}

TEST_CASE("supernet: the derived path's BatchNorm statistics re-estimated on a batch give that batch's training-mode output") {
  jaq::rng gen(1), data(5);
  supernet<float> net({.space = tiny_space(), .csq = csq_config{.keep_percent = 50}}, gen);
  net.alpha(0).value[3] = 1.0f;  // k3_e6 in block 0, skip (a 1x1 conv: 4 -> 8 at stride 2) in block 1
  net.alpha(1).value[8] = 1.0f;
  net.beta(0, 3).value[1] = 1.0f;  // 3 bits
  const auto x = images(16, data);
  jaq::tape<float> tp;
  net.set_training(true);
  for (int s = 0; s < 3; ++s) {  // sampled paths move every running statistic
    net.begin_step(false);
    loss_of(net, tp, x, false);
  }
  const auto& other = *net.op(0, 0).batch_norms()[0];  // k3_e1: not on the path
  const std::vector<float> other_mean(other.state.running_mean.begin(), other.state.running_mean.end());

  net.use_derived_path(true);
  tp.clear();
  const auto train_out = net.forward(tp, tp.constant(x.clone())).value().clone();  // batch statistics
  net.use_derived_path(false);
  jaq::data::dataset ds{.name = "x", .shape = {.channels = 1, .height = 8, .width = 8}, .num_classes = 3, .images = {}, .labels = {}};
  // x is (C, N, H, W) with C = 1: image-major already
  ds.images.assign(x.begin(), x.end());
  for (std::int64_t i = 0; i < 16; ++i) ds.labels.push_back(std::int32_t(i % 3));

  net.set_training(false);
  tp.clear();
  const auto stale = net.forward(tp, tp.constant(x.clone())).value().clone();
  net.use_derived_path(true);
  jaq::nn::recalibrate_batch_norm(net, ds, {.batch_size = 16});
  net.use_derived_path(false);
  CHECK_FALSE(net.training());
  tp.clear();
  const auto fresh = net.forward(tp, tp.constant(x.clone())).value().clone();
  double gap_fresh = 0, gap_stale = 0;
  for (std::int64_t i = 0; i < fresh.size(); ++i) {
    gap_fresh = std::max(gap_fresh, std::abs(double(fresh[i]) - train_out[i]));
    gap_stale = std::max(gap_stale, std::abs(double(stale[i]) - train_out[i]));
  }
  // running variance is the unbiased one (m / (m - 1), m = 16 * 8 * 8 at the stem): a small gap
  CHECK(gap_fresh < 0.05);
  CHECK(gap_stale > 4 * gap_fresh);
  for (std::size_t c = 0; c < other_mean.size(); ++c) CHECK(other.state.running_mean[std::int64_t(c)] == other_mean[c]);
}

TEST_CASE("supernet: in full precision there are no step sizes or beta, and the derived path is the plain derived network") {
  jaq::rng gen(1), data(3);
  const space_config s = tiny_space();
  supernet<float> net({.space = s, .full_precision = true}, gen);
  CHECK(net.arch_parameters().size() == 2);  // alpha of each block alone
  for (auto* p : net.weight_parameters()) CHECK_MESSAGE(p->name.find("step") == std::string::npos, p->name);
  const auto x = images(4, data);
  jaq::tape<float> tp;
  net.set_training(true);
  net.begin_epoch(0);
  net.begin_step(true);
  loss_of(net, tp, x, true);
  for (int b = 0; b < 2; ++b) {
    int nonzero = 0;
    for (float v : net.alpha(b).grad) nonzero += v != 0.0f;
    CHECK(nonzero == 2);
    for (int o = 0; o < 9; ++o) CHECK(net.beta(b, o).grad.empty());
  }
  // the arg-max path in evaluation computes what derived_net computes with the same parameters
  net.alpha(0).value[3] = 1.0f;  // k3_e6
  net.alpha(1).value[6] = 1.0f;  // k5_e3
  jaq::rng other(7);
  derived_net<float> d(s, net.derived(), other);
  auto from = net.state_entries();
  for (const auto& e : d.state()) {
    const auto it = std::find_if(from.begin(), from.end(), [&](const auto& f) { return f.name == e.name; });
    REQUIRE_MESSAGE(it != from.end(), e.name);
    REQUIRE(it->value->shape() == e.value->shape());
    std::copy(it->value->begin(), it->value->end(), e.value->begin());
  }
  net.set_training(false);
  d.set_training(false);
  tp.clear();
  const auto a = net.forward(tp, tp.constant(x.clone())).value().clone();
  const auto b = d.forward(tp, tp.constant(x.clone())).value().clone();
  REQUIRE(a.shape() == b.shape());
  for (std::int64_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  jaq::rng g2(1);
  CHECK_THROWS_WITH_AS(supernet<float>({.space = s, .csq = csq_config{.keep_percent = 20}, .full_precision = true}, g2),
                       doctest::Contains("csq"), jaq::config_error);
}

TEST_CASE("supernet::initialize_layers sets every layer's steps at once and leaves the running statistics as they were") {
  jaq::rng gen(3), data(4);
  supernet<float> net({.space = tiny_space(), .csq = csq_config{.keep_percent = 50}}, gen);
  std::vector<jaq::tensor<float>> before;
  for (auto* bn : net.batch_norms()) before.push_back(bn->state.running_mean.clone());
  CHECK_FALSE(net.stem_quant().initialized());
  jaq::tape<float> tp;
  net.set_training(true);
  const auto x = images(4, data);
  net.initialize_layers(tp, tp.constant(x.clone()));
  CHECK(net.stem_quant().initialized());
  CHECK(net.head_quant().initialized());
  CHECK(net.fc_quant().initialized());
  int layers = 0;
  for (int b = 0; b < net.num_blocks(); ++b)
    for (int o = 0; o < net.num_ops(); ++o)
      for (std::size_t k = 0; k < net.op(b, o).convs().size(); ++k) {
        CHECK(net.layer(b, o, k).initialized());
        ++layers;
      }
  CHECK(layers > 2 * 9);
  for (std::size_t j = 0; j < before.size(); ++j)
    for (std::int64_t c = 0; c < before[j].size(); ++c) CHECK(net.batch_norms()[j]->state.running_mean[c] == before[j][c]);
  // the stem's input step is LSQ's initial step of the images: 2 mean|x| / sqrt(Q_P)
  std::vector<float> v(x.begin(), x.end());
  std::vector<jaq::parameter<float>*> steps;
  net.stem_quant().append_parameters(steps);
  const auto qp = jaq::quant::qrange::of(8, true, "stem").q_p;
  CHECK(steps[0]->value[0] == doctest::Approx(jaq::quant::lsq_init_step(v, qp)));
}
