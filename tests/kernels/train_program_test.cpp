// Tests of the device training engine's program (kernels/detail/train_program.hpp) on the CPU,
// through its host twin (kernels/host_trainer.hpp), against jaq's own engine:
// - hand-built nets of one convolution (grouped, strided, padded, depthwise, pointwise, odd
//   sizes) + batch norm + pool + linear against the same ops on a jaq tape: loss, every
//   gradient, and the parameters after the SGD update;
// - small-cnn and mbconv-small, full precision, LSQ and PACT 4-bit, bound from the jaq::nn models:
//   one step's loss, gradients and updated state, then 20 steps' loss curves and a smaller last
//   batch;
// - bad input: an unbound model, uninitialised quantizers, a label out of range, wrong sizes.
// On a GPU, //tests/kernels:gpu_test runs the same program on the device against this twin.
#include "kernels/host_trainer.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jaq/autograd/ops/batch_norm.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/ops/linear.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/quant/qconv2d.hpp"
#include "kernels/train_model.hpp"
#include "tests/kernels/train_cases.hpp"

namespace cu = jaq::cuda;
namespace tr = jaq::cuda::train;
using jaq_test::random_batch;
using jaq_test::rel_err;
using jaq_test::rel_err_floor;
using jaq_test::rms;

namespace {

struct conv_case {
  std::int64_t ci, co, k, stride, pad, groups, h, w, n;
};

void check_conv_case(const conv_case& cc, bool lsq) {
  CAPTURE(lsq);
  CAPTURE(cc.ci);
  CAPTURE(cc.co);
  CAPTURE(cc.k);
  CAPTURE(cc.stride);
  CAPTURE(cc.pad);
  CAPTURE(cc.groups);
  CAPTURE(cc.h);
  CAPTURE(cc.w);
  jaq::rng r(3);
  const std::int64_t oh = (cc.h + 2 * cc.pad - cc.k) / cc.stride + 1, ow = (cc.w + 2 * cc.pad - cc.k) / cc.stride + 1, classes = 5;
  // A first layer that reads a learned input (a conv on the image gets no input gradient, so a
  // 1x1 conv before it lets the input gradient of the layer under test be checked).
  tr::net nt;
  nt.values = {{cc.ci * cc.h * cc.w}, {cc.ci * cc.h * cc.w}, {cc.co * oh * ow}, {cc.co * oh * ow}, {cc.co}, {classes}};
  nt.params = {{"pre.w", cc.ci * cc.ci},   {"conv.w", cc.co * (cc.ci / cc.groups) * cc.k * cc.k},
               {"bn.gamma", cc.co},        {"bn.beta", cc.co},
               {"fc.w", classes * cc.co},  {"fc.b", classes},
               {"conv.act_step", 1, true}, {"conv.weight_step", cc.co, true}};
  nt.ops.push_back({.kind = tr::op_kind::conv,
                    .in = 0,
                    .out = 1,
                    .weight = 0,
                    .c_in = cc.ci,
                    .c_out = cc.ci,
                    .h = cc.h,
                    .w = cc.w,
                    .oh = cc.h,
                    .ow = cc.w});
  nt.ops.push_back({.kind = tr::op_kind::conv,
                    .in = 1,
                    .out = 2,
                    .weight = 1,
                    .c_in = cc.ci,
                    .c_out = cc.co,
                    .kernel = cc.k,
                    .stride = cc.stride,
                    .pad = cc.pad,
                    .groups = cc.groups,
                    .h = cc.h,
                    .w = cc.w,
                    .oh = oh,
                    .ow = ow});
  const jaq::quant::qrange ra = jaq::quant::qrange::of(4, true, "a"), rw = jaq::quant::qrange::of(4, true, "w");
  if (lsq)
    nt.ops.back().q = {.on = true,
                       .a_qn = ra.q_n,
                       .a_qp = ra.q_p,
                       .w_qn = rw.q_n,
                       .w_qp = rw.q_p,
                       .s_a = 6,
                       .s_w = 7,
                       .a_scale = jaq::quant::lsq_grad_scale(cc.ci * cc.h * cc.w, ra.q_p),
                       .w_scale = jaq::quant::lsq_grad_scale(cc.ci / cc.groups * cc.k * cc.k, rw.q_p)};
  nt.ops.push_back({.kind = tr::op_kind::batch_norm,
                    .in = 2,
                    .out = 3,
                    .weight = 2,
                    .bias = 3,
                    .stats = 0,
                    .c_in = cc.co,
                    .c_out = cc.co,
                    .h = oh,
                    .w = ow,
                    .act = tr::activation::relu6});
  nt.ops.push_back({.kind = tr::op_kind::global_avg_pool, .in = 3, .out = 4, .c_in = cc.co, .c_out = cc.co, .h = oh, .w = ow});
  nt.ops.push_back({.kind = tr::op_kind::linear, .in = 4, .out = 5, .weight = 4, .bias = 5, .c_in = cc.co, .c_out = classes});
  nt.bn_channels = {cc.co};
  nt.logits = 5;
  nt.classes = classes;

  // the same on a jaq tape
  std::vector<jaq::parameter<float>> ps(8);
  const std::vector<jaq::shape> shapes{
      {cc.ci, cc.ci, 1, 1}, {cc.co, cc.ci / cc.groups, cc.k, cc.k}, {cc.co}, {cc.co}, {classes, cc.co}, {classes}, {1}, {cc.co}};
  std::vector<float> flat;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    ps[i].name = nt.params[i].name;
    ps[i].value = jaq::tensor<float>(shapes[i]);
    for (auto& v : ps[i].value)
      v = static_cast<float>(i == 2 ? 1.0 + 0.2 * r.normal() : i >= 6 ? 0.1 + 0.02 * r.uniform() : 0.5 * r.normal());
    flat.insert(flat.end(), ps[i].value.begin(), ps[i].value.end());
  }
  auto state = jaq::batch_norm_state<float>::fresh(cc.co);
  const auto b = random_batch(r, cc.n, {cc.ci, cc.h, cc.w}, classes);
  jaq::tape<float> tp;
  auto x = tp.constant(jaq::nn::batch_tensor<float>(b));
  auto y = jaq::conv2d(tp, x, tp.param(ps[0]), {});
  const jaq::conv2d_options co{.stride = cc.stride, .padding = cc.pad, .groups = cc.groups};
  if (lsq)
    y = jaq::quant::qconv2d(tp, y, tp.param(ps[1]), tp.param(ps[6]), tp.param(ps[7]),
                            {.conv = co,
                             .act = {.bits = 4, .is_signed = true, .batch_axis = 1, .name = "conv.input"},
                             .weight = {.bits = 4, .is_signed = true, .per_channel = true, .name = "conv.weight"}});
  else
    y = jaq::conv2d(tp, y, tp.param(ps[1]), co);
  y = jaq::batch_norm(tp, y, tp.param(ps[2]), tp.param(ps[3]), state, {.training = true, .activation = jaq::fused_activation::relu6});
  y = jaq::linear(tp, jaq::global_avg_pool(tp, y), tp.param(ps[4]), tp.param(ps[5]));
  auto loss = jaq::cross_entropy(tp, y, std::span<const std::int32_t>(b.labels));
  const double cpu_loss = loss.value()[0];
  const std::int64_t cpu_correct = jaq::count_correct(y.value(), std::span<const std::int32_t>(b.labels));
  tp.backward(loss);

