// Tests of the device training program's search ops (kernels/detail/train_mixed.hpp, the mix and
// channel_shuffle ops of train_program.hpp) on the CPU, through the host twin, against jaq's
// own engine on a tape:
// - mixed_conv against jaq::nas::mixed_conv2d inside a small net: dense 3x3 (stride 1 and 2, odd
//   sizes), pointwise, depthwise 3x3 and 5x5 (stride 2, padding 2); CSQ masks of some, all and no
//   channels; every width active (a weight step's soft mixture) or two (top-2); separate weight
//   widths. Checked: the loss, every parameter's gradient, the mixture weights' gradients, and
//   the SGD update, which leaves the steps of a width whose mixture weight is 0 alone;
// - two sampled operators mixed straight through (jaq::nas::weighted_mix with forward weights
//   {1, 0}), the second run forward only, a channel shuffle in the first, a third never run;
// - bad plans, masks and nets.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jaq/autograd/ops/batch_norm.hpp"
#include "jaq/autograd/ops/channel_shuffle.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/ops/linear.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/mixed_conv.hpp"
#include "kernels/host_trainer.hpp"
#include "tests/kernels/search_cases.hpp"
#include "tests/kernels/train_cases.hpp"

namespace cu = jaq::cuda;
namespace tr = jaq::cuda::train;
using jaq_test::random_batch;
using jaq_test::rel_err;
using jaq_test::rel_err_floor;

namespace {

using jaq_test::add_widths;
using jaq_test::kBits;
using jaq_test::param_set;
constexpr float kLr = 0.1f, kWd = 0.01f, kMom = 0.9f;

/// After one step from zero momentum: p' = p - lr (g + wd p) where the CPU gave a gradient, p
/// where it gave none (the optimizer skipped it).
void check_update(const param_set& s, const std::vector<float>& dev_grads, const std::vector<float>& dev_params,
                  const std::vector<float>& dev_mom) {
  std::int64_t at = 0;
  for (const auto& p : s.ps) {
    CAPTURE(p.name);
    const std::int64_t n = p.value.size();
    const bool has = !p.grad.empty();
    std::vector<float> want(static_cast<std::size_t>(n)), want_m(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n), 0.0f);
    for (std::int64_t k = 0; k < n; ++k) {
      if (has) g[std::size_t(k)] = p.grad[k];
      want_m[std::size_t(k)] = has ? p.grad[k] + kWd * p.value[k] : 0.0f;
      want[std::size_t(k)] = has ? p.value[k] - kLr * want_m[std::size_t(k)] : p.value[k];
      if (has && p.name.find("step") != std::string::npos) want[std::size_t(k)] = std::max(want[std::size_t(k)], 1e-6f);
    }
    CHECK(rel_err_floor(dev_grads.data() + at, g.data(), n, 1e-7) < 1e-4);
    CHECK(rel_err_floor(dev_params.data() + at, want.data(), n, 1e-7) < 1e-5);
    CHECK(rel_err_floor(dev_mom.data() + at, want_m.data(), n, 1e-7) < 1e-4);
    if (!has)  // untouched: exactly as it was
      for (std::int64_t k = 0; k < n; ++k) REQUIRE(dev_params[std::size_t(at + k)] == p.value[k]);
    at += n;
  }
}

struct mixed_case {
  std::int64_t ci, co, k, stride, pad, h, n;
  bool depthwise;
};

