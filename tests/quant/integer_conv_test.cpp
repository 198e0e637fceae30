#include "jaq/quant/integer_conv.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <type_traits>
#include <vector>

#include "jaq/core/rng.hpp"
#include "jaq/quant/lsq.hpp"

using namespace jaq::quant;

namespace {

// The fake-quant forward as a float GEMM computes it: sum of code products held in float, in an
// order unlike the integer loop (reduction index reversed and split into two interleaved partial
// sums, as a blocked/vectorised GEMM would), then the shared rescale.
std::vector<float> conv2d_float_codes(const conv_geometry& g, const std::vector<float>& a, const std::vector<float>& w) {
  const int ho = g.ho, wo = g.wo;
  std::vector<float> out(static_cast<std::size_t>(g.output_size()));
  const int k = g.kh;
  for (int n = 0; n < g.n; ++n)
    for (int o = 0; o < g.co; ++o)
      for (int y = 0; y < ho; ++y)
        for (int x = 0; x < wo; ++x) {
          float even = 0, odd = 0;
          int t = 0;
          for (int c = g.c - 1; c >= 0; --c)
            for (int ky = k - 1; ky >= 0; --ky)
              for (int kx = k - 1; kx >= 0; --kx, ++t) {
                const int iy = y * g.stride - g.pad + ky, ix = x * g.stride - g.pad + kx;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const float p = a[((std::size_t(n) * g.c + c) * g.h + iy) * g.w + ix] * w[((std::size_t(o) * g.c + c) * k + ky) * k + kx];
                (t % 2 ? odd : even) += p;
              }
          out[((std::size_t(n) * g.co + o) * ho + y) * wo + x] = even + odd;
        }
  return out;
}

template <class A, class W>
struct pair_of {
  using act = A;
  using wgt = W;
};

}  // namespace

TEST_CASE_TEMPLATE("integer reference conv == fake-quant conv forward, bit for bit", P, pair_of<unsigned_grid<2>, signed_grid<2>>,
                   pair_of<unsigned_grid<3>, signed_grid<3>>, pair_of<unsigned_grid<4>, signed_grid<4>>,
                   pair_of<unsigned_grid<8>, signed_grid<8>>, pair_of<signed_grid<8>, signed_grid<8>>,
                   pair_of<unsigned_grid<4>, signed_grid<8>>) {
  using GA = typename P::act;
  using GW = typename P::wgt;
  const conv_geometry g = jaq::conv_geometry::of({.c = 6, .n = 2, .h = 7, .w = 6, .kh = 3, .kw = 3, .stride = 2, .pad = 1, .co = 5});
  REQUIRE(g.reduction() <= exact_reduction_limit(std::max(GA::q_n, GA::q_p), GW::q_n));
  jaq::rng r(17);
  std::vector<float> x(std::size_t(g.input_size())), w(std::size_t(g.weight_size()));
  for (auto& v : x) v = GA::is_signed ? float(r.normal()) : float(std::fabs(r.normal()) * 1.3);
  for (auto& v : w) v = float(r.normal() * 0.2);
  const float s_a = lsq_init_step(x, GA::q_p);
  std::vector<float> s_w(std::size_t(g.co));
  lsq_init_step_per_channel(w, GW::q_p, s_w);
  const std::vector<float> bias{0.1f, -0.2f, 0.3f, 0.0f, 1.5f};

  // Integer path: int8/uint8 codes, int32 accumulation, rescale.
  std::vector<typename GA::storage> a_codes(x.size());
  std::vector<std::int8_t> w_codes(w.size());
  lsq_codes<GA>(x, s_a, a_codes);
  for (int o = 0; o < g.co; ++o) {
    const std::size_t k = std::size_t(g.reduction());
    lsq_codes<GW>(std::span<const float>(w).subspan(o * k, k), s_w[std::size_t(o)], std::span<std::int8_t>(w_codes).subspan(o * k, k));
  }
  std::vector<std::int32_t> acc(std::size_t(g.output_size()));
  conv2d_int32<typename GA::storage>(g, a_codes, w_codes, acc);
  std::vector<float> y_int(acc.size());
  rescale_output<std::int32_t>(acc, g.n, g.co, s_a, s_w, bias, y_int);

  // Fake-quant path: the float codes v_hat / s that the fake-quant ops produce (lsq_code), a
  // float conv over them in another order, the same rescale.
  std::vector<float> fa(x.size()), fw(w.size());
  for (std::size_t i = 0; i < x.size(); ++i) fa[i] = lsq_code(x[i], s_a, GA::q_n, GA::q_p);
  const std::size_t k = std::size_t(g.reduction());
  for (std::size_t i = 0; i < w.size(); ++i) fw[i] = lsq_code(w[i], s_w[i / k], GW::q_n, GW::q_p);
  const auto facc = conv2d_float_codes(g, fa, fw);
  std::vector<float> y_fq(facc.size());
  rescale_output<float>(facc, g.n, g.co, s_a, s_w, bias, y_fq);

  for (std::size_t i = 0; i < acc.size(); ++i) {
    REQUIRE(facc[i] == float(acc[i]));
    REQUIRE(y_fq[i] == y_int[i]);  // tolerance 0
  }

  // The textbook fake-quant forward, conv(x_hat, w_hat) in float, agrees up to float rounding of
  // the sum: |error| <= (K + 2) u sum|x_hat w_hat|, u = 2^-24.
  std::vector<float> xh(x.size()), wh(w.size()), one{1.0f};
  for (std::size_t i = 0; i < x.size(); ++i) xh[i] = fa[i] * s_a;
  for (std::size_t i = 0; i < w.size(); ++i) wh[i] = fw[i] * s_w[i / k];
  const auto direct = conv2d_float_codes(g, xh, wh);
  std::vector<float> abs_a(fa.size()), abs_w(fw.size());
  for (std::size_t i = 0; i < fa.size(); ++i) abs_a[i] = std::fabs(xh[i]);
  for (std::size_t i = 0; i < fw.size(); ++i) abs_w[i] = std::fabs(wh[i]);
  const auto mag = conv2d_float_codes(g, abs_a, abs_w);
  const double u = std::ldexp(1.0, -24);
  const std::size_t spatial = acc.size() / (std::size_t(g.n) * g.co);
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const float b = bias[(i / spatial) % std::size_t(g.co)];
    REQUIRE(std::fabs(double(direct[i] + b) - double(y_int[i])) <= double(g.reduction() + 4) * u * (double(mag[i]) + std::fabs(b)) + 1e-30);
  }
}