  cu::host_trainer t(nt, cc.n);
  std::vector<float> mom(flat.size(), 0.0f), run;
  run.insert(run.end(), state.running_mean.begin(), state.running_mean.end());  // updated by the CPU's forward: start fresh
  std::fill(run.begin(), run.end(), 0.0f);
  run.resize(2 * std::size_t(cc.co), 1.0f);
  REQUIRE(t.set_state(flat, mom, run).ok());
  tr::step_stats st;
  const jaq::tensor<float> xt = jaq::nn::batch_tensor<float>(b);
  REQUIRE(t.step(std::span<const float>(xt.data(), std::size_t(xt.size())), b.labels, 0.1f, {.momentum = 0.9f, .weight_decay = 0.01f}, st)
              .ok());
  CHECK(st.loss == doctest::Approx(cpu_loss).epsilon(1e-5));
  CHECK(st.correct == cpu_correct);
  std::vector<float> g(flat.size()), p(flat.size()), m2(flat.size()), r2(run.size());
  REQUIRE(t.get_grads(g).ok());
  REQUIRE(t.get_state(p, m2, r2).ok());
  std::int64_t at = 0;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    CAPTURE(ps[i].name);
    const std::int64_t n = ps[i].value.size();
    if (ps[i].grad.empty()) ps[i].grad = jaq::tensor<float>::zeros(ps[i].value.shape());  // steps unused without LSQ
    CHECK(rel_err(g.data() + at, ps[i].grad.data(), n) < 1e-4);
    // SGD from zero momentum: p' = p - lr (g + wd p), and the momentum is g + wd p
    std::vector<float> want(static_cast<std::size_t>(n)), want_m(static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) {
      want_m[std::size_t(k)] = ps[i].grad[k] + 0.01f * ps[i].value[k];
      want[std::size_t(k)] = ps[i].value[k] - 0.1f * want_m[std::size_t(k)];
    }
    CHECK(rel_err(p.data() + at, want.data(), n) < 1e-5);
    CHECK(rel_err(m2.data() + at, want_m.data(), n) < 1e-4);
    at += n;
  }
  CHECK(rel_err(r2.data(), state.running_mean.data(), cc.co) < 1e-5);
  CHECK(rel_err(r2.data() + cc.co, state.running_var.data(), cc.co) < 1e-5);
}

