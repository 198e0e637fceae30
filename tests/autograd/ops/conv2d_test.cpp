#include "jaq/autograd/ops/conv2d.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

namespace {

struct conv_case {
  std::int64_t ci, co, n, h, w, k, stride, padding, groups;
};

// The obvious direct convolution, channel-major, in double.
std::vector<double> reference_conv(const jaq::tensor<float>& x, const jaq::tensor<float>& wt, const conv_case& c, std::int64_t ho,
                                   std::int64_t wo) {
  std::vector<double> y(static_cast<std::size_t>(c.co * c.n * ho * wo), 0.0);
  const std::int64_t cig = c.ci / c.groups, cog = c.co / c.groups;
  for (std::int64_t o = 0; o < c.co; ++o)
    for (std::int64_t n = 0; n < c.n; ++n)
      for (std::int64_t oy = 0; oy < ho; ++oy)
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          double s = 0;
          const std::int64_t g = o / cog;
          for (std::int64_t i = 0; i < cig; ++i)
            for (std::int64_t ky = 0; ky < c.k; ++ky)
              for (std::int64_t kx = 0; kx < c.k; ++kx) {
                const std::int64_t iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const std::int64_t ch = g * cig + i;
                s += double(x[((ch * c.n + n) * c.h + iy) * c.w + ix]) * wt[((o * cig + i) * c.k + ky) * c.k + kx];
              }
          y[static_cast<std::size_t>(((o * c.n + n) * ho + oy) * wo + ox)] = s;
        }
  return y;
}

const conv_case cases[] = {
    {.ci = 3, .co = 4, .n = 2, .h = 7, .w = 6, .k = 3, .stride = 1, .padding = 1, .groups = 1},
    {.ci = 3, .co = 4, .n = 2, .h = 7, .w = 6, .k = 3, .stride = 2, .padding = 1, .groups = 1},
    {.ci = 2, .co = 3, .n = 2, .h = 6, .w = 6, .k = 3, .stride = 1, .padding = 0, .groups = 1},
    {.ci = 4, .co = 6, .n = 2, .h = 5, .w = 5, .k = 3, .stride = 1, .padding = 1, .groups = 2},
    {.ci = 4, .co = 4, .n = 2, .h = 6, .w = 5, .k = 3, .stride = 2, .padding = 1, .groups = 4},    // depthwise
    {.ci = 3, .co = 3, .n = 2, .h = 7, .w = 7, .k = 5, .stride = 1, .padding = 2, .groups = 3},    // depthwise 5x5
    {.ci = 3, .co = 3, .n = 2, .h = 9, .w = 7, .k = 5, .stride = 2, .padding = 2, .groups = 3},    // depthwise 5x5 s2
    {.ci = 2, .co = 2, .n = 3, .h = 7, .w = 8, .k = 3, .stride = 2, .padding = 0, .groups = 2},    // depthwise s2 pad 0
    {.ci = 2, .co = 2, .n = 1, .h = 8, .w = 10, .k = 3, .stride = 3, .padding = 1, .groups = 2},   // depthwise s3
    {.ci = 2, .co = 2, .n = 2, .h = 10, .w = 10, .k = 2, .stride = 3, .padding = 1, .groups = 2},  // depthwise, phases no tap reads
    {.ci = 2, .co = 2, .n = 2, .h = 8, .w = 9, .k = 7, .stride = 1, .padding = 3, .groups = 2},    // depthwise 7x7: 49 taps, 9 a pass
    {.ci = 4, .co = 5, .n = 3, .h = 4, .w = 3, .k = 1, .stride = 1, .padding = 0, .groups = 1},    // pointwise
    {.ci = 4, .co = 6, .n = 2, .h = 4, .w = 4, .k = 1, .stride = 1, .padding = 0, .groups = 2},    // grouped 1x1
    {.ci = 2, .co = 2, .n = 1, .h = 5, .w = 5, .k = 1, .stride = 2, .padding = 0, .groups = 1},    // strided 1x1
    // one input channel: the direct kernel (single_input.hpp); rows longer and shorter than a
    // vector, output channels not a multiple of 4, more taps than a block, several chunks
    {.ci = 1, .co = 5, .n = 3, .h = 9, .w = 13, .k = 3, .stride = 1, .padding = 1, .groups = 1},
    {.ci = 1, .co = 4, .n = 2, .h = 8, .w = 8, .k = 3, .stride = 2, .padding = 1, .groups = 1},
    {.ci = 1, .co = 3, .n = 2, .h = 7, .w = 6, .k = 5, .stride = 1, .padding = 2, .groups = 1},
    {.ci = 1, .co = 6, .n = 9, .h = 6, .w = 20, .k = 3, .stride = 1, .padding = 0, .groups = 1},
    {.ci = 1, .co = 2, .n = 1, .h = 8, .w = 10, .k = 3, .stride = 3, .padding = 1, .groups = 1},
    {.ci = 1, .co = 2, .n = 2, .h = 5, .w = 5, .k = 2, .stride = 2, .padding = 0, .groups = 1},
    {.ci = 1, .co = 3, .n = 2, .h = 5, .w = 5, .k = 1, .stride = 2, .padding = 0, .groups = 1},
};

