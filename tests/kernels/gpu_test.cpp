// Every CUDA kernel against the CPU path, on random inputs (needs a GPU: tagged gpu and manual;
// tools/device_check.sh builds and runs it on a GPU machine without Bazel).
//   - BatchTile: cuda::map_layers / map_grid == batchtile's, field for field (integers exact,
//     energies equal as doubles), every dataflow, errors in the same order.
//   - fake quantization: forward values and input gradients bit-identical to the CPU's scalar
//     definitions; step-size and clip gradients within 1e-12 relative of the CPU's double sums.
//   - the training engine: device_trainer against its host twin (which train_program_test checks
//     against jaq's engine) on small-cnn and mbconv-small, fp32, LSQ and PACT 4-bit: the first
//     step's loss, hits (within one: a near-tie of logits) and every gradient, and 20 steps' loss
//     curves and final parameters. cuBLAS sums its products in another order than the twin's
//     loops, so these agree to float rounding carried through a network (stated bounds below),
//     not bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hwgen/objective.hpp"
#include "jaq/hwgen/search_space.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/minmax.hpp"
#include "jaq/quant/pact.hpp"
#include "kernels/batchtile.hpp"
#include "kernels/csq.hpp"
#include "kernels/device.hpp"
#include "kernels/fake_quant.hpp"
#include "kernels/host_trainer.hpp"
#include "kernels/train.hpp"
#include "kernels/train_model.hpp"
#include "kernels/train_search_model.hpp"
#include "kernels/train_supernet.hpp"
#include "tests/batchtile/random_cases.hpp"
#include "tests/kernels/search_cases.hpp"
#include "tests/kernels/train_cases.hpp"

namespace bt = jaq::batchtile;
namespace cu = jaq::cuda;
namespace hw = jaq::hw;
namespace q = jaq::quant;

namespace {

bool have_gpu() {
  const cu::device_probe pr = cu::probe();
  if (pr.count == 0) MESSAGE("skipped: " << pr.reason);
  return pr.count > 0;
}

std::vector<float> random_floats(jaq::rng& g, std::size_t n, float scale) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>((g.uniform() * 2.0 - 1.0) * scale);
  return v;
}

template <class T>
cu::device_array<T> to_device(const std::vector<T>& h) {
  cu::device_array<T> d(h.size());
  cu::check(d.upload(h));
  return d;
}

template <class T>
std::vector<T> to_host(const cu::device_array<T>& d) {
  std::vector<T> h(d.size());
  cu::check(d.download(h));
  return h;
}

template <class Flow>
void check_grid(std::uint64_t seed) {
  jaq::rng g(seed);
  std::vector<hw::accel_config> configs;
  for (int c = 0; c < 8; ++c) configs.push_back(bt::testing::random_config(g));
  std::vector<hw::layer> layers;
  for (int i = 0; i < 40; ++i) layers.push_back(bt::testing::random_layer(g, i));
  bt::map_stats s_cpu, s_gpu;
  const auto cpu = bt::map_grid<hw::bitfusion<>, Flow>(jaq::tbb_backend{}, configs, layers, nullptr, &s_cpu);
  const auto gpu = cu::map_grid<hw::bitfusion<>, Flow>(jaq::cuda_backend{}, configs, layers, nullptr, &s_gpu);
  REQUIRE(gpu.size() == cpu.size());
  for (std::size_t c = 0; c < cpu.size(); ++c)
    for (std::size_t l = 0; l < layers.size(); ++l) {
      CAPTURE(configs[c]);
      CAPTURE(layers[l]);
      CHECK(gpu[c][l] == cpu[c][l]);
    }
  CHECK(s_gpu.candidates == s_cpu.candidates);
}

}  // namespace

TEST_CASE("BatchTile on the GPU == BatchTile on the CPU: ResNet-18 rows at batch 1 and 16") {
  if (!have_gpu()) return;
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  for (int batch : {1, 16}) {
    const auto net = hw::networks::resnet18({.batch = batch, .precision = {.iprec = 4, .wprec = 4}});
    const std::vector<hw::layer> layers(net.begin(), net.end());
    const auto cpu = bt::map_layers(jaq::tbb_backend{}, cfg, std::span<const hw::layer>(layers), em);
    const auto gpu = cu::map_layers(jaq::cuda_backend{}, cfg, std::span<const hw::layer>(layers), em);
    CHECK(gpu == cpu);
  }
}