// ---- whole models ------------------------------------------------------------------------------

struct model_pair {
  jaq_test::test_model cpu, dev;
};

model_pair make_pair(const std::string& name, const std::string& method, const jaq::data::batch& first) {
  return {jaq_test::make_test_model(name, method, first, false), jaq_test::make_test_model(name, method, first, true)};
}

jaq::nn::step_result cpu_step(model_pair& mp, jaq::tape<float>& tp, const jaq::data::batch& b, std::int64_t s) {
  auto r = jaq::nn::train_step(*mp.cpu.model, *mp.cpu.opt, tp, b, s);
  if (mp.cpu.quant) mp.cpu.quant->project();
  return r;
}

/// `resync`: before each of steps 2-20 the device side starts from the CPU's state, and at most 2
/// of the 19 steps may miss curve_tol (by no more than 2e-2). min/max and DoReFa on mbconv-small
/// need it. A one-ulp change of the weights moves the CPU's own min/max loss curve by 6e-3 within
/// three steps there. And with batch 8, one quantized element at a rounding tie, which the two
/// engines' summation orders put on different sides, moves one step's loss by about 1e-3; with
/// other seeds LSQ and PACT do that too (measured). A free-running comparison would test that
/// chaos, not the engine; an engine error moves every step.
void check_model(const std::string& name, const std::string& method, double grad_tol, double curve_tol, bool resync = false) {
  CAPTURE(name);
  CAPTURE(method);
  jaq::rng r(5);
  const jaq::data::image_shape shape{1, 16, 16};
  const std::int64_t n = 8;
  std::vector<jaq::data::batch> batches;
  for (int i = 0; i < 20; ++i) batches.push_back(random_batch(r, n, shape, 10));
  model_pair mp = make_pair(name, method, batches[0]);
  // min/max inputs: the running ranges that evaluation reads came back from the trainer
  auto check_observers = [&](double tol) {
    if (!mp.cpu.quant) return;
    for (std::size_t i = 0; i < mp.cpu.quant->layers().size(); ++i) {
      const auto& c = mp.cpu.quant->observer(i);
      const auto& d = mp.dev.quant->observer(i);
      CAPTURE(mp.cpu.quant->layers()[i].name);
      CHECK(d.seen == c.seen);
      CHECK(d.running.lo == doctest::Approx(c.running.lo).epsilon(tol));
      CHECK(d.running.hi == doctest::Approx(c.running.hi).epsilon(tol));
    }
  };
  cu::model_trainer<cu::host_trainer> t(cu::bind_model(*mp.dev.model, mp.dev.quant.get(), shape), *mp.dev.opt, n);
  jaq::tape<float> tp;

  // one step: loss, every gradient, the updated state
  const auto rc = cpu_step(mp, tp, batches[0], 0);
  const auto rd = t.step(batches[0], 0);
  CHECK(rd.loss == doctest::Approx(rc.loss).epsilon(1e-5));
  CHECK(rd.correct == rc.correct);
  CHECK(rd.count == n);
  const auto& bound = t.bound();
  const auto cpu_params = mp.cpu.quant ? mp.cpu.quant->parameters(mp.cpu.model->parameters()) : mp.cpu.model->parameters();
  REQUIRE(cpu_params.size() == bound.params.size());
  std::vector<float> g(static_cast<std::size_t>(tr::param_elements(bound.net)));
  REQUIRE(t.trainer().get_grads(g).ok());
  t.sync_to_model();
  std::vector<const jaq::tensor<float>*> all_grads, all_means;
  for (const auto* p : cpu_params) all_grads.push_back(&p->grad);
  for (const auto* bn : mp.cpu.model->batch_norms()) all_means.push_back(&bn->state.running_mean);
  const double grad_floor = 1e-2 * rms(all_grads), mean_floor = 1e-2 * rms(all_means);
  std::int64_t at = 0;
  for (std::size_t k = 0; k < cpu_params.size(); ++k) {
    CAPTURE(cpu_params[k]->name);
    REQUIRE(cpu_params[k]->name == bound.params[k]->name);
    const std::int64_t sz = cpu_params[k]->value.size();
    if (cpu_params[k]->grad.empty())  // read by no op (min/max steps): no gradient on either side
      CHECK(std::all_of(g.begin() + at, g.begin() + at + sz, [](float v) { return v == 0.0f; }));
    else
      CHECK(rel_err_floor(g.data() + at, cpu_params[k]->grad.data(), sz, grad_floor) < grad_tol);
    CHECK(rel_err(bound.params[k]->value.data(), cpu_params[k]->value.data(), sz) < grad_tol);
    at += sz;
  }
  for (std::size_t j = 0; j < bound.bns.size(); ++j) {
    const auto* c = mp.cpu.model->batch_norms()[j];
    CAPTURE(c->name);
    CHECK(rel_err_floor(bound.bns[j]->state.running_mean.data(), c->state.running_mean.data(), c->channels(), mean_floor) < 1e-4);
    CHECK(rel_err(bound.bns[j]->state.running_var.data(), c->state.running_var.data(), c->channels()) < 1e-4);
  }
  CHECK(mp.dev.opt->steps() == mp.cpu.opt->steps());
  check_observers(1e-5);
  const auto cm = mp.cpu.opt->state(), dm = mp.dev.opt->state();
  for (std::size_t k = 1; k < cm.size(); ++k) {
    CAPTURE(cm[k].name);
    CHECK(rel_err_floor(dm[k].value->data(), cm[k].value->data(), cm[k].value->size(), grad_floor) < grad_tol);
  }

  // 19 more steps: the loss curves stay together
  int misses = 0;
  for (std::int64_t s = 1; s < 20; ++s) {
    CAPTURE(s);
    const double lr = 0.05 * (1.0 - double(s) / 20.0);
    mp.cpu.opt->set_lr(lr);
    mp.dev.opt->set_lr(lr);
    if (resync) {
      jaq_test::copy_state(mp.cpu, mp.dev);
      t.sync_from_model();
    }
    const auto a = cpu_step(mp, tp, batches[std::size_t(s)], s);
    const auto d = t.step(batches[std::size_t(s)], s);
    const double miss = std::fabs(d.loss - a.loss);
    if (!resync) {
      CHECK(miss <= curve_tol * std::max(1.0, a.loss));
    } else {
      CHECK(miss <= 2e-2);
      misses += miss > curve_tol * std::max(1.0, a.loss);
    }
  }
  CHECK(misses <= 2);
  // an epoch's last, smaller batch (5 of the trainer's 8 images), then the state once more
  const auto last = random_batch(r, 5, shape, 10);
  const auto a = cpu_step(mp, tp, last, 20), d = t.step(last, 20);
  CHECK(d.count == 5);
  CHECK(d.loss == doctest::Approx(a.loss).epsilon(curve_tol));
  t.sync_to_model();
  for (std::size_t k = 0; k < cpu_params.size(); ++k) {
    CAPTURE(cpu_params[k]->name);
    CHECK(rel_err(bound.params[k]->value.data(), cpu_params[k]->value.data(), cpu_params[k]->value.size()) < 1e-3);
  }
  check_observers(1e-3);
  if (method == std::string("minmax")) CHECK(mp.cpu.quant->observer(0).seen);  // the check above compared something
}

