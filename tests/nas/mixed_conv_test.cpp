#include "jaq/nas/mixed_conv.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "jaq/autograd/ops/add.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/quant/fake_quant.hpp"

using namespace jaq::nas;
using jaq::quant::lsq_quantize;

namespace {

template <jaq::scalar T>
jaq::tensor<T> rand_tensor(jaq::shape s, jaq::rng& r, double scale, bool positive = false) {
  jaq::tensor<T> t(s);
  for (auto& v : t) v = T(positive ? std::fabs(r.normal()) * scale : r.normal() * scale);
  return t;
}

// loss = sum c_i y_i
template <jaq::scalar T>
jaq::var<T> dot(jaq::tape<T>& tp, jaq::var<T> y, const std::vector<T>& c) {
  jaq::tensor<T> out(jaq::shape{1});
  T s = 0;
  for (std::int64_t i = 0; i < y.value().size(); ++i) s += c[std::size_t(i)] * y.value()[i];
  out[0] = s;
  return tp.record("dot", std::move(out), {y}, [c](jaq::backward_context<T>& ctx) {
    auto& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += c[std::size_t(i)] * ctx.grad_output()[0];
  });
}

// x * m[channel] for (C, N, H, W) x and a constant 0/1 mask
template <jaq::scalar T>
jaq::var<T> channel_scale(jaq::tape<T>& tp, jaq::var<T> x, std::vector<char> m) {
  const std::int64_t plane = x.value().size() / x.shape()[0];
  jaq::tensor<T> y(x.shape());
  for (std::int64_t i = 0; i < y.size(); ++i) y[i] = m[std::size_t(i / plane)] ? x.value()[i] : T(0);
  return tp.record("channel_scale", std::move(y), {x}, [m, plane](jaq::backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += m[std::size_t(i / plane)] ? ctx.grad_output()[i] : T(0);
  });
}

// Channels idx of a 4-D tensor along `axis` (0 or 1), with the scatter-add backward.
template <jaq::scalar T>
jaq::var<T> gather_axis(jaq::tape<T>& tp, jaq::var<T> x, int axis, std::vector<int> idx) {
  const auto& s = x.shape();
  const std::int64_t outer = axis == 0 ? 1 : s[0], dim = s[axis], inner = x.value().size() / (outer * dim);
  const std::int64_t k = std::int64_t(idx.size());
  jaq::shape os = s;
  os[axis] = k;
  jaq::tensor<T> y(os);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t i = 0; i < inner; ++i) y[(o * k + j) * inner + i] = x.value()[(o * dim + idx[std::size_t(j)]) * inner + i];
  return tp.record("gather_axis", std::move(y), {x}, [=](jaq::backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& g = ctx.grad_input(0);
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t j = 0; j < k; ++j)
        for (std::int64_t i = 0; i < inner; ++i)
          g[(o * dim + idx[std::size_t(j)]) * inner + i] += ctx.grad_output()[(o * k + j) * inner + i];
  });
}

// y (K, ...) placed at rows idx of a (C, ...) zero tensor, with the gather backward.
template <jaq::scalar T>
jaq::var<T> scatter_axis0(jaq::tape<T>& tp, jaq::var<T> y, std::vector<int> idx, std::int64_t c) {
  const std::int64_t k = std::int64_t(idx.size()), inner = y.value().size() / k;
  jaq::shape os = y.shape();
  os[0] = c;
  jaq::tensor<T> out = jaq::tensor<T>::zeros(os);
  for (std::int64_t j = 0; j < k; ++j)
    for (std::int64_t i = 0; i < inner; ++i) out[idx[std::size_t(j)] * inner + i] = y.value()[j * inner + i];
  return tp.record("scatter_axis0", std::move(out), {y}, [=](jaq::backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& g = ctx.grad_input(0);
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t i = 0; i < inner; ++i) g[j * inner + i] += ctx.grad_output()[idx[std::size_t(j)] * inner + i];
  });
}