/// image -> 1x1 conv -> mixed_conv -> BN+ReLU -> pool -> linear, against the same on a tape.
void check_mixed(const mixed_case& mc, const std::vector<int>& selected, const std::vector<float>& pv, const std::vector<float>& pwv) {
  CAPTURE(mc.ci);
  CAPTURE(mc.co);
  CAPTURE(mc.k);
  CAPTURE(mc.stride);
  CAPTURE(mc.depthwise);
  CAPTURE(selected.size());
  CAPTURE(pv[0]);
  CAPTURE(pwv.size());
  jaq::rng r(7);
  const bool separate = !pwv.empty();
  const std::int64_t nb = std::int64_t(kBits.size()), classes = 5;
  const std::int64_t co = mc.depthwise ? mc.ci : mc.co, cin_w = mc.depthwise ? 1 : mc.ci;
  const std::int64_t oh = (mc.h + 2 * mc.pad - mc.k) / mc.stride + 1;
  tr::net nt;
  param_set s;
  const int pre = s.add(nt, "pre.w", {mc.ci, mc.ci, 1, 1});
  const int w = s.add(nt, "conv.w", {co, cin_w, mc.k, mc.k});
  const int gamma = s.add(nt, "bn.gamma", {co});
  const int beta = s.add(nt, "bn.beta", {co});
  const int fcw = s.add(nt, "fc.w", {classes, co});
  const int fcb = s.add(nt, "fc.b", {classes});
  std::vector<int> sa, sw;
  for (int b : kBits) {  // mixed_layer's order: each width's input step, then its weight step
    sa.push_back(s.add(nt, "conv.act_step." + std::to_string(b) + "b", {1}, true));
    sw.push_back(s.add(nt, "conv.weight_step." + std::to_string(b) + "b", {co}, true));
  }
  for (auto& p : s.ps) {
    const bool is_gamma = p.name == "bn.gamma";
    for (auto& v : p.value) v = static_cast<float>(is_gamma ? 1.0 + 0.2 * r.normal() : 0.5 * r.normal());
  }
  for (std::int64_t b = 0; b < nb; ++b) {  // LSQ-like steps: 2 mean|v| / sqrt(Q_P)
    const auto ra = jaq::quant::qrange::of(kBits[std::size_t(b)], true, "a");
    s.ps[std::size_t(sa[std::size_t(b)])].value[0] = float(2.0 * 1.0 / std::sqrt(double(ra.q_p)) * (1 + 0.1 * r.uniform()));
    for (auto& v : s.ps[std::size_t(sw[std::size_t(b)])].value) v = float(2.0 * 0.4 / std::sqrt(double(ra.q_p)) * (1 + 0.1 * r.uniform()));
  }

  nt.values = {{mc.ci * mc.h * mc.h}, {mc.ci * mc.h * mc.h}, {co * oh * oh}, {co * oh * oh}, {co}, {classes}};
  nt.ops.push_back({.kind = tr::op_kind::conv,
                    .in = 0,
                    .out = 1,
                    .weight = pre,
                    .c_in = mc.ci,
                    .c_out = mc.ci,
                    .h = mc.h,
                    .w = mc.h,
                    .oh = mc.h,
                    .ow = mc.h,
                    .name = "pre"});
  tr::op m{.kind = tr::op_kind::mixed_conv,
           .in = 1,
           .out = 2,
           .weight = w,
           .c_in = mc.ci,
           .c_out = co,
           .kernel = mc.k,
           .stride = mc.stride,
           .pad = mc.pad,
           .groups = mc.depthwise ? mc.ci : 1,
           .h = mc.h,
           .w = mc.h,
           .oh = oh,
           .ow = oh,
           .name = "conv"};
  for (std::int64_t b = 0; b < nb; ++b) {
    const auto g = jaq::quant::qrange::of(kBits[std::size_t(b)], true, "g");  // the input is signed
    m.mixed.widths.push_back(
        {.a_qn = g.q_n, .a_qp = g.q_p, .w_qn = g.q_n, .w_qp = g.q_p, .s_a = sa[std::size_t(b)], .s_w = sw[std::size_t(b)]});
  }
  m.mixed.p = 0;
  m.mixed.pw = separate ? int(nb) : -1;
  for (int c : selected) m.mixed.selected.push_back(c);
  nt.ops.push_back(m);
  nt.ops.push_back({.kind = tr::op_kind::batch_norm,
                    .in = 2,
                    .out = 3,
                    .weight = gamma,
                    .bias = beta,
                    .stats = 0,
                    .c_in = co,
                    .c_out = co,
                    .h = oh,
                    .w = oh,
                    .act = tr::activation::relu});
  nt.ops.push_back({.kind = tr::op_kind::global_avg_pool, .in = 3, .out = 4, .c_in = co, .c_out = co, .h = oh, .w = oh});
  nt.ops.push_back({.kind = tr::op_kind::linear, .in = 4, .out = 5, .weight = fcw, .bias = fcb, .c_in = co, .c_out = classes});
  nt.bn_channels = {co};
  nt.logits = 5;
  nt.classes = classes;
  nt.mixtures = separate ? 2 * nb : nb;

  // the tape
  const auto bt = random_batch(r, mc.n, {mc.ci, mc.h, mc.h}, std::int32_t(classes));
  const std::vector<float> before = s.flat();
  auto state = jaq::batch_norm_state<float>::fresh(co);
  jaq::tape<float> tp;
  auto x = tp.constant(jaq::nn::batch_tensor<float>(bt));
  auto y = jaq::conv2d(tp, x, tp.param(s.ps[std::size_t(pre)]), {});
  auto vec = [&](const std::vector<float>& v) {
    jaq::tensor<float> t(jaq::shape{std::int64_t(v.size())});
    for (std::size_t k = 0; k < v.size(); ++k) t[std::int64_t(k)] = v[k];
    return tp.variable(std::move(t));
  };
  auto p = vec(pv);
  std::optional<jaq::var<float>> pw;
  if (separate) pw = vec(pwv);
  std::vector<jaq::var<float>> sav, swv;
  for (std::int64_t b = 0; b < nb; ++b) {
    sav.push_back(tp.param(s.ps[std::size_t(sa[std::size_t(b)])]));
    swv.push_back(tp.param(s.ps[std::size_t(sw[std::size_t(b)])]));
  }
  std::vector<char> flags(std::size_t(mc.ci), 0);
  for (int c : selected) flags[std::size_t(c)] = 1;
  const auto mask = jaq::nas::channel_mask::from_flags(flags, mc.ci);
  const jaq::nas::mixed_conv_spec spec{.conv = {.stride = mc.stride, .padding = mc.pad, .groups = mc.depthwise ? mc.ci : 1},
                                       .bits = kBits,
                                       .act_signed = true,
                                       .name = "conv"};
  y = jaq::nas::mixed_conv2d(tp, y, tp.param(s.ps[std::size_t(w)]), p, sav, swv, mask, spec, pw);
  y = jaq::batch_norm(tp, y, tp.param(s.ps[std::size_t(gamma)]), tp.param(s.ps[std::size_t(beta)]), state,
                      {.training = true, .activation = jaq::fused_activation::relu});
  y = jaq::linear(tp, jaq::global_avg_pool(tp, y), tp.param(s.ps[std::size_t(fcw)]), tp.param(s.ps[std::size_t(fcb)]));
  auto loss = jaq::cross_entropy(tp, y, std::span<const std::int32_t>(bt.labels));
  const double cpu_loss = loss.value()[0];
  tp.backward(loss);

  // the program
  cu::host_trainer t(nt, mc.n);
  const std::vector<float> zeros(before.size(), 0.0f);
  std::vector<float> run(2 * std::size_t(co), 0.0f);
  std::fill(run.begin() + co, run.end(), 1.0f);
  REQUIRE(t.set_state(before, zeros, run).ok());
  tr::step_plan plan;
  plan.mixture = pv;
  plan.mixture.insert(plan.mixture.end(), pwv.begin(), pwv.end());
  const jaq::tensor<float> xt = jaq::nn::batch_tensor<float>(bt);
  tr::step_stats st;
  REQUIRE(
      t.step(std::span<const float>(xt.data(), std::size_t(xt.size())), bt.labels, kLr, {.momentum = kMom, .weight_decay = kWd}, plan, st)
          .ok());
  CHECK(st.loss == doctest::Approx(cpu_loss).epsilon(1e-5));
  std::vector<float> g(before.size()), after(before.size()), mom(before.size()), r2(run.size()), gm(plan.mixture.size());
  REQUIRE(t.get_grads(g).ok());
  REQUIRE(t.get_state(after, mom, r2).ok());
  REQUIRE(t.get_mixture_grads(gm).ok());
  check_update(s, g, after, mom);
  CHECK(rel_err(gm.data(), p.grad().data(), nb) < 1e-4);
  if (separate) CHECK(rel_err(gm.data() + nb, pw->grad().data(), nb) < 1e-4);
  CHECK(rel_err(r2.data(), state.running_mean.data(), co) < 1e-5);
  CHECK(rel_err(r2.data() + co, state.running_var.data(), co) < 1e-5);
}