/// A model of the library's interface that the device engine has no binding for.
class other_model final : public jaq::nn::model<float> {
 public:
  jaq::nn::linear<float> fc;
  explicit other_model(jaq::rng& gen) : fc({.in_features = 256, .out_features = 10}, "fc", gen) { this->add_site(fc, nullptr, {&fc.bias}); }
  std::string name() const override { return "other"; }
  jaq::var<float> forward(jaq::tape<float>& tp, jaq::var<float> x) override { return fc.forward(tp, x); }
};

}  // namespace

TEST_CASE("one convolution layer: the host twin's step equals jaq's ops") {
  for (const conv_case& cc : std::vector<conv_case>{
           {4, 6, 3, 1, 1, 1, 7, 9, 3},  // dense 3x3, odd sizes
           {4, 6, 3, 2, 1, 2, 9, 8, 2},  // grouped, strided
           {3, 5, 5, 2, 2, 1, 9, 9, 2},  // 5x5, padding 2
           {6, 6, 3, 2, 0, 6, 8, 7, 3},  // depthwise, stride 2, no padding
           {6, 6, 5, 1, 2, 6, 7, 7, 2},  // depthwise 5x5
           {5, 7, 1, 1, 0, 1, 6, 5, 3},  // pointwise
           {4, 8, 1, 2, 0, 1, 7, 7, 2},  // 1x1 with stride: through im2col
       }) {
    check_conv_case(cc, false);
    check_conv_case(cc, true);
  }
}