struct problem {
  std::int64_t c = 6, n = 2, h = 5, w = 5, co = 4, k = 3, groups = 1;
};

struct result {
  std::vector<double> y;
  std::vector<std::vector<double>> grads;  // x, w, p, s_a..., s_w..., [pw]
};

// run either mixed_conv2d (fused) or the reference composition of lsq_quantize, conv2d and mixes,
// which quantizes the selected channels as a tensor of their own (so LSQ's gradient scale counts
// the selected slice, as CSQ defines it)
// pwvals (non-empty): separate weight widths, pw = pwvals, p the activation widths' weights
// reuse_x: x also feeds another term of the loss, recorded after the op (1: its gradient reaches x
// first, so the op adds to it) or before it (2: the op writes x's gradient first)
result run(const problem& pr, const channel_mask& mask, const std::vector<double>& pvals, bool fused, int variant_naive = 0,
           const std::vector<double>& pwvals = {}, int reuse_x = 0) {
  jaq::rng r(7);
  const std::int64_t co = pr.groups > 1 ? pr.c : pr.co;
  auto xt = rand_tensor<double>({pr.c, pr.n, pr.h, pr.w}, r, 1.0, true);
  auto wt = rand_tensor<double>({co, pr.c / pr.groups, pr.k, pr.k}, r, 0.3);
  const std::vector<int> bits{2, 3, 4, 8};
  jaq::tape<double> tp;
  auto x = tp.variable(std::move(xt));
  auto w = tp.variable(std::move(wt));
  jaq::tensor<double> pt(jaq::shape{4});
  for (int b = 0; b < 4; ++b) pt[b] = pvals[std::size_t(b)];
  auto p = tp.variable(std::move(pt));
  std::optional<jaq::var<double>> pw;
  if (!pwvals.empty()) {
    jaq::tensor<double> t(jaq::shape{4});
    for (int b = 0; b < 4; ++b) t[b] = pwvals[std::size_t(b)];
    pw = tp.variable(std::move(t));
  }
  std::vector<jaq::var<double>> sa, sw;
  for (int b = 0; b < 4; ++b) {
    sa.push_back(tp.variable(jaq::tensor<double>::full({1}, 0.9 / ((1 << bits[b]) - 1) * 2)));
    jaq::tensor<double> s(jaq::shape{co});
    for (std::int64_t o = 0; o < co; ++o) s[o] = 0.4 / (1 << (bits[b] - 1)) * (1.0 + 0.1 * double(o));
    sw.push_back(tp.variable(std::move(s)));
  }
  const mixed_conv_spec spec{.conv = {.stride = 1, .padding = pr.k / 2, .groups = pr.groups}, .bits = bits, .name = "l"};
  std::vector<double> cx(std::size_t(x.value().size()));
  jaq::rng rx(5);
  for (auto& v : cx) v = rx.normal();
  jaq::var<double> other;
  if (reuse_x == 2) other = dot(tp, x, cx);
  jaq::var<double> y;
  if (fused) {
    y = mixed_conv2d(tp, x, w, p, sa, sw, mask, spec, pw);
  } else if (variant_naive) {
    y = naive_mixed_conv2d(tp, x, w, p, sa, sw, spec, pw);
  } else {
    std::vector<jaq::var<double>> what, ysel;
    std::vector<char> unsel(mask.is_selected.size());
    for (std::size_t i = 0; i < unsel.size(); ++i) unsel[i] = !mask.is_selected[i];
    const bool depthwise = pr.groups > 1;
    // conv(Qa_a(x_S), wq[:, S]): the selected slice quantized alone, in the full output's layout
    auto selected = [&](int a, jaq::var<double> wq) {
      auto q = lsq_quantize(tp, gather_axis(tp, x, 0, mask.selected), sa[std::size_t(a)],
                            {.bits = bits[std::size_t(a)], .is_signed = false, .batch_axis = 1, .name = "a"});
      if (!depthwise) return jaq::conv2d(tp, q, gather_axis(tp, wq, 1, mask.selected), spec.conv);
      auto o = spec.conv;
      o.groups = std::int64_t(mask.selected.size());
      return scatter_axis0(tp, jaq::conv2d(tp, q, gather_axis(tp, wq, 0, mask.selected), o), mask.selected, pr.c);
    };
    for (int b = 0; b < 4; ++b) {
      what.push_back(
          lsq_quantize(tp, w, sw[std::size_t(b)], {.bits = bits[std::size_t(b)], .is_signed = true, .per_channel = true, .name = "w"}));
      ysel.push_back(selected(b, what.back()));
    }
    // shared: y = conv(x_U, sum_b p_b what_b) + sum_b p_b conv(Qa_b(x)_S, what_b); separate:
    // sum_a sum_i p_a pw_i conv(x_U ; Qa_a(x)_S, what_i), composed as a sum over the pairs
    if (pw) {
      std::vector<jaq::var<double>> pairs;
      std::vector<int> idx;
      for (int a = 0; a < 4; ++a)
        for (int i = 0; i < 4; ++i) {
          pairs.push_back(jaq::add(tp, jaq::conv2d(tp, channel_scale(tp, x, unsel), what[std::size_t(i)], spec.conv),
                                   selected(a, what[std::size_t(i)])));
          idx.push_back(a * 4 + i);
        }
      y = weighted_mix(tp, pairs, outer_weights(tp, p, *pw), {.index = idx});
    }
    auto wmix = weighted_mix(tp, what, p);
    if (!pw) y = jaq::add(tp, jaq::conv2d(tp, channel_scale(tp, x, unsel), wmix, spec.conv), weighted_mix(tp, ysel, p));
  }
  result res;
  res.y.assign(y.value().begin(), y.value().end());
  std::vector<double> c(res.y.size());
  jaq::rng rc(99);
  for (auto& v : c) v = rc.normal();
  std::vector<jaq::var<double>> all{x, w, p};
  for (auto& v : sa) all.push_back(v);
  for (auto& v : sw) all.push_back(v);
  if (pw) all.push_back(*pw);
  std::vector<std::size_t> sizes;
  for (auto& v : all) sizes.push_back(std::size_t(v.value().size()));
  auto loss = dot(tp, y, c);
  if (reuse_x == 1) other = dot(tp, x, cx);
  if (reuse_x) loss = jaq::add(tp, loss, other);
  tp.backward(loss);
  for (std::size_t k = 0; k < all.size(); ++k) {
    auto& v = all[k];
    std::vector<double> g(sizes[k], 0.0);
    if (!v.grad().empty()) g.assign(v.grad().begin(), v.grad().end());
    res.grads.push_back(g);
  }
  return res;
}

