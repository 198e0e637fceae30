#include "jaq/quant/qconv2d.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/quant/integer_conv.hpp"
#include "tests/quant/test_ops.hpp"

using namespace jaq::quant;
using jaq::quant::testing::make;
using jaq::quant::testing::weighted_sum;

namespace {

struct setup {
  int ci, n, h, w, co, k, stride, pad, groups;
};

template <jaq::scalar T>
std::vector<T> randv(std::size_t n, jaq::rng& r, double scale, bool positive) {
  std::vector<T> v(n);
  for (auto& x : v) x = T(positive ? std::fabs(r.normal()) * scale : r.normal() * scale);
  return v;
}

// The quantized conv forward with int8/uint8 codes and int32 accumulation, in jaq's (C, N, H, W)
// layout: transpose to NCHW, integer reference, rescale, transpose back.
template <class GA, class GW>
std::vector<float> integer_forward(const setup& s, const std::vector<float>& x, const std::vector<float>& w, float sa,
                                   const std::vector<float>& sw) {
  const conv_geometry g = jaq::conv_geometry::of(
      {.c = s.ci, .n = s.n, .h = s.h, .w = s.w, .kh = s.k, .kw = s.k, .stride = s.stride, .pad = s.pad, .co = s.co, .groups = s.groups});
  const std::size_t hw = std::size_t(s.h) * s.w;
  std::vector<typename GA::storage> a(x.size());
  for (int c = 0; c < s.ci; ++c)
    for (int n = 0; n < s.n; ++n)
      for (std::size_t i = 0; i < hw; ++i)
        a[(std::size_t(n) * s.ci + c) * hw + i] =
            typename GA::storage(lsq_code(x[(std::size_t(c) * s.n + n) * hw + i], sa, GA::q_n, GA::q_p));
  std::vector<std::int8_t> wc(w.size());
  const std::size_t per = w.size() / std::size_t(s.co);
  for (std::size_t i = 0; i < w.size(); ++i) wc[i] = std::int8_t(lsq_code(w[i], sw.size() == 1 ? sw[0] : sw[i / per], GW::q_n, GW::q_p));
  std::vector<std::int32_t> acc(std::size_t(g.output_size()));
  conv2d_int32<typename GA::storage>(g, a, wc, acc);
  std::vector<float> y(acc.size());
  rescale_output<std::int32_t>(acc, g.n, g.co, sa, sw, {}, y);
  // NCHW -> CNHW
  std::vector<float> out(y.size());
  const std::size_t ohw = std::size_t(g.ho) * g.wo;
  for (int n = 0; n < s.n; ++n)
    for (int o = 0; o < s.co; ++o)
      for (std::size_t i = 0; i < ohw; ++i) out[(std::size_t(o) * s.n + n) * ohw + i] = y[(std::size_t(n) * s.co + o) * ohw + i];
  return out;
}

template <class GA, class GW>
void check_exact(const setup& s, bool per_channel) {
  jaq::rng r(21);
  const auto x = randv<float>(std::size_t(s.ci) * s.n * s.h * s.w, r, 1.0, !GA::is_signed);
  const auto w = randv<float>(std::size_t(s.co) * (s.ci / s.groups) * s.k * s.k, r, 0.3, false);
  const float sa = lsq_init_step(x, GA::q_p);
  std::vector<float> sw(per_channel ? std::size_t(s.co) : 1);
  lsq_init_step_per_channel(w, GW::q_p, sw);
  REQUIRE((s.ci / s.groups) * s.k * s.k <= exact_reduction_limit(std::max(GA::q_n, GA::q_p), GW::q_n));

  jaq::tape<float> tp({.threads = 2});
  auto xv = tp.constant(make<float>({s.ci, s.n, s.h, s.w}, x));
  auto wv = tp.variable(make<float>({s.co, s.ci / s.groups, s.k, s.k}, w));
  auto sav = tp.variable(make<float>({1}, {sa}));
  auto swv = tp.variable(make<float>({std::int64_t(sw.size())}, sw));
  auto y = qconv2d(tp, xv, wv, sav, swv,
                   {.conv = {.stride = s.stride, .padding = s.pad, .groups = s.groups},
                    .act = {.bits = GA::bits, .is_signed = GA::is_signed, .batch_axis = 1, .name = "a"},
                    .weight = {.bits = GW::bits, .is_signed = true, .per_channel = per_channel, .name = "w"}});
  const auto ref = integer_forward<GA, GW>(s, x, w, sa, sw);
  REQUIRE(std::size_t(y.value().size()) == ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) REQUIRE(y.value()[std::int64_t(i)] == ref[i]);  // tolerance 0
}

}  // namespace

TEST_CASE("qconv2d forward == integer reference (int8 codes, int32 accumulation), bit for bit") {
  const setup dense{.ci = 8, .n = 3, .h = 9, .w = 7, .co = 6, .k = 3, .stride = 1, .pad = 1, .groups = 1};
  const setup strided{.ci = 5, .n = 2, .h = 8, .w = 8, .co = 4, .k = 3, .stride = 2, .pad = 1, .groups = 1};
  const setup pointwise{.ci = 16, .n = 2, .h = 5, .w = 5, .co = 8, .k = 1, .stride = 1, .pad = 0, .groups = 1};
  const setup depthwise{.ci = 6, .n = 2, .h = 7, .w = 7, .co = 6, .k = 3, .stride = 1, .pad = 1, .groups = 6};
  for (const setup& s : {dense, strided, pointwise, depthwise}) {
    check_exact<unsigned_grid<2>, signed_grid<2>>(s, true);
    check_exact<unsigned_grid<3>, signed_grid<3>>(s, true);
    check_exact<unsigned_grid<4>, signed_grid<4>>(s, false);
    check_exact<unsigned_grid<8>, signed_grid<8>>(s, true);
    check_exact<signed_grid<8>, signed_grid<8>>(s, true);  // a first layer on signed inputs
  }
}