TEST_CASE("BatchTile on the GPU == CPU on random configurations x layers, every dataflow, one launch each") {
  if (!have_gpu()) return;
  check_grid<hw::proxy_stationary>(31);
  check_grid<hw::input_stationary>(32);
  check_grid<hw::output_stationary>(33);
  check_grid<hw::weight_stationary>(34);
}

TEST_CASE("the hardware generator's scores on the GPU equal the CPU's (the seam, through hwgen)") {
  if (!have_gpu()) return;
  const auto layers = hw::networks::search_space_22({.batch = 1, .precision = {.iprec = 4, .wprec = 4}});
  const jaq::hwgen::cost_evaluator ev(layers, {.area_budget_mm2 = 3});
  const jaq::hwgen::search_space space = jaq::hwgen::default_space();
  std::vector<hw::accel_config> configs;
  for (std::int64_t k = 0; k < space.count(); k += 97) configs.push_back(space.decode(space.nth(k)));
  const auto cpu = ev.score(jaq::tbb_backend{}, configs);
  const auto gpu = ev.score(jaq::cuda_backend{}, configs);
  REQUIRE(gpu.size() == cpu.size());
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    CAPTURE(cpu[i]);
    CHECK(gpu[i].feasible == cpu[i].feasible);
    CHECK(gpu[i].latency_s == cpu[i].latency_s);
    CHECK(gpu[i].energy_nJ == cpu[i].energy_nJ);
    CHECK(gpu[i].cost == cpu[i].cost);
    CHECK(gpu[i].reason == cpu[i].reason);
  }
}