const std::vector<float> kSoft{0.1f, 0.2f, 0.3f, 0.4f};
const std::vector<float> kTop2{0.0f, 0.35f, 0.0f, 0.65f};

}  // namespace

TEST_CASE("mixed_conv: dense, against jaq::nas::mixed_conv2d") {
  const mixed_case dense3{.ci = 6, .co = 5, .k = 3, .stride = 1, .pad = 1, .h = 7, .n = 3, .depthwise = false};
  for (const auto& sel : std::vector<std::vector<int>>{{1, 4}, {0, 1, 2, 3, 4, 5}, {}}) {
    check_mixed(dense3, sel, kSoft, {});
    check_mixed(dense3, sel, kTop2, {});
  }
  check_mixed({.ci = 5, .co = 4, .k = 3, .stride = 2, .pad = 1, .h = 9, .n = 2, .depthwise = false}, {0, 3}, kSoft, {});
  check_mixed({.ci = 6, .co = 7, .k = 1, .stride = 1, .pad = 0, .h = 5, .n = 3, .depthwise = false}, {2, 3, 5}, kTop2, {});
}

TEST_CASE("mixed_conv: depthwise, against jaq::nas::mixed_conv2d") {
  const mixed_case dw3{.ci = 6, .co = 6, .k = 3, .stride = 1, .pad = 1, .h = 7, .n = 3, .depthwise = true};
  check_mixed(dw3, {1, 4}, kSoft, {});
  check_mixed(dw3, {0, 1, 2, 3, 4, 5}, kTop2, {});
  check_mixed(dw3, {}, kSoft, {});
  check_mixed({.ci = 5, .co = 5, .k = 5, .stride = 2, .pad = 2, .h = 9, .n = 2, .depthwise = true}, {0, 2, 4}, kTop2, {});
}