TEST_CASE("qconv2d backward == lsq_quantize -> conv2d <- lsq_quantize, every gradient") {
  // the last case is large enough (x: 4*8*24*24 > 16384 elements) for the one-pass parallel
  // activation gradient; the others take the simple loops
  for (const auto& shape : {std::tuple{1, 2, 6}, std::tuple{4, 2, 6}, std::tuple{1, 8, 24}}) {
    const auto [groups_b, n, h] = shape;
    const int groups = groups_b;  // (a structured binding cannot be captured by doctest's message lambda before clang 16)
    jaq::rng r(33);
    const int ci = 4, w = h - 1, co = 4, k = 3;
    const auto x = randv<double>(std::size_t(ci) * n * h * w, r, 1.0, false);
    const auto wt = randv<double>(std::size_t(co) * (ci / groups) * k * k, r, 0.4, false);
    const auto c = randv<double>(std::size_t(co) * n * h * w, r, 1.0, false);
    const qconv_spec spec{.conv = {.stride = 1, .padding = 1, .groups = groups},
                          .act = {.bits = 3, .is_signed = true, .batch_axis = 1, .name = "a"},
                          .weight = {.bits = 2, .is_signed = true, .per_channel = true, .name = "w"}};
    std::vector<double> grads[2][4];
    std::vector<double> outs[2];
    for (int fused = 0; fused < 2; ++fused) {
      jaq::tape<double> tp;
      auto xv = tp.variable(make<double>({ci, n, h, w}, x));
      auto wv = tp.variable(make<double>({co, ci / groups, k, k}, wt));
      auto sa = tp.variable(make<double>({1}, {0.4}));
      auto sw = tp.variable(make<double>({co}, {0.2, 0.3, 0.25, 0.5}));
      auto y = fused ? qconv2d(tp, xv, wv, sa, sw, spec)
                     : jaq::conv2d(tp, lsq_quantize(tp, xv, sa, spec.act), lsq_quantize(tp, wv, sw, spec.weight), spec.conv);
      outs[fused].assign(y.value().begin(), y.value().end());
      tp.backward(weighted_sum(tp, y, c));
      const std::array<jaq::var<double>*, 4> vars{&xv, &wv, &sa, &sw};  // (separate locals: index, not pointer difference)
      for (std::size_t j = 0; j < vars.size(); ++j) grads[fused][j].assign(vars[j]->grad().begin(), vars[j]->grad().end());
    }
    for (std::size_t i = 0; i < outs[0].size(); ++i)
      REQUIRE_MESSAGE(outs[1][i] == doctest::Approx(outs[0][i]).epsilon(1e-12), groups << " " << i << " " << (outs[1][i] - outs[0][i]));
    for (int k2 = 0; k2 < 4; ++k2) {
      REQUIRE(grads[0][k2].size() == grads[1][k2].size());
      for (std::size_t i = 0; i < grads[0][k2].size(); ++i) REQUIRE(grads[1][k2][i] == doctest::Approx(grads[0][k2][i]).epsilon(1e-10));
    }
  }
}

TEST_CASE("qconv2d saves one activation-sized tensor (the codes), not the im2col matrix") {
  jaq::tape<float> tp;
  jaq::parameter<float> w{.name = "w", .value = jaq::tensor<float>::full({8, 4, 3, 3}, 0.1f)};
  jaq::parameter<float> sa{.name = "sa", .value = jaq::tensor<float>::full({1}, 0.1f)};
  jaq::parameter<float> sw{.name = "sw", .value = jaq::tensor<float>::full({8}, 0.05f)};
  auto x = tp.constant(jaq::tensor<float>::full({4, 2, 10, 10}, 0.3f));
  const std::size_t xb = 4 * 2 * 10 * 10 * sizeof(float), yb = 8 * 2 * 10 * 10 * sizeof(float);
  auto y = qconv2d(tp, x, tp.param(w), tp.param(sa), tp.param(sw), {.conv = {.padding = 1}});
  CHECK(tp.held_bytes() == xb + xb + yb);  // input, saved codes, output
  (void)y;
}

TEST_CASE("qconv2d rejects bad widths and step shapes naming the layer") {
  jaq::tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::full({2, 1, 4, 4}, 0.3f));
  auto w = tp.variable(jaq::tensor<float>::full({3, 2, 3, 3}, 0.1f));
  auto sa = tp.variable(jaq::tensor<float>::full({1}, 0.1f));
  auto sw = tp.variable(jaq::tensor<float>::full({3}, 0.1f));
  qconv_spec bad{};
  bad.weight.bits = 9;
  bad.weight.name = "conv4.weight";
  CHECK_THROWS_WITH_AS(qconv2d(tp, x, w, sa, sw, bad), "conv4.weight: bits: unsupported bit-width 9 (must be 1..8)", jaq::config_error);
  auto sw2 = tp.variable(jaq::tensor<float>::full({2}, 0.1f));
  CHECK_THROWS_AS(qconv2d(tp, x, w, sa, sw2, qconv_spec{}), jaq::model_error);
}