TEST_CASE("integer reference linear == float sum of codes") {
  jaq::rng r(1);
  const int n = 3, in = 40, out = 4;
  std::vector<std::uint8_t> a(std::size_t(n) * in);
  std::vector<std::int8_t> w(std::size_t(out) * in);
  for (auto& v : a) v = std::uint8_t(r.below(16));
  for (auto& v : w) v = std::int8_t(int(r.below(16)) - 8);
  std::vector<std::int32_t> acc(std::size_t(n) * out);
  linear_int32<std::uint8_t>(n, in, out, a, w, acc);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      float s = 0;
      for (int k = in - 1; k >= 0; --k) s += float(a[std::size_t(i) * in + k]) * float(w[std::size_t(o) * in + k]);
      REQUIRE(float(acc[std::size_t(i) * out + o]) == s);
    }
}

TEST_CASE("exact reduction limit: K q_a q_w <= 2^24") {
  CHECK(exact_reduction_limit(15, 8) == 139810);
  CHECK(exact_reduction_limit(255, 128) == 514);
  CHECK(exact_reduction_limit(3, 2) == (1 << 24) / 6);
  static_assert(exact_reduction_limit(255, 128) * 255 * 128 <= (1 << 24));
}

TEST_CASE("conv_geometry prints and sizes itself") {
  const conv_geometry g = jaq::conv_geometry::of({.c = 3, .n = 2, .h = 8, .w = 8, .kh = 3, .kw = 3, .stride = 1, .pad = 1, .co = 4});
  CHECK(g.ho == 8);
  CHECK(g.reduction() == 27);
  std::ostringstream os;
  os << g;
  CHECK(os.str() == "conv(C=3, N=2, H=8, W=8 -> Co=4, k=3x3, stride=1, pad=1)");
}

