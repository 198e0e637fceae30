#include "jaq/autograd/ops/conv2d.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

namespace {

struct conv_case {
  std::int64_t ci, co, n, h, w, k, stride, padding, groups;
};

// The obvious direct convolution, channel-major, in double.
std::vector<double> reference_conv(const jaq::tensor<float>& x, const jaq::tensor<float>& wt, const conv_case& c,
                                   std::int64_t ho, std::int64_t wo) {
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
    {.ci = 4, .co = 4, .n = 2, .h = 6, .w = 5, .k = 3, .stride = 2, .padding = 1, .groups = 4},  // depthwise
    {.ci = 3, .co = 3, .n = 2, .h = 7, .w = 7, .k = 5, .stride = 1, .padding = 2, .groups = 3},  // depthwise 5x5
    {.ci = 4, .co = 5, .n = 3, .h = 4, .w = 3, .k = 1, .stride = 1, .padding = 0, .groups = 1},  // pointwise
    {.ci = 4, .co = 6, .n = 2, .h = 4, .w = 4, .k = 1, .stride = 1, .padding = 0, .groups = 2},  // grouped 1x1
    {.ci = 2, .co = 2, .n = 1, .h = 5, .w = 5, .k = 1, .stride = 2, .padding = 0, .groups = 1},  // strided 1x1
};

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
      auto y = jaq::conv2d(tp, tp.constant(xt.clone()), tp.constant(wt.clone()),
                           {.stride = c.stride, .padding = c.padding, .groups = c.groups});
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
  auto r = jaq::gradcheck([&](tape<double>& tp, std::span<const var<double>> v) {
    auto a = jaq::conv2d(tp, v[0], v[1], {.stride = 2, .padding = 1});   // (3, 2, 3, 3)
    auto b = jaq::conv2d(tp, v[0], v[2]);                                 // pointwise (2, 2, 5, 5)
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
  }, in);
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