// Gradients from their definitions, in double: gw[o,i,ky,kx] = gw0 + sum gy x and
// gx[ch,n,iy,ix] = gx0 + sum gy w.
void reference_grads(const jaq::tensor<float>& x, const jaq::tensor<float>& wt, const jaq::tensor<float>& gy, const conv_case& c,
                     std::int64_t ho, std::int64_t wo, double gw0, double gx0, std::vector<double>& gwr, std::vector<double>& gxr) {
  gwr.assign(std::size_t(wt.size()), gw0);
  gxr.assign(std::size_t(x.size()), gx0);
  const std::int64_t cig = c.ci / c.groups, cog = c.co / c.groups;
  for (std::int64_t o = 0; o < c.co; ++o)
    for (std::int64_t n = 0; n < c.n; ++n)
      for (std::int64_t oy = 0; oy < ho; ++oy)
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const double d = gy[((o * c.n + n) * ho + oy) * wo + ox];
          for (std::int64_t i = 0; i < cig; ++i)
            for (std::int64_t ky = 0; ky < c.k; ++ky)
              for (std::int64_t kx = 0; kx < c.k; ++kx) {
                const std::int64_t iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const std::int64_t ch = (o / cog) * cig + i, xi = ((ch * c.n + n) * c.h + iy) * c.w + ix;
                const std::int64_t wi = ((o * cig + i) * c.k + ky) * c.k + kx;
                gwr[std::size_t(wi)] += d * x[xi];
                gxr[std::size_t(xi)] += d * wt[wi];
              }
        }
}

std::string describe(const conv_case& c) {
  std::ostringstream os;
  os << "ci " << c.ci << " co " << c.co << " k " << c.k << " stride " << c.stride << " pad " << c.padding << " groups " << c.groups;
  return os.str();
}

}  // namespace