TEST_CASE("small-cnn and mbconv-small, full precision and every quantizer at 4 bits: the host twin tracks jaq's engine") {
  for (const char* name : {"small-cnn", "mbconv-small"})
    for (const char* method : {"fp32", "lsq", "pact", "minmax", "dorefa"})
      check_model(name, method, 1e-4, 1e-4,
                  name == std::string("mbconv-small") && (method == std::string("minmax") || method == std::string("dorefa")));
}

TEST_CASE("bad input to the device engine is a clear error") {
  jaq::rng gen(1);
  const jaq::data::image_shape shape{1, 16, 16};
  SUBCASE("a model the engine does not run") {
    other_model m(gen);
    CHECK_THROWS_WITH_AS(cu::bind_model(m, nullptr, shape), doctest::Contains("device training engine runs small-cnn and mbconv-small"),
                         jaq::config_error);
  }
  SUBCASE("quantizers not initialised") {
    jaq::nn::small_cnn<float> m({}, gen);
    jaq::quant::quantized_model<float> q(m, {.method = jaq::quant::method::lsq});
    CHECK_THROWS_WITH_AS(cu::bind_model(m, &q, shape), doctest::Contains("conv1"), jaq::config_error);
  }
  SUBCASE("LSQ gradients scaled other than per example") {
    jaq::nn::small_cnn<float> m({}, gen);
    jaq::quant::quantized_model<float> q(m, {.method = jaq::quant::method::lsq, .count = jaq::quant::lsq_count::per_tensor});
    jaq::rng r(2);
    cu::initialize_quantizers(m, random_batch(r, 4, shape, 10), &q);
    CHECK_THROWS_WITH_AS(cu::bind_model(m, &q, shape), doctest::Contains("per example"), jaq::config_error);
  }
  SUBCASE("labels and state of the wrong size or range") {
    jaq::nn::small_cnn<float> m({}, gen);
    cu::host_trainer t(cu::bind_model(m, nullptr, shape).net, 4);
    std::vector<float> img(4 * 256, 0.5f);
    tr::step_stats st;
    const auto bad = t.step(img, std::vector<std::int32_t>{0, 1, 10, 2}, 0.1f, {}, st);
    CHECK_FALSE(bad.ok());
    CHECK(bad.message.find("label 10 of image 2") != std::string::npos);
    CHECK_FALSE(t.step(img, std::vector<std::int32_t>{0, 1, 2, 3, 4}, 0.1f, {}, st).ok());  // 5 labels, 4 images
    std::vector<float> p(3), mo(3), ru(3);
    const auto sz = t.set_state(p, mo, ru);
    CHECK_FALSE(sz.ok());
    CHECK(sz.message.find("for a net of") != std::string::npos);
  }
}