TEST_CASE("mixed_conv: separate weight widths") {
  const std::vector<float> pw{0.4f, 0.0f, 0.25f, 0.35f};
  check_mixed({.ci = 6, .co = 5, .k = 3, .stride = 1, .pad = 1, .h = 7, .n = 3, .depthwise = false}, {1, 4}, kTop2, pw);
  check_mixed({.ci = 6, .co = 5, .k = 3, .stride = 2, .pad = 1, .h = 7, .n = 2, .depthwise = false}, {0, 1, 2, 3, 4, 5}, kSoft, kSoft);
  check_mixed({.ci = 6, .co = 6, .k = 3, .stride = 1, .pad = 1, .h = 7, .n = 3, .depthwise = true}, {2, 5}, kSoft, pw);
}

// Block-like: operator A (a mixed 1x1 conv, BN, channel shuffle) trains; operator B (3x3 conv,
// BN) runs forward only, weighted 0 in value; operator C is not sampled. As nas::supernet's
// block_train: weighted_mix({A, B}, p, {.index = {2, 0}, .forward_weights = {1, 0}}).
TEST_CASE("mix: two sampled operators straight through, one forward only, one skipped") {
  jaq::rng r(9);
  jaq_test::search_block sb = jaq_test::make_search_block(r);
  param_set& s = sb.s;
  const tr::net& nt = sb.nt;
  constexpr std::int64_t c = jaq_test::search_block::c, h = jaq_test::search_block::h, classes = jaq_test::search_block::classes, n = 3;
  const int pre = sb.pre, aw = sb.aw, ag = sb.ag, ab = sb.ab, bw = sb.bw, bg = sb.bg, bb = sb.bb, fcw = sb.fcw, fcb = sb.fcb;
  const auto& widths = sb.widths;
  const std::vector<float>& op_p = sb.op_p;
  const auto bt = random_batch(r, n, {c, h, h}, std::int32_t(classes));
  const std::vector<float> before = s.flat();
  auto sa_state = jaq::batch_norm_state<float>::fresh(c), sb_state = jaq::batch_norm_state<float>::fresh(c);
  jaq::tape<float> tp;
  auto P = [&](int i) { return tp.param(s.ps[std::size_t(i)]); };
  auto vec = [&](const std::vector<float>& v) {
    jaq::tensor<float> t(jaq::shape{std::int64_t(v.size())});
    for (std::size_t k = 0; k < v.size(); ++k) t[std::int64_t(k)] = v[k];
    return tp.variable(std::move(t));
  };
  auto x = jaq::conv2d(tp, tp.constant(jaq::nn::batch_tensor<float>(bt)), P(pre), {});
  auto pa = vec(sb.width_p);
  std::vector<jaq::var<float>> sav, swv;
  for (const auto& w : widths) {
    sav.push_back(P(w.s_a));
    swv.push_back(P(w.s_w));
  }
  std::vector<char> flags{0, 1, 1, 0};
  auto ya = jaq::nas::mixed_conv2d(tp, x, P(aw), pa, sav, swv, jaq::nas::channel_mask::from_flags(flags, c),
                                   {.bits = kBits, .act_signed = true, .name = "a"});
  ya = jaq::batch_norm(tp, ya, P(ag), P(ab), sa_state, {.training = true, .activation = jaq::fused_activation::relu});
  ya = jaq::channel_shuffle(tp, ya, 2);
  tp.set_grad_enabled(false);
  auto yb = jaq::conv2d(tp, x, P(bw), {.padding = 1});
  yb = jaq::batch_norm(tp, yb, P(bg), P(bb), sb_state, {.training = true});
  tp.set_grad_enabled(true);
  auto pop = vec(op_p);
  auto y = jaq::nas::weighted_mix(tp, {ya, yb}, pop, {.index = {2, 0}, .forward_weights = {1.0, 0.0}});
  y = jaq::linear(tp, jaq::global_avg_pool(tp, y), P(fcw), P(fcb));
  auto loss = jaq::cross_entropy(tp, y, std::span<const std::int32_t>(bt.labels));
  const double cpu_loss = loss.value()[0];
  tp.backward(loss);

  cu::host_trainer t(nt, n);
  const std::vector<float> zeros(before.size(), 0.0f);
  const std::vector<float> run = sb.running();
  REQUIRE(t.set_state(before, zeros, run).ok());
  tr::step_plan plan = sb.plan();
  const jaq::tensor<float> xt = jaq::nn::batch_tensor<float>(bt);
  tr::step_stats st;
  REQUIRE(
      t.step(std::span<const float>(xt.data(), std::size_t(xt.size())), bt.labels, kLr, {.momentum = kMom, .weight_decay = kWd}, plan, st)
          .ok());
  CHECK(st.loss == doctest::Approx(cpu_loss).epsilon(1e-5));
  std::vector<float> g(before.size()), after(before.size()), mom(before.size()), r2(run.size()), gm(plan.mixture.size());
  REQUIRE(t.get_grads(g).ok());
  REQUIRE(t.get_state(after, mom, r2).ok());
  REQUIRE(t.get_mixture_grads(gm).ok());
  check_update(s, g, after, mom);
  CHECK(rel_err(gm.data(), pop.grad().data(), 3) < 1e-4);
  CHECK(gm[7] == 0.0f);  // the straight-through constants get no gradient
  CHECK(gm[8] == 0.0f);
  CHECK(gm[1] == 0.0f);  // an operator not sampled
  CHECK(rel_err(gm.data() + 3, pa.grad().data(), 4) < 1e-4);
  CHECK(rel_err(r2.data(), sa_state.running_mean.data(), c) < 1e-5);
  CHECK(rel_err(r2.data() + c, sa_state.running_var.data(), c) < 1e-5);
  CHECK(rel_err(r2.data() + 2 * c, sb_state.running_mean.data(), c) < 1e-5);  // forward-only: statistics still kept
  CHECK(rel_err(r2.data() + 3 * c, sb_state.running_var.data(), c) < 1e-5);

  // an architecture step: gradients, the mixture's among them, and nothing updated
  plan.update = false;
  REQUIRE(
      t.step(std::span<const float>(xt.data(), std::size_t(xt.size())), bt.labels, kLr, {.momentum = kMom, .weight_decay = kWd}, plan, st)
          .ok());
  std::vector<float> after2(before.size()), mom2(before.size()), g2(before.size()), gm2(gm.size());
  REQUIRE(t.get_state(after2, mom2, r2).ok());
  REQUIRE(t.get_grads(g2).ok());
  REQUIRE(t.get_mixture_grads(gm2).ok());
  CHECK(after2 == after);
  CHECK(mom2 == mom);
  CHECK(rel_err(g2.data(), g.data(), std::int64_t(g.size())) > 0);  // a new step's gradients (the weights moved)
  CHECK(gm2[2] != 0.0f);
}

