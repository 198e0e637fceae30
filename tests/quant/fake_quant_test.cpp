#include "jaq/quant/fake_quant.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "jaq/autograd/ops/add.hpp"
#include "jaq/core/rng.hpp"
#include "tests/quant/test_ops.hpp"

using namespace jaq::quant;
using jaq::quant::testing::make;
using jaq::quant::testing::weighted_sum;

TEST_CASE_TEMPLATE("lsq_quantize on the tape reproduces the spec's weight vector", T, float, double) {
  jaq::tape<T> tp;
  auto w = tp.variable(make<T>({3}, {0.3, -1.2, 2.5}));
  auto s = tp.variable(make<T>({1}, {0.5}));
  auto wq = lsq_quantize(tp, w, s, {.bits = 2, .is_signed = true, .name = "fc.weight"});
  CHECK(wq.value()[0] == T(0.5));
  CHECK(wq.value()[1] == T(-1.0));
  CHECK(wq.value()[2] == T(0.5));
  tp.backward(weighted_sum(tp, wq, std::vector<T>(3, T(1))));
  CHECK(w.grad()[0] == 1);
  CHECK(w.grad()[1] == 0);
  CHECK(w.grad()[2] == 0);
  CHECK(double(s.grad()[0]) == doctest::Approx(-0.346410).epsilon(1e-5));
}

TEST_CASE("lsq_quantize: activation step gradient with N per example (default) and per tensor") {
  for (auto count : {lsq_count::per_example, lsq_count::per_tensor}) {
    jaq::tape<double> tp;
    auto x = tp.variable(make<double>({2, 3}, {0.2, 0.9, 2.0, 0.0, 1.3, 0.74}));  // (N, F)
    auto s = tp.variable(make<double>({1}, {0.5}));
    auto xq = lsq_quantize(tp, x, s, {.bits = 2, .is_signed = false, .count = count, .batch_axis = 0, .name = "a"});
    const std::vector<double> want{0, 1.0, 1.5, 0, 1.5, 0.5};
    for (int i = 0; i < 6; ++i) CHECK(xq.value()[i] == want[std::size_t(i)]);
    tp.backward(weighted_sum(tp, xq, std::vector<double>(6, 1.0)));
    const std::vector<double> gx{1, 1, 0, 1, 1, 1};
    for (int i = 0; i < 6; ++i) CHECK(x.grad()[i] == gx[std::size_t(i)]);
    CHECK(s.grad()[0] == doctest::Approx(count == lsq_count::per_example ? 0.906667 : 2.72 / std::sqrt(18.0)).epsilon(1e-5));
  }
}

TEST_CASE("lsq_quantize per output channel: each channel's step gets its own scaled gradient") {
  jaq::tape<double> tp;
  jaq::rng r(3);
  std::vector<double> wv(2 * 6), c(wv.size());
  for (auto& v : wv) v = r.normal();
  for (auto& v : c) v = r.normal();
  auto w = tp.variable(make<double>({2, 1, 2, 3}, wv));  // (Co, Ci, kh, kw)
  auto s = tp.variable(make<double>({2}, {0.3, 0.7}));
  auto wq = lsq_quantize(tp, w, s, {.bits = 3, .is_signed = true, .per_channel = true, .name = "conv"});
  for (std::size_t k = 0; k < wv.size(); ++k) CHECK(wq.value()[std::int64_t(k)] == lsq_value(wv[k], k < 6 ? 0.3 : 0.7, 4, 3));
  tp.backward(weighted_sum(tp, wq, c));
  for (int ch = 0; ch < 2; ++ch) {
    double raw = 0;
    const double st = ch ? 0.7 : 0.3;
    for (int i = 0; i < 6; ++i) {
      const std::size_t k = std::size_t(ch) * 6 + std::size_t(i);
      CHECK(w.grad()[std::int64_t(k)] == c[k] * lsq_grad_input(wv[k], st, 4, 3));
      raw += c[k] * lsq_grad_step(wv[k], st, 4, 3);
    }
    CHECK(s.grad()[ch] == doctest::Approx(raw / std::sqrt(6.0 * 3.0)));
  }
}

TEST_CASE("a quantized tensor read by two consumers accumulates both gradients") {
  jaq::tape<double> tp;
  auto x = tp.variable(make<double>({3}, {0.1, 0.2, 5.0}));
  auto s = tp.variable(make<double>({1}, {0.1}));
  auto a = lsq_quantize(tp, x, s, {.bits = 4, .is_signed = false, .batch_axis = 0, .name = "a"});
  auto b = lsq_quantize(tp, x, s, {.bits = 2, .is_signed = false, .batch_axis = 0, .name = "b"});
  auto la = weighted_sum(tp, a, {1.0, 2.0, 3.0});
  auto lb = weighted_sum(tp, b, {1.0, 1.0, 1.0});
  tp.backward(jaq::add(tp, la, lb));
  CHECK(x.grad()[0] == 2.0);  // inside both ranges
  CHECK(x.grad()[1] == 3.0);
  CHECK(x.grad()[2] == 0.0);  // clipped in both
}