void compare(const result& a, const result& b) {
  REQUIRE(a.y.size() == b.y.size());
  REQUIRE(a.grads.size() == b.grads.size());
  for (std::size_t i = 0; i < a.y.size(); ++i) REQUIRE(a.y[i] == doctest::Approx(b.y[i]).epsilon(1e-10));
  for (std::size_t k = 0; k < a.grads.size(); ++k)
    for (std::size_t i = 0; i < a.grads[k].size(); ++i)
      REQUIRE_MESSAGE(a.grads[k][i] == doctest::Approx(b.grads[k][i]).epsilon(1e-9), "input " << k << " element " << i);
}

}  // namespace

TEST_CASE("CSQ mixed conv == its definition composed from quantize, conv and mix ops (values and gradients)") {
  // k 1: a pointwise conv, whose stacked planes are copied into columns rather than im2col'd
  for (auto [groups, k] : {std::pair<std::int64_t, std::int64_t>{1, 3}, {6, 3}, {1, 1}, {6, 1}}) {
    CAPTURE(groups);
    CAPTURE(k);
    problem pr;
    pr.groups = groups;
    pr.k = k;
    const std::vector<float> gamma{0.1f, -0.9f, 0.3f, 0.05f, 0.8f, -0.2f};
    const auto mask = top_channels(gamma, 34.0, "l");  // ceil(0.34 * 6) = 3 channels: 1, 2, 4
    const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
    compare(run(pr, mask, p, true), run(pr, mask, p, false));
    // x read by another op too: the fused op's input gradient adds to, or is added to, the other's
    for (int reuse : {1, 2}) {
      CAPTURE(reuse);
      compare(run(pr, mask, p, true, 0, {}, reuse), run(pr, mask, p, false, 0, {}, reuse));
    }
  }
}