TEST_CASE("conv2d matches the direct convolution for every option, 1 and 2 threads") {
  jaq::rng gen(21);
  for (const conv_case& c : cases) {
    CAPTURE(describe(c));
    auto xt = jaq::test::random_tensor<float>({c.ci, c.n, c.h, c.w}, gen);
    auto wt = jaq::test::random_tensor<float>({c.co, c.ci / c.groups, c.k, c.k}, gen);
    const std::int64_t ho = (c.h + 2 * c.padding - c.k) / c.stride + 1, wo = (c.w + 2 * c.padding - c.k) / c.stride + 1;
    const auto ref = reference_conv(xt, wt, c, ho, wo);
    for (int threads : {1, 2}) {
      tape<float> tp({.threads = threads});
      auto y =
          jaq::conv2d(tp, tp.constant(xt.clone()), tp.constant(wt.clone()), {.stride = c.stride, .padding = c.padding, .groups = c.groups});
      REQUIRE(y.shape() == jaq::shape{c.co, c.n, ho, wo});
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - y.value()[static_cast<std::int64_t>(i)]));
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("conv2d passes the finite-difference check for every option") {
  jaq::rng gen(22);
  for (const conv_case& c : cases) {
    CAPTURE(describe(c));
    std::vector<jaq::tensor<double>> in;
    in.push_back(jaq::test::random_tensor<double>({c.ci, c.n, c.h, c.w}, gen));
    in.push_back(jaq::test::random_tensor<double>({c.co, c.ci / c.groups, c.k, c.k}, gen));
    const jaq::conv2d_options o{.stride = c.stride, .padding = c.padding, .groups = c.groups};
    auto r = jaq::gradcheck([&](tape<double>& tp, std::span<const var<double>> v) { return jaq::conv2d(tp, v[0], v[1], o); }, in);
    CHECK_MESSAGE(r.ok, r);
  }
}

TEST_CASE("conv2d adds its input gradient to another consumer's (both orders)") {
  jaq::rng gen(24);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({2, 2, 5, 5}, gen));
  in.push_back(jaq::test::random_tensor<double>({3, 2, 3, 3}, gen));
  in.push_back(jaq::test::random_tensor<double>({2, 2, 1, 1}, gen));
  auto r = jaq::gradcheck(
      [&](tape<double>& tp, std::span<const var<double>> v) {
        auto a = jaq::conv2d(tp, v[0], v[1], {.stride = 2, .padding = 1});  // (3, 2, 3, 3)
        auto b = jaq::conv2d(tp, v[0], v[2]);                               // pointwise (2, 2, 5, 5)
        auto c = jaq::conv2d(tp, b, v[1], {.stride = 2, .padding = 1});
        jaq::tensor<double> s(jaq::shape{1});
        s[0] = 0;
        for (std::int64_t i = 0; i < a.value().size(); ++i) s[0] += a.value()[i] * c.value()[i];
        return tp.record("dot", std::move(s), {a, c}, [](jaq::backward_context<double>& ctx) {
          for (std::size_t k = 0; k < 2; ++k) {
            auto& g = ctx.grad_input(k);
            for (std::int64_t i = 0; i < g.size(); ++i) g[i] += ctx.grad_output()[0] * ctx.input(1 - k)[i];
          }
        });
      },
      in);
  CHECK_MESSAGE(r.ok, r);
}

TEST_CASE("conv2d with a large batch gives the same bits with 1 and 2 threads, forward and backward") {
  jaq::rng gen(23);
  auto xt = jaq::test::random_tensor<float>({8, 61, 14, 14}, gen);  // several chunks, the last one short
  auto wt = jaq::test::random_tensor<float>({16, 8, 3, 3}, gen);
  std::vector<float> out[2], gw[2], gx[2];
  for (int t = 0; t < 2; ++t) {
    tape<float> tp({.threads = t + 1});
    jaq::parameter<float> w{.name = "w", .value = wt.clone(), .grad = {}};
    auto x = tp.variable(xt.clone());
    auto y = jaq::conv2d(tp, x, tp.param(w), {.stride = 2, .padding = 1});
    out[t].assign(y.value().begin(), y.value().end());
    // loss = sum(y * y) / 2 through a tiny op: gradient = y
    jaq::tensor<float> l(jaq::shape{1});
    l[0] = 0;
    auto loss = tp.record("half_square_sum", std::move(l), {y}, [](jaq::backward_context<float>& ctx) {
      auto& g = ctx.grad_input(0);
      for (std::int64_t i = 0; i < g.size(); ++i) g[i] += ctx.input(0)[i];
    });
    tp.backward(loss);
    gw[t].assign(w.grad.begin(), w.grad.end());
    gx[t].assign(x.grad().begin(), x.grad().end());
    CHECK(tp.held_bytes() == 0);
  }
  CHECK(out[0] == out[1]);
  CHECK(gw[0] == gw[1]);
  CHECK(gx[0] == gx[1]);
}

TEST_CASE("conv2d holds only its output for backward (the column matrix is rebuilt)") {
  tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::zeros({2, 3, 5, 5}));
  auto w = tp.variable(jaq::tensor<float>::zeros({4, 2, 3, 3}));
  const std::size_t before = tp.held_bytes();
  auto y = jaq::conv2d(tp, x, w, {.padding = 1});
  CHECK(tp.held_bytes() - before == y.value().bytes());
}