namespace {

// (N, C, H, W) <-> (C, N, H, W)
template <class V>
std::vector<V> swap_batch_channel(const std::vector<V>& v, int a, int b, std::int64_t plane) {
  std::vector<V> out(v.size());
  for (int i = 0; i < a; ++i)
    for (int j = 0; j < b; ++j)
      for (std::int64_t p = 0; p < plane; ++p) out[(std::size_t(j) * a + i) * plane + p] = v[(std::size_t(i) * b + j) * plane + p];
  return out;
}

template <class A>
void check_fast_equals_reference(const conv_geometry& g, jaq::rng& gen, int threads) {
  CAPTURE(g);
  CAPTURE(threads);
  constexpr bool is_signed = std::is_signed_v<A>;
  std::vector<A> act(static_cast<std::size_t>(g.input_size()));
  std::vector<std::int8_t> w(static_cast<std::size_t>(g.weight_size()));
  // full-range codes (int8 -128..127, uint8 0..255): the largest products occur
  for (auto& a : act) a = static_cast<A>(is_signed ? int(gen.below(256)) - 128 : int(gen.below(256)));
  for (auto& x : w) x = static_cast<std::int8_t>(int(gen.below(256)) - 128);
  std::vector<std::int32_t> ref(static_cast<std::size_t>(g.output_size())), fast(ref.size(), -7);
  conv2d_int32<A>(g, act, w, ref);
  const std::int64_t hw = std::int64_t(g.h) * g.w, howo = std::int64_t(g.ho) * g.wo;
  const std::vector<A> act_cm = swap_batch_channel(act, g.n, g.c, hw);
  conv2d_int32_cm<A>(jaq::tbb_backend{threads}, g, act_cm, w, fast);
  const std::vector<std::int32_t> fast_nchw = swap_batch_channel(fast, g.co, g.n, howo);
  CHECK(fast_nchw == ref);
}

}  // namespace

TEST_CASE_TEMPLATE("fast channel-major integer conv == the naive reference on random shapes", A, std::int8_t, std::uint8_t) {
  jaq::rng gen(11);
  const std::vector<conv_geometry> fixed = {
      jaq::conv_geometry::of({.c = 3, .n = 2, .h = 8, .w = 8, .kh = 3, .kw = 3, .pad = 1, .co = 4}),
      jaq::conv_geometry::of({.c = 5, .n = 3, .h = 9, .w = 7, .kh = 3, .kw = 3, .stride = 2, .pad = 1, .co = 6}),
      jaq::conv_geometry::of({.c = 4, .n = 9, .h = 28, .w = 28, .kh = 3, .kw = 3, .pad = 1, .co = 7}),   // 2+ chunks, > 256 columns
      jaq::conv_geometry::of({.c = 8, .n = 2, .h = 6, .w = 6, .kh = 1, .kw = 1, .co = 6, .groups = 2}),  // grouped 1x1
      jaq::conv_geometry::of({.c = 6, .n = 2, .h = 7, .w = 7, .kh = 3, .kw = 3, .stride = 2, .pad = 1, .co = 6, .groups = 6}),  // depthwise
      jaq::conv_geometry::of({.c = 5, .n = 3, .h = 11, .w = 11, .kh = 5, .kw = 5, .pad = 2, .co = 5, .groups = 5}),  // depthwise 5x5
      jaq::conv_geometry::of({.c = 4, .n = 1, .h = 5, .w = 5, .kh = 5, .kw = 5, .pad = 0, .co = 8}),                 // one output pixel
      jaq::conv_geometry::of({.c = 6, .n = 2, .h = 6, .w = 5, .kh = 3, .kw = 3, .stride = 2, .pad = 2, .co = 9, .groups = 3}),
  };
  for (const auto& g : fixed) {
    check_fast_equals_reference<A>(g, gen, 1);
    check_fast_equals_reference<A>(g, gen, 2);
  }
  for (int trial = 0; trial < 40; ++trial) {
    conv_geometry g;
    const int groups = int(gen.below(3)) + 1;
    const bool depthwise = gen.below(4) == 0;
    g.n = int(gen.below(4)) + 1;
    g.kh = int(gen.below(3)) * 2 + 1;
    g.stride = int(gen.below(2)) + 1;
    g.pad = int(gen.below(std::uint64_t(g.kh / 2 + 2)));
    g.h = g.kh + int(gen.below(10));
    g.w = g.kh + int(gen.below(10));
    g.kw = g.kh;
    if (depthwise) {
      g.c = g.co = g.groups = int(gen.below(6)) + 2;
    } else {
      g.groups = groups;
      g.c = groups * (int(gen.below(4)) + 1);
      g.co = groups * (int(gen.below(5)) + 1);
    }
    g = jaq::conv_geometry::of(g);
    check_fast_equals_reference<A>(g, gen, 2);
  }
}