TEST_CASE("LSQ forward and backward, per tensor and per channel") {
  if (!have_gpu()) return;
  jaq::rng g(7);
  for (int bits : {2, 3, 4, 8}) {
    for (bool is_signed : {true, false}) {
      const q::qrange r = q::qrange::of(bits, is_signed, "gpu_test");
      const std::size_t channels = 13, inner = 4099, n = channels * inner;
      const auto x = random_floats(g, n, 2.0f), go = random_floats(g, n, 1.0f);
      std::vector<float> s(channels);
      for (float& v : s) v = static_cast<float>(0.01 + g.uniform() * 0.3);
      auto dx = to_device(x), dg = to_device(go), ds_pc = to_device(s);
      auto ds1 = to_device(std::vector<float>{s[0]});
      cu::device_array<float> dy(n), dgi(n);
      cu::device_array<double> dstep(channels);

      cu::check(cu::lsq_forward(dx.data(), static_cast<std::int64_t>(n), ds1.data(), r, dy.data()));
      const auto y = to_host(dy);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == q::lsq_value(x[i], s[0], r.q_n, r.q_p));

      cu::check(cu::lsq_backward(dx.data(), dg.data(), static_cast<std::int64_t>(n), ds1.data(), r, dgi.data(), dstep.data()));
      double ref = 0;
      for (std::size_t i = 0; i < n; ++i) ref += double(go[i]) * double(q::lsq_grad_step(x[i], s[0], r.q_n, r.q_p));
      const auto gi = to_host(dgi);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(gi[i] == go[i] * q::lsq_grad_input(x[i], s[0], r.q_n, r.q_p));
      CHECK(to_host(dstep)[0] == doctest::Approx(ref).epsilon(1e-12));

      cu::check(cu::lsq_forward_per_channel(dx.data(), channels, inner, ds_pc.data(), r, dy.data()));
      const auto ypc = to_host(dy);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(ypc[i] == q::lsq_value(x[i], s[i / inner], r.q_n, r.q_p));
      cu::check(cu::lsq_backward_per_channel(dx.data(), dg.data(), channels, inner, ds_pc.data(), r, dgi.data(), dstep.data()));
      const auto step_pc = to_host(dstep);
      for (std::size_t c = 0; c < channels; ++c) {
        double rc = 0;
        for (std::size_t i = c * inner; i < (c + 1) * inner; ++i) rc += double(go[i]) * double(q::lsq_grad_step(x[i], s[c], r.q_n, r.q_p));
        CHECK(step_pc[c] == doctest::Approx(rc).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("PACT and min/max forward and backward") {
  if (!have_gpu()) return;
  jaq::rng g(8);
  const std::size_t n = 100003;
  const auto x = random_floats(g, n, 3.0f), go = random_floats(g, n, 1.0f);
  auto dx = to_device(x), dg = to_device(go);
  cu::device_array<float> dy(n), dgi(n), range(2);
  cu::device_array<double> dalpha(1);
  for (int bits : {2, 4, 8}) {
    const int levels = (1 << bits) - 1;
    const float alpha = 1.7f;
    auto da = to_device(std::vector<float>{alpha});
    cu::check(cu::pact_forward(dx.data(), n, da.data(), levels, dy.data()));
    const auto y = to_host(dy);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == q::pact_value(x[i], alpha, levels));
    cu::check(cu::pact_backward(dx.data(), dg.data(), n, da.data(), dgi.data(), dalpha.data()));
    double ref = 0;
    for (std::size_t i = 0; i < n; ++i) ref += double(go[i]) * double(q::pact_grad_alpha(x[i], alpha));
    const auto gi = to_host(dgi);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(gi[i] == go[i] * q::pact_grad_input(x[i], alpha));
    CHECK(to_host(dalpha)[0] == doctest::Approx(ref).epsilon(1e-12));

    cu::check(cu::minmax_range(dx.data(), n, range.data()));
    const auto rr = to_host(range);
    const q::minmax_range cpu_r = q::minmax_of(x);
    CHECK(rr[0] == cpu_r.lo);
    CHECK(rr[1] == cpu_r.hi);
    cu::check(cu::minmax_forward(dx.data(), n, range.data(), levels, dy.data()));
    const auto ym = to_host(dy);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(ym[i] == q::minmax_value(x[i], cpu_r.lo, cpu_r.hi, levels));
    cu::check(cu::minmax_backward(dx.data(), dg.data(), n, range.data(), dgi.data()));
    const auto gm = to_host(dgi);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(gm[i] == go[i] * q::minmax_grad_input(x[i], cpu_r.lo, cpu_r.hi));
  }
}

TEST_CASE("CSQ stacking on the GPU == the host twin, element for element (dense and depthwise)") {
  if (!have_gpu()) return;
  jaq::rng g(9);
  for (bool depthwise : {false, true}) {
    const std::int64_t c = 24, co = depthwise ? 24 : 16, plane = 2 * 9 * 9, kk = 9, cin_w = depthwise ? 1 : c, nb = 4;
    const auto x = random_floats(g, std::size_t(c * plane), 2.0f), w = random_floats(g, std::size_t(co * cin_w * kk), 0.5f);
    std::vector<float> s_a{0.6f, 0.26f, 0.12f, 0.01f}, s_w(std::size_t(nb * co)), p{0.0f, 0.65f, 0.35f, 0.0f};
    for (float& v : s_w) v = static_cast<float>(0.01 + g.uniform() * 0.2);
    std::vector<q::qrange> a_grid, w_grid;
    for (int b : {2, 3, 4, 8}) {
      a_grid.push_back(q::qrange::of(b, false, "a"));
      w_grid.push_back(q::qrange::of(b, true, "w"));
    }
    const std::vector<std::int32_t> active{1, 2};
    std::vector<cu::csq_channel> stack;
    for (std::int64_t k = 0; k < c; ++k)
      if (k % 5 != 0) stack.push_back({k, -1});
    for (std::int32_t b : active)
      for (std::int64_t k = 0; k < c; k += 5) stack.push_back({k, b});
    const cu::csq_shape sh{.plane = plane,
                           .co = co,
                           .cin_w = cin_w,
                           .kk = kk,
                           .cs = std::int64_t(stack.size()),
                           .nu = c - (c + 4) / 5,
                           .depthwise = depthwise};
    auto dx = to_device(x), dw = to_device(w), dsa = to_device(s_a), dsw = to_device(s_w), dp = to_device(p);
    auto dstack = to_device(stack);
    auto dag = to_device(a_grid), dwg = to_device(w_grid);
    auto dact = to_device(active);
    cu::device_array<float> dq(std::size_t(sh.q_size())), dws(std::size_t(sh.w_size()));
    cu::check(cu::csq_stack_input(sh, dx.data(), dstack.data(), dsa.data(), dag.data(), dq.data()));
    cu::check(cu::csq_stack_weights(sh, dw.data(), dstack.data(), dsw.data(), dwg.data(), dp.data(), dact.data(), 2, dws.data()));
    const auto hq = to_host(dq), hws = to_host(dws);
    for (std::int64_t i = 0; i < sh.q_size(); ++i)
      REQUIRE(hq[std::size_t(i)] == cu::detail::csq_input_element(sh, x.data(), stack.data(), s_a.data(), a_grid.data(), i));
    for (std::int64_t d = 0; d < sh.w_size(); ++d)
      REQUIRE(hws[std::size_t(d)] ==
              cu::detail::csq_weight_element(sh, w.data(), stack.data(), s_w.data(), w_grid.data(), p.data(), active.data(), 2, d));
  }
}

TEST_CASE("a training step on the GPU tracks its host twin: small-cnn and mbconv-small, fp32 and every quantizer at 4 bits") {
  if (!have_gpu()) return;
  for (const char* name : {"small-cnn", "mbconv-small"})
    for (const char* method : {"fp32", "lsq", "pact", "minmax", "dorefa"}) {
      // min/max and DoReFa: each step from the host's state, a few steps may miss (rounding ties;
      // see train_program_test's check_model)
      const bool resync = method == std::string("minmax") || method == std::string("dorefa");
      CAPTURE(name);
      CAPTURE(method);
      jaq::rng r(7);
      const jaq::data::image_shape shape{1, 28, 28};
      const std::int64_t n = 32;
      std::vector<jaq::data::batch> batches;
      for (int i = 0; i < 20; ++i) batches.push_back(jaq_test::random_batch(r, n, shape, 10));
      auto host = jaq_test::make_test_model(name, method, batches[0], true);
      auto dev = jaq_test::make_test_model(name, method, batches[0], true);
      cu::model_trainer<cu::host_trainer> th(cu::bind_model(*host.model, host.quant.get(), shape), *host.opt, n);
      cu::model_trainer<cu::device_trainer> td(cu::bind_model(*dev.model, dev.quant.get(), shape), *dev.opt, n, 0);
      const auto a = th.step(batches[0], 0), d = td.step(batches[0], 0);
      CHECK(d.loss == doctest::Approx(a.loss).epsilon(1e-4));
      CHECK(std::abs(d.correct - a.correct) <= 1);  // a near-tie of two logits may go either way
      const std::size_t np = static_cast<std::size_t>(cu::train::param_elements(th.bound().net));
      std::vector<float> gh(np), gd(np);
      REQUIRE(th.trainer().get_grads(gh).ok());
      REQUIRE(td.trainer().get_grads(gd).ok());
      double s2 = 0;
      for (float v : gh) s2 += double(v) * v;
      const double floor = 1e-2 * std::sqrt(s2 / double(np));
      std::size_t at = 0;
      for (const auto& p : th.bound().net.params) {
        CAPTURE(p.name);
        CHECK(jaq_test::rel_err_floor(gd.data() + at, gh.data() + at, p.size, floor) < 1e-3);
        at += static_cast<std::size_t>(p.size);
      }
      int misses = 0;
      for (std::int64_t s = 1; s < 20; ++s) {
        CAPTURE(s);
        if (resync) {
          th.sync_to_model();
          jaq_test::copy_state(host, dev);
          td.sync_from_model();
        }
        const auto x = th.step(batches[std::size_t(s)], s), y = td.step(batches[std::size_t(s)], s);
        const double miss = std::fabs(y.loss - x.loss);
        CHECK(miss <= (resync ? 2e-2 : 1e-3 * std::max(1.0, x.loss)));
        misses += miss > 1e-3 * std::max(1.0, x.loss);
      }
      CHECK(misses <= 2);
      th.sync_to_model();
      td.sync_to_model();
      const auto ph = host.quant ? host.quant->parameters(host.model->parameters()) : host.model->parameters();
      const auto pd = dev.quant ? dev.quant->parameters(dev.model->parameters()) : dev.model->parameters();
      for (std::size_t k = 0; k < ph.size(); ++k) {
        CAPTURE(ph[k]->name);
        CHECK(jaq_test::rel_err(pd[k]->value.data(), ph[k]->value.data(), ph[k]->value.size()) < 1e-2);
      }
    }
}

TEST_CASE("a search step on the GPU tracks its host twin: CSQ's mixed conv, the operator mixture, shuffle, weight and arch steps") {
  if (!have_gpu()) return;
  jaq::rng r(13);
  const jaq_test::search_block sb = jaq_test::make_search_block(r);
  const std::int64_t n = 32;
  cu::host_trainer th(sb.nt, n);
  cu::device_trainer td(sb.nt, n, 0);
  const std::vector<float> p0 = sb.s.flat(), zeros(p0.size(), 0.0f), run = sb.running();
  REQUIRE(th.set_state(p0, zeros, run).ok());
  REQUIRE(td.set_state(p0, zeros, run).ok());
  const jaq::data::image_shape shape{jaq_test::search_block::c, jaq_test::search_block::h, jaq_test::search_block::h};
  for (int s = 0; s < 12; ++s) {
    CAPTURE(s);
    const auto b = jaq_test::random_batch(r, n, shape, std::int32_t(jaq_test::search_block::classes));
    const jaq::tensor<float> x = jaq::nn::batch_tensor<float>(b);
    const std::span<const float> xs(x.data(), std::size_t(x.size()));
    cu::train::step_plan plan = sb.plan();
    plan.update = s % 3 != 2;           // every third an architecture step
    if (s % 2) plan.mixture[3] = 0.0f;  // top-2 widths: one width without a weight
    cu::train::step_stats a, d;
    REQUIRE(th.step(xs, b.labels, 0.05f, {.momentum = 0.9f, .weight_decay = 5e-4f}, plan, a).ok());
    REQUIRE(td.step(xs, b.labels, 0.05f, {.momentum = 0.9f, .weight_decay = 5e-4f}, plan, d).ok());
    CHECK(d.loss == doctest::Approx(a.loss).epsilon(1e-4));
    std::vector<float> gh(p0.size()), gd(p0.size()), mh(plan.mixture.size()), md(plan.mixture.size());
    REQUIRE(th.get_grads(gh).ok());
    REQUIRE(td.get_grads(gd).ok());
    REQUIRE(th.get_mixture_grads(mh).ok());
    REQUIRE(td.get_mixture_grads(md).ok());
    CHECK(jaq_test::rel_err(gd.data(), gh.data(), std::int64_t(gh.size())) < 1e-3);
    CHECK(jaq_test::rel_err(md.data(), mh.data(), std::int64_t(mh.size())) < 1e-3);
  }
  std::vector<float> ph(p0.size()), pd(p0.size()), mh(p0.size()), md(p0.size()), rh(run.size()), rd(run.size());
  REQUIRE(th.get_state(ph, mh, rh).ok());
  REQUIRE(td.get_state(pd, md, rd).ok());
  CHECK(jaq_test::rel_err(pd.data(), ph.data(), std::int64_t(ph.size())) < 1e-3);
  CHECK(jaq_test::rel_err(rd.data(), rh.data(), std::int64_t(rh.size())) < 1e-3);
}

TEST_CASE("the supernet's search steps on the GPU track the host twin (CSQ, every candidate kind)") {
  if (!have_gpu()) return;
  const jaq::nas::space_config space{.name = "tiny",
                                     .image_size = 16,
                                     .classes = 4,
                                     .stem_channels = 8,
                                     .stage_channels = {8, 16},
                                     .stage_blocks = {1, 1},
                                     .stage_strides = {1, 2},
                                     .head_channels = 32,
                                     .ops = {"k3_e1", "k3_e1_g2", "k3_e3", "k5_e6", "skip"},
                                     .bits = {2, 4, 8}};
  const jaq::nas::supernet_config cfg{.space = space, .csq = jaq::nas::csq_config{.keep_percent = 20}};
  jaq::rng ga(5), gb(5), r(6);
  jaq::nas::supernet<float> host(cfg, ga), dev(cfg, gb);
  const jaq::data::image_shape shape{1, 16, 16};
  const std::int64_t n = 32;
  const auto first = jaq_test::random_batch(r, n, shape, 4);
  for (auto* net : {&host, &dev}) {
    jaq::tape<float> tp;
    net->set_training(true);
    net->initialize_layers(tp, tp.constant(jaq::nn::batch_tensor<float>(first)));
  }
  const jaq::optim::sgd_config sc{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4};
  jaq::optim::sgd<float> sh(host.weight_parameters(), sc), sd(dev.weight_parameters(), sc);
  cu::supernet_trainer<cu::host_trainer> th(host, sh, shape, n);
  cu::supernet_trainer<cu::device_trainer> td(dev, sd, shape, n, 0);
  for (int s = 0; s < 10; ++s) {
    CAPTURE(s);
    const auto b = jaq_test::random_batch(r, n, shape, 4);
    host.begin_step(s % 2 == 1);
    dev.begin_step(s % 2 == 1);
    if (s % 2 == 0) {
      CHECK(td.weight_step(b, s).loss == doctest::Approx(th.weight_step(b, s).loss).epsilon(1e-3));
      continue;
    }
    for (auto* p : host.arch_parameters()) p->grad = jaq::tensor<float>{};
    for (auto* p : dev.arch_parameters()) p->grad = jaq::tensor<float>{};
    CHECK(td.arch_step(b, s).loss == doctest::Approx(th.arch_step(b, s).loss).epsilon(1e-3));
    const auto ah = host.arch_parameters(), ad = dev.arch_parameters();
    for (std::size_t k = 0; k < ah.size(); ++k) {
      REQUIRE(ah[k]->grad.empty() == ad[k]->grad.empty());
      if (!ah[k]->grad.empty()) CHECK(jaq_test::rel_err_floor(ad[k]->grad.data(), ah[k]->grad.data(), ah[k]->grad.size(), 1e-6) < 1e-2);
    }
  }
  th.sync_to_model();
  td.sync_to_model();
  const auto ph = host.weight_parameters(), pd = dev.weight_parameters();
  for (std::size_t k = 0; k < ph.size(); ++k) {
    CAPTURE(ph[k]->name);
    CHECK(jaq_test::rel_err(pd[k]->value.data(), ph[k]->value.data(), ph[k]->value.size()) < 1e-2);
  }
}

TEST_CASE("a model's CSQ-20 search on the GPU tracks the host twin (train --mixed)") {
  if (!have_gpu()) return;
  for (const char* name : {"small-cnn", "mbconv-small"}) {
    CAPTURE(name);
    jaq::rng r(9);
    const jaq::data::image_shape shape{1, 28, 28};
    const std::int64_t n = 32;
    const auto first = jaq_test::random_batch(r, n, shape, 10);
    struct side {
      std::unique_ptr<jaq::nn::model<float>> model;
      std::unique_ptr<jaq::nas::search_model<float>> search;
      std::unique_ptr<jaq::optim::sgd<float>> opt;
    };
    auto make = [&] {
      side s;
      s.model = jaq_test::make(name);
      jaq::rng gen(3);
      s.search = std::make_unique<jaq::nas::search_model<float>>(
          *s.model, jaq::nas::search_config{.bits = {2, 3, 4, 8}, .csq = jaq::nas::csq_config{.keep_percent = 20}}, gen);
      s.search->begin_epoch(0);
      cu::initialize_quantizers(*s.model, first, &s.search->fixed());
      s.opt = std::make_unique<jaq::optim::sgd<float>>(s.search->parameters(s.model->parameters()), jaq_test::sgd_cfg);
      return s;
    };
    side host = make(), dev = make();
    cu::search_model_trainer<cu::host_trainer> th(*host.model, *host.search, *host.opt, shape, n);
    cu::search_model_trainer<cu::device_trainer> td(*dev.model, *dev.search, *dev.opt, shape, n, 0);
    int misses = 0;
    for (std::int64_t s = 0; s < 10; ++s) {
      CAPTURE(s);
      const auto b = jaq_test::random_batch(r, n, shape, 10);
      host.search->begin_step(s);
      dev.search->begin_step(s);
      const double a = th.step(b, s).loss, d = td.step(b, s).loss;
      CHECK(std::fabs(d - a) <= 2e-2 * std::max(1.0, a));
      misses += std::fabs(d - a) > 1e-3 * std::max(1.0, a);
    }
    CHECK(misses <= 2);
  }
}

TEST_CASE("the device trainer's errors: a bad batch is a status, not a crash") {
  if (!have_gpu()) return;
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  cu::device_trainer t(cu::bind_model(m, nullptr, {1, 28, 28}).net, 4, 0);
  std::vector<float> img(4 * 784, 0.5f);
  cu::train::step_stats st;
  const auto bad = t.step(img, std::vector<std::int32_t>{0, 1, 10, 2}, 0.1f, {}, st);
  CHECK_FALSE(bad.ok());
  CHECK(bad.message.find("label 10") != std::string::npos);
}