TEST_CASE("conv2d names the shapes and options it cannot use") {
  tape<float> tp;
  auto x = tp.constant(jaq::tensor<float>::zeros({3, 1, 5, 5}));
  auto w = tp.constant(jaq::tensor<float>::zeros({4, 2, 3, 3}));
  CHECK_THROWS_WITH_AS(jaq::conv2d(tp, x, w), doctest::Contains("weight's second extent"), jaq::model_error);
  auto w2 = tp.constant(jaq::tensor<float>::zeros({4, 3, 7, 7}));
  CHECK_THROWS_WITH_AS(jaq::conv2d(tp, x, w2), doctest::Contains("kernel larger"), jaq::model_error);
  auto w3 = tp.constant(jaq::tensor<float>::zeros({4, 3, 3, 3}));
  CHECK_THROWS_WITH_AS(jaq::conv2d(tp, x, w3, {.stride = 0}), doctest::Contains("stride 0"), jaq::model_error);
}

namespace {

// Gradients of sum(y1 * y1) / 2 + sum(y2), y1 = y2 = conv2d(x, w) (two consumers of x and w, so
// both the written and the added input-gradient paths run), as doubles.
template <class T>
void strided_grads(const jaq::tensor<double>& xd, const jaq::tensor<double>& wd, std::int64_t pad, std::vector<double>& gx,
                   std::vector<double>& gw) {
  jaq::tensor<T> x(xd.shape()), w(wd.shape());
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(xd[i]);
  for (std::int64_t i = 0; i < w.size(); ++i) w[i] = static_cast<T>(wd[i]);
  tape<T> tp({.threads = 2});
  auto xv = tp.variable(std::move(x));
  auto wv = tp.variable(std::move(w));
  auto y1 = jaq::conv2d(tp, xv, wv, {.stride = 2, .padding = pad});
  auto y2 = jaq::conv2d(tp, xv, wv, {.stride = 2, .padding = pad});
  jaq::tensor<T> l(jaq::shape{1});
  l[0] = 0;
  auto loss = tp.record("mix", std::move(l), {y1, y2}, [](jaq::backward_context<T>& ctx) {
    auto& g1 = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g1.size(); ++i) g1[i] += ctx.input(0)[i];
    auto& g2 = ctx.grad_input(1);
    for (std::int64_t i = 0; i < g2.size(); ++i) g2[i] += T(1);
  });
  tp.backward(loss);
  gx.assign(xv.grad().begin(), xv.grad().end());
  gw.assign(wv.grad().begin(), wv.grad().end());
}

}  // namespace

TEST_CASE("conv2d's float gradients through the vectorised stride-2 path match the scalar double path") {
  jaq::rng gen(25);
  struct geo {
    std::int64_t h, w, k, pad;
  };
  for (const geo s : {geo{9, 17, 3, 1}, geo{12, 28, 3, 1}, geo{11, 14, 3, 0}, geo{10, 21, 5, 2}, geo{7, 8, 1, 0}}) {
    CAPTURE(s.w);
    CAPTURE(s.pad);
    auto xd = jaq::test::random_tensor<double>({3, 2, s.h, s.w}, gen);
    auto wd = jaq::test::random_tensor<double>({4, 3, s.k, s.k}, gen);
    std::vector<double> gxf, gwf, gxd, gwd;
    strided_grads<float>(xd, wd, s.pad, gxf, gwf);
    strided_grads<double>(xd, wd, s.pad, gxd, gwd);
    REQUIRE(gxf.size() == gxd.size());
    REQUIRE(gwf.size() == gwd.size());
    double worst = 0;
    for (std::size_t i = 0; i < gxd.size(); ++i) worst = std::max(worst, std::abs(gxf[i] - gxd[i]));
    for (std::size_t i = 0; i < gwd.size(); ++i) worst = std::max(worst, std::abs(gwf[i] - gwd[i]) / (1.0 + std::abs(gwd[i])));
    CHECK(worst < 1e-4);
  }
}