TEST_CASE("search ops: bad plans, masks and nets are errors naming what is wrong") {
  jaq::rng r(1);
  tr::net nt;
  param_set s;
  const int w = s.add(nt, "w", {3, 3, 1, 1});
  nt.values = {{3 * 4 * 4}, {3 * 4 * 4}, {3}, {2}};
  tr::op m{.kind = tr::op_kind::mixed_conv,
           .in = 0,
           .out = 1,
           .weight = w,
           .c_in = 3,
           .c_out = 3,
           .h = 4,
           .w = 4,
           .oh = 4,
           .ow = 4,
           .name = "l"};
  m.mixed = {.widths = add_widths(nt, s, "l", 3, r), .p = 0, .pw = -1, .selected = {0}};
  const int fw = s.add(nt, "fc.w", {2, 3});
  const int fb = s.add(nt, "fc.b", {2});
  nt.ops = {m,
            {.kind = tr::op_kind::global_avg_pool, .in = 1, .out = 2, .c_in = 3, .c_out = 3, .h = 4, .w = 4},
            {.kind = tr::op_kind::linear, .in = 2, .out = 3, .weight = fw, .bias = fb, .c_in = 3, .c_out = 2}};
  nt.logits = 3;
  nt.classes = 2;
  nt.mixtures = 4;
  {
    tr::net bad = nt;
    bad.mixtures = 3;
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("op 'l': its width mixture lies outside"));
    bad = nt;
    bad.ops[0].groups = 3;
    bad.ops[0].c_out = 3;
    CHECK_NOTHROW(cu::host_trainer(bad, 2));  // depthwise is fine
    bad.ops[0].c_in = 6;
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("dense or depthwise"));
    bad = nt;
    bad.ops[0].mixed.selected = {2, 3};
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("its mask's channel 3 at 1"));
    bad = nt;
    bad.ops[0].mixed.widths[1].s_w = w;
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("weight step of 3"));
  }
  cu::host_trainer t(nt, 2);
  const std::vector<float> img(2 * 3 * 16, 0.5f);
  const std::vector<std::int32_t> labels{0, 1};
  tr::step_stats st;
  const auto plain = t.step(img, labels, 0.1f, {}, st);
  CHECK(!plain.ok());
  CHECK(plain.message.find("needs a step plan") != std::string::npos);
  tr::step_plan plan{.mixture = {0.5f, 0.5f, 0.0f}};
  {
    tr::net bad = nt;
    bad.ops.push_back({.kind = tr::op_kind::mix, .out = 1, .mix = {.inputs = {1, 2}, .index = {0, 1}, .c = 3, .p = 0}});
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("branch weights lie outside"));
    bad.ops.back().mix.c = 0;
    CHECK_THROWS_WITH(cu::host_trainer(bad, 2), doctest::Contains("not a value of the output's size"));
  }
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).message.find("3 mixture weights for a net of 4") != std::string::npos);
  plan.mixture = {0.5f, NAN, 0.0f, 0.0f};
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).message.find("mixture weight 1 is nan") != std::string::npos);
  plan.mixture = {0.5f, -1.0f, 0.0f, 0.0f};
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).message.find("-1 is only for a mix's branches") != std::string::npos);
  plan.mixture = {0.5f, -0.5f, 0.0f, 0.0f};
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).message.find("or -1 for a branch not run") != std::string::npos);
  plan.mixture = {0.5f, 0.5f, 0.0f, 0.0f};
  plan.run = {tr::run_mode::train};
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).message.find("1 run modes for 3 ops") != std::string::npos);
  plan.run.clear();
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).ok());
  const std::vector<std::int32_t> unsorted{2, 1}, outside{3}, fine{0, 2};
  CHECK(t.set_mask(0, unsorted).message.find("channel 1 at 1") != std::string::npos);
  CHECK(t.set_mask(0, outside).message.find("channel 3 at 0") != std::string::npos);
  CHECK(t.set_mask(1, fine).message.find("op 1 is not a mixed convolution") != std::string::npos);
  CHECK(t.set_mask(0, fine).ok());
  CHECK(t.step(img, labels, 0.1f, {}, plan, st).ok());
  std::vector<float> gm(3);
  CHECK(!t.get_mixture_grads(gm).ok());
}