TEST_CASE("all channels selected: the fused supernet == the naive per-candidate supernet") {
  for (std::int64_t groups : {1, 6}) {
    problem pr;
    pr.groups = groups;
    const std::vector<double> p{0.25, 0.1, 0.4, 0.25};
    compare(run(pr, channel_mask::all(6), p, true), run(pr, channel_mask::all(6), p, false, 1));
  }
}

TEST_CASE("separate weight and activation widths: the fused CSQ op == the sum over (activation, weight) pairs") {
  for (std::int64_t groups : {1, 6}) {
    problem pr;
    pr.groups = groups;
    const std::vector<float> gamma{0.1f, -0.9f, 0.3f, 0.05f, 0.8f, -0.2f};
    const auto mask = top_channels(gamma, 34.0, "l");
    const std::vector<double> pa{0.1, 0.2, 0.3, 0.4}, pw{0.5, 0.1, 0.15, 0.25};
    compare(run(pr, mask, pa, true, 0, pw), run(pr, mask, pa, false, 0, pw));
    // all channels: the fused op == the naive one qconv2d per pair
    compare(run(pr, channel_mask::all(6), pa, true, 0, pw), run(pr, channel_mask::all(6), pa, false, 1, pw));
    // top-2 on both: the pairs with a zero weight do not run; pw of a zero weight gets no gradient
    const std::vector<double> pa2{0.0, 0.7, 0.0, 0.3}, pw2{0.6, 0.0, 0.4, 0.0};
    const auto fused = run(pr, mask, pa2, true, 0, pw2);
    auto ref = run(pr, mask, pa2, false, 0, pw2);
    for (int b : {1, 3}) {
      CHECK(fused.grads[11][std::size_t(b)] == 0.0);
      ref.grads[11][std::size_t(b)] = 0.0;
    }
    for (int b : {0, 2}) ref.grads[2][std::size_t(b)] = 0.0;
    compare(fused, ref);
  }
}

TEST_CASE("top-2: only the two active candidates run; the others get no gradient") {
  problem pr;
  const std::vector<double> p{0.0, 0.7, 0.0, 0.3};
  const auto mask = top_channels(std::vector<float>{1, 2, 3, 4, 5, 6}, 50.0, "l");
  const auto fused = run(pr, mask, p, true);
  auto ref = run(pr, mask, p, false);
  // the composition still runs the p = 0 branches, so d/dp of those is <g, y_b>; the fused op
  // does not run them (top-2's Gumbel backward gives their logits no gradient either way)
  CHECK(ref.grads[2][0] != 0.0);
  ref.grads[2][0] = ref.grads[2][2] = 0.0;
  CHECK(fused.grads[2][0] == 0.0);
  compare(fused, ref);
  for (int b : {0, 2}) {
    for (double g : fused.grads[std::size_t(3) + std::size_t(b)]) CHECK(g == 0.0);
    for (double g : fused.grads[std::size_t(7) + std::size_t(b)]) CHECK(g == 0.0);
  }
  compare(run(pr, channel_mask::all(6), p, true), run(pr, channel_mask::all(6), p, false, 1));
}