TEST_CASE_TEMPLATE("pact_quantize on the tape reproduces the spec vector", T, float, double) {
  jaq::tape<T> tp;
  auto x = tp.variable(make<T>({3}, {-0.5, 0.7, 3.0}));
  auto a = tp.variable(make<T>({1}, {2.0}));
  auto y = pact_quantize(tp, x, a, {.bits = 2, .name = "relu3"});
  CHECK(y.value()[0] == 0);
  CHECK(double(y.value()[1]) == doctest::Approx(0.6667).epsilon(1e-4));
  CHECK(y.value()[2] == 2);
  tp.backward(weighted_sum(tp, y, std::vector<T>(3, T(1))));
  CHECK(x.grad()[0] == 0);
  CHECK(x.grad()[1] == 1);
  CHECK(x.grad()[2] == 0);
  CHECK(a.grad()[0] == 1);
}

TEST_CASE("minmax_quantize: weights per channel, activations from the observer") {
  jaq::tape<float> tp;
  auto w = tp.variable(make<float>({2, 3}, {0, 1, 3, -1, 0, 1}));
  auto wq = minmax_quantize(tp, w, {.bits = 1, .per_channel = true, .name = "w"});
  const std::vector<float> want{0, 0, 3, -1, -1, 1};  // row 1: grid {-1, 1}, 0 ties to code 0 (even)
  for (int i = 0; i < 6; ++i) CHECK(wq.value()[i] == want[std::size_t(i)]);
  minmax_observer obs{.momentum = 0.5f};
  auto x = tp.variable(make<float>({4}, {-1, 0, 0.4f, 2}));
  auto xq = minmax_quantize(tp, x, {.bits = 2, .name = "a"}, &obs, true);
  CHECK(xq.value()[2] == 0.0f);
  CHECK(obs.seen);
  tp.backward(weighted_sum(tp, xq, std::vector<float>(4, 1.0f)));
  CHECK(x.grad()[0] == 1.0f);
  CHECK(x.grad()[3] == 1.0f);
  // evaluation: the running range [-1, 2] clips 5 to 2
  jaq::tape<float> ev;
  ev.set_grad_enabled(false);
  auto x2 = ev.constant(make<float>({2}, {5, 0}));
  CHECK(minmax_quantize(ev, x2, {.bits = 2, .name = "a"}, &obs, false).value()[0] == 2.0f);
}

TEST_CASE("bad quantizer input names the layer and the value") {
  jaq::tape<float> tp;
  auto x = tp.variable(make<float>({2}, {1, 2}));
  auto s = tp.variable(make<float>({1}, {0.5f}));
  CHECK_THROWS_WITH_AS(lsq_quantize(tp, x, s, {.bits = 9, .name = "conv3.input"}),
                       "conv3.input: bits: unsupported bit-width 9 (must be 1..8)", jaq::config_error);
  CHECK_THROWS_WITH_AS(pact_quantize(tp, x, s, {.bits = 0, .name = "relu2"}), "relu2: bits: unsupported bit-width 0 (must be 1..8)",
                       jaq::config_error);
  CHECK_THROWS_AS(minmax_quantize(tp, x, {.bits = 12, .name = "w"}), jaq::config_error);
  auto bad = tp.variable(make<float>({1}, {0.0f}));
  CHECK_THROWS_WITH_AS(lsq_quantize(tp, x, bad, {.bits = 4, .name = "fc"}), "fc: lsq step must be > 0, got 0.000000", jaq::model_error);
  auto two = tp.variable(make<float>({2}, {0.1f, 0.2f}));
  CHECK_THROWS_AS(lsq_quantize(tp, x, two, {.bits = 4, .name = "fc"}), jaq::model_error);
}

TEST_CASE("dorefa_quantize on the tape: the spec vector and the surrogate gradient") {
  jaq::tape<double> tp;
  jaq::tensor<double> w0(jaq::shape{3});
  w0[0] = 0.1;
  w0[1] = -0.4;
  w0[2] = 0.9;
  auto w = tp.variable(std::move(w0));
  auto q = jaq::quant::dorefa_quantize(tp, w, {.bits = 2, .name = "fc.weight"});
  CHECK(q.value()[0] == doctest::Approx(1.0 / 3.0));
  CHECK(q.value()[1] == doctest::Approx(-1.0 / 3.0));
  CHECK(q.value()[2] == 1.0);
  CHECK_THROWS_WITH_AS(jaq::quant::dorefa_quantize(tp, w, {.bits = 9, .name = "fc.weight"}), doctest::Contains("fc.weight"),
                       jaq::config_error);
}