TEST_CASE(
    "the engine on scattered channel planes: serial and pool backends give the same bits, "
    "forward and both gradients match the double reference") {
  jaq::rng gen(99);
  for (const conv_case& c : cases) {
    CAPTURE(describe(c));
    const std::int64_t ho = (c.h + 2 * c.padding - c.k) / c.stride + 1, wo = (c.w + 2 * c.padding - c.k) / c.stride + 1;
    const auto x = jaq::test::random_tensor<float>({c.ci, c.n, c.h, c.w}, gen);
    const auto wt = jaq::test::random_tensor<float>({c.co, c.ci / c.groups, c.k, c.k}, gen);
    const auto gy = jaq::test::random_tensor<float>({c.co, c.n, ho, wo}, gen);
    const auto g = jaq::detail::conv_check("engine", x.shape(), wt.shape(), {.stride = c.stride, .padding = c.padding, .groups = c.groups});
    // every channel in its own buffer, in reverse order of memory: never one contiguous tensor
    const std::int64_t plane = c.n * c.h * c.w;
    std::vector<std::vector<float>> own(static_cast<std::size_t>(c.ci));
    std::vector<const float*> planes(static_cast<std::size_t>(c.ci));
    for (std::int64_t ch = c.ci - 1; ch >= 0; --ch) {
      own[std::size_t(ch)].assign(x.data() + ch * plane, x.data() + (ch + 1) * plane);
      planes[std::size_t(ch)] = own[std::size_t(ch)].data();
    }
    struct result {
      std::vector<float> y, gw, gx;
    };
    auto run = [&](auto backend) {
      result r{std::vector<float>(std::size_t(gy.size())), std::vector<float>(std::size_t(wt.size()), 5.0f),
               std::vector<float>(std::size_t(x.size()), 7.0f)};
      jaq::detail::conv_forward(backend, g, c.co, c.groups, planes.data(), wt.data(), r.y.data());
      jaq::detail::conv_backward(backend, g, c.co, c.groups, planes.data(), wt.data(), gy.data(), r.gw.data(), true, r.gx.data(),
                                 false);  // gx adds to its 7s
      return r;
    };
    const result s = run(jaq::serial_backend{});
    for (int threads : {1, 2}) {
      jaq::thread_pool pool(threads);
      const result p = run(pool.backend());
      CHECK(p.y == s.y);
      CHECK(p.gw == s.gw);
      CHECK(p.gx == s.gx);
    }
    const auto yr = reference_conv(x, wt, c, ho, wo);
    for (std::size_t i = 0; i < yr.size(); ++i) CHECK(s.y[i] == doctest::Approx(yr[i]).epsilon(1e-4));
    std::vector<double> gwr, gxr;  // gw overwritten, gx added to its 7s
    reference_grads(x, wt, gy, c, ho, wo, 0.0, 7.0, gwr, gxr);
    for (std::size_t i = 0; i < gwr.size(); ++i) CHECK(s.gw[i] == doctest::Approx(gwr[i]).epsilon(1e-4));
    for (std::size_t i = 0; i < gxr.size(); ++i) CHECK(s.gx[i] == doctest::Approx(gxr[i]).epsilon(1e-4));
  }
}