TEST_CASE("backward stores one full-precision copy of the unselected channels, not one per candidate") {
  const std::int64_t c = 10, n = 4, h = 8, w = 8, co = 10;
  const std::int64_t plane = n * h * w * sizeof(float);
  jaq::rng r(1);
  std::vector<float> gamma(c);
  for (auto& g : gamma) g = float(r.normal());
  jaq::parameter<float> wp{.name = "w", .value = rand_tensor<float>({co, c, 3, 3}, r, 0.2), .grad = {}};
  std::vector<jaq::parameter<float>> sap(4), swp(4);
  for (int b = 0; b < 4; ++b) {
    sap[b].value = jaq::tensor<float>::full({1}, 0.1f);
    swp[b].value = jaq::tensor<float>::full({co}, 0.05f);
  }
  auto measure = [&](double k_percent, bool naive) {
    jaq::tape<float> tp;
    auto x = tp.constant(rand_tensor<float>({c, n, h, w}, r, 1.0, true));
    auto p = tp.constant(jaq::tensor<float>::full({4}, 0.25f));
    std::vector<jaq::var<float>> sa, sw;
    for (int b = 0; b < 4; ++b) {
      sa.push_back(tp.param(sap[b]));
      sw.push_back(tp.param(swp[b]));
    }
    const std::size_t before = tp.held_bytes();
    const mixed_conv_spec spec{.conv = {.padding = 1}, .name = "conv"};
    if (naive)
      naive_mixed_conv2d(tp, x, tp.param(wp), p, sa, sw, spec);
    else
      mixed_conv2d(tp, x, tp.param(wp), p, sa, sw, top_channels(gamma, k_percent, "conv"), spec);
    return tp.held_bytes() - before;
  };
  const std::size_t y = std::size_t(co) * plane;
  // CSQ K = 20%: 2 selected channels: 4 * 2 quantized channels saved (the 8 unselected ones are
  // read back from x), plus the output
  CHECK(measure(20.0, false) == std::size_t(8) * plane + y);
  // all channels, fused: 4 * 10 channels + output
  CHECK(measure(100.0, false) == std::size_t(40) * plane + y);
  // naive: per candidate the codes (10 channels) and the branch output, then the mix output
  CHECK(measure(0, true) == 4 * (std::size_t(10) * plane + y) + y);
}

TEST_CASE("bad search input names the layer and the value") {
  jaq::tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::full({2, 1, 4, 4}, 0.5f));
  auto w = tp.variable(jaq::tensor<float>::full({2, 2, 3, 3}, 0.1f));
  auto p = tp.constant(jaq::tensor<float>::full({2}, 0.5f));
  std::vector<jaq::var<float>> sa{tp.variable(jaq::tensor<float>::full({1}, 0.1f)), tp.variable(jaq::tensor<float>::full({1}, 0.1f))};
  std::vector<jaq::var<float>> sw{tp.variable(jaq::tensor<float>::full({2}, 0.1f)), tp.variable(jaq::tensor<float>::full({2}, 0.1f))};
  CHECK_THROWS_WITH_AS(mixed_conv2d(tp, x, w, p, sa, sw, channel_mask::all(2), {.bits = {2, 9}, .name = "blocks.0.conv"}),
                       "blocks.0.conv: bits: unsupported bit-width 9 (supported: 1,2,3,4,5,6,7,8)", jaq::config_error);
  CHECK_THROWS_AS(mixed_conv2d(tp, x, w, p, sa, sw, channel_mask::all(3), {.bits = {2, 4}, .name = "c"}), jaq::model_error);
  CHECK_THROWS_WITH_AS(naive_mixed_conv2d(tp, x, w, p, sa, sw, {.bits = {0, 4}, .name = "fc"}),
                       "fc: bits: unsupported bit-width 0 (supported: 1,2,3,4,5,6,7,8)", jaq::config_error);
}