TEST_CASE("the single-input-channel kernel: AVX2 and portable paths against the double reference, 1 and 2 threads the same bits") {
  // Where the CPU has no AVX2 both runs take the portable path.
  jaq::rng gen(101);
  const conv_case big{.ci = 1, .co = 16, .n = 61, .h = 28, .w = 28, .k = 3, .stride = 1, .padding = 1, .groups = 1};
  const conv_case odd{.ci = 1, .co = 7, .n = 11, .h = 15, .w = 17, .k = 5, .stride = 2, .padding = 2, .groups = 1};
  const conv_case tiny{.ci = 1, .co = 3, .n = 2, .h = 4, .w = 5, .k = 3, .stride = 1, .padding = 0, .groups = 1};  // rows of 3
  for (const conv_case& c : {big, odd, tiny}) {
    CAPTURE(describe(c));
    const std::int64_t ho = (c.h + 2 * c.padding - c.k) / c.stride + 1, wo = (c.w + 2 * c.padding - c.k) / c.stride + 1;
    const auto x = jaq::test::random_tensor<float>({1, c.n, c.h, c.w}, gen);
    const auto wt = jaq::test::random_tensor<float>({c.co, 1, c.k, c.k}, gen);
    const auto gy = jaq::test::random_tensor<float>({c.co, c.n, ho, wo}, gen);
    const auto g = jaq::detail::conv_check("engine", x.shape(), wt.shape(), {.stride = c.stride, .padding = c.padding});
    REQUIRE(jaq::detail::is_single_input(g, 1));
    const float* xp = x.data();
    const auto yr = reference_conv(x, wt, c, ho, wo);
    std::vector<double> gwr, gxr;
    reference_grads(x, wt, gy, c, ho, wo, 0.5, -1.0, gwr, gxr);  // both added to
    for (bool avx2 : {true, false}) {
      CAPTURE(avx2);
      std::vector<float> y[2], gw[2], gx[2];
      for (int t = 0; t < 2; ++t) {
        jaq::thread_pool pool(t + 1);
        y[t].assign(std::size_t(gy.size()), 9.0f);
        gw[t].assign(std::size_t(wt.size()), 0.5f);
        gx[t].assign(std::size_t(x.size()), -1.0f);
        jaq::detail::single_input_forward(pool.backend(), g, c.co, x.data(), wt.data(), y[t].data(), avx2);
        jaq::detail::single_input_weight_grad(pool.backend(), g, c.co, x.data(), gy.data(), gw[t].data(), false, avx2);
        jaq::detail::conv_backward(pool.backend(), g, c.co, 1, &xp, wt.data(), gy.data(), static_cast<float*>(nullptr), false, gx[t].data(),
                                   false);
      }
      CHECK(y[0] == y[1]);
      CHECK(gw[0] == gw[1]);
      CHECK(gx[0] == gx[1]);
      double worst_y = 0, worst_gw = 0, worst_gx = 0;
      for (std::size_t i = 0; i < yr.size(); ++i) worst_y = std::max(worst_y, std::abs(yr[i] - y[0][i]) / (1 + std::abs(yr[i])));
      for (std::size_t i = 0; i < gwr.size(); ++i) worst_gw = std::max(worst_gw, std::abs(gwr[i] - gw[0][i]) / (1 + std::abs(gwr[i])));
      for (std::size_t i = 0; i < gxr.size(); ++i) worst_gx = std::max(worst_gx, std::abs(gxr[i] - gx[0][i]) / (1 + std::abs(gxr[i])));
      CHECK(worst_y < 1e-5);
      CHECK(worst_gw < 1e-4);
      CHECK(worst_gx < 1e-5);
    }
  }
}

TEST_CASE("the engine's row copy and add are exact for every length, whatever the build's vector width") {
  // copy_row overlaps its last vector, add_row falls back to narrower vectors: under
  // --config=native (16 lanes) rows of 7 and 14 take the 8- and 4-lane pieces.
  for (std::int64_t n = 0; n <= 70; ++n) {
    CAPTURE(n);
    std::vector<float> src(static_cast<std::size_t>(n)), dst(static_cast<std::size_t>(n) + 1, -7.0f), acc(static_cast<std::size_t>(n) + 1);
    for (std::int64_t i = 0; i < n; ++i) {
      src[static_cast<std::size_t>(i)] = 0.5f + static_cast<float>(i) * 1.25f;
      acc[static_cast<std::size_t>(i)] = static_cast<float>(i % 5) - 1.0f / 3.0f;
    }
    acc[static_cast<std::size_t>(n)] = 9.0f;
    std::vector<float> want(acc);
    for (std::int64_t i = 0; i < n; ++i) want[static_cast<std::size_t>(i)] += src[static_cast<std::size_t>(i)];
    jaq::detail::copy_row(src.data(), dst.data(), n);
    jaq::detail::add_row(src.data(), acc.data(), n);
    for (std::int64_t i = 0; i < n; ++i) CHECK(dst[static_cast<std::size_t>(i)] == src[static_cast<std::size_t>(i)]);
    CHECK(dst[static_cast<std::size_t>(n)] == -7.0f);  // nothing written past the row
    CHECK(acc == want);                                // each element added once, the last untouched
  }
}
