#include "jaq/autograd/ops/batch_norm.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "jaq/autograd/gradcheck.hpp"
#include "tests/autograd/helpers.hpp"

using jaq::tape;
using jaq::var;

TEST_CASE("batch_norm in training normalises each channel and updates the running statistics") {
  jaq::rng gen(31);
  const std::int64_t c = 3, n = 4, hw = 5 * 3;
  auto xt = jaq::test::random_tensor<float>({c, n, 5, 3}, gen, 2.0, 6.0);  // mean far from 0
  auto st = jaq::batch_norm_state<float>::fresh(c);
  tape<float> tp;
  auto gamma = tp.constant(jaq::tensor<float>::full({c}, 2.0f));
  auto beta = tp.constant(jaq::tensor<float>::full({c}, 0.5f));
  auto y = jaq::batch_norm(tp, tp.constant(xt.clone()), gamma, beta, st, {.training = true, .momentum = 0.1});
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0, ym = 0, yv = 0;
    const std::int64_t m = n * hw;
    for (std::int64_t i = 0; i < m; ++i) mean += xt[ch * m + i];
    mean /= m;
    for (std::int64_t i = 0; i < m; ++i) var += (xt[ch * m + i] - mean) * (xt[ch * m + i] - mean);
    for (std::int64_t i = 0; i < m; ++i) ym += y.value()[ch * m + i];
    ym /= m;
    for (std::int64_t i = 0; i < m; ++i) yv += (y.value()[ch * m + i] - ym) * (y.value()[ch * m + i] - ym);
    CHECK(ym == doctest::Approx(0.5).epsilon(1e-4));
    CHECK(yv / m == doctest::Approx(4.0 * (var / m) / (var / m + 1e-5)).epsilon(1e-4));
    CHECK(st.running_mean[ch] == doctest::Approx(0.1 * mean).epsilon(1e-5));
    CHECK(st.running_var[ch] == doctest::Approx(0.9 + 0.1 * var / (m - 1)).epsilon(1e-5));
  }
}

TEST_CASE("batch_norm in evaluation uses the running statistics and leaves them alone") {
  auto st = jaq::batch_norm_state<double>::fresh(2);
  st.running_mean[0] = 1.0;
  st.running_mean[1] = -2.0;
  st.running_var[0] = 4.0;
  st.running_var[1] = 0.25;
  tape<double> tp;
  jaq::tensor<double> x({2, 1, 1, 2});
  x[0] = 3;
  x[1] = 1;
  x[2] = -2;
  x[3] = -1;
  auto y = jaq::batch_norm(tp, tp.constant(std::move(x)), tp.constant(jaq::tensor<double>::full({2}, 1.0)),
                           tp.constant(jaq::tensor<double>::zeros({2})), st, {.training = false, .eps = 0.0});
  CHECK(y.value()[0] == doctest::Approx(1.0));
  CHECK(y.value()[1] == doctest::Approx(0.0));
  CHECK(y.value()[2] == doctest::Approx(0.0));
  CHECK(y.value()[3] == doctest::Approx(2.0));
  CHECK(st.running_mean[0] == 1.0);
  CHECK(st.running_var[1] == 0.25);
}

TEST_CASE("batch_norm passes the finite-difference check in training and evaluation") {
  jaq::rng gen(32);
  for (bool training : {true, false}) {
    CAPTURE(training);
    std::vector<jaq::tensor<double>> in;
    in.push_back(jaq::test::random_tensor<double>({3, 2, 3, 2}, gen, -2, 3));
    in.push_back(jaq::test::random_tensor<double>({3}, gen, 0.5, 1.5));
    in.push_back(jaq::test::random_tensor<double>({3}, gen));
    auto st = jaq::batch_norm_state<double>::fresh(3);
    st.running_mean.fill(0.3);
    st.running_var.fill(1.7);
    auto r = jaq::gradcheck(
        [&](tape<double>& tp, std::span<const var<double>> v) {
          auto s = jaq::batch_norm_state<double>{st.running_mean.clone(), st.running_var.clone()};
          return jaq::batch_norm(tp, v[0], v[1], v[2], s, {.training = training});
        },
        in);
    CHECK_MESSAGE(r.ok, r);
  }
}

TEST_CASE("batch_norm gives the same bits with 1 and 2 threads on a large channel") {
  jaq::rng gen(33);
  auto xt = jaq::test::random_tensor<float>({4, 64, 28, 28}, gen);
  std::vector<float> out[2];
  for (int t = 0; t < 2; ++t) {
    auto st = jaq::batch_norm_state<float>::fresh(4);
    tape<float> tp({.threads = t + 1});
    auto y = jaq::batch_norm(tp, tp.constant(xt.clone()), tp.constant(jaq::tensor<float>::full({4}, 1.0f)),
                             tp.constant(jaq::tensor<float>::zeros({4})), st);
    out[t].assign(y.value().begin(), y.value().end());
  }
  CHECK(out[0] == out[1]);
}

TEST_CASE("batch_norm rejects mismatched parameters and single-value channels") {
  tape<float> tp;
  auto st = jaq::batch_norm_state<float>::fresh(3);
  auto x = tp.constant(jaq::tensor<float>::zeros({3, 2, 2, 2}));
  auto g4 = tp.constant(jaq::tensor<float>::zeros({4}));
  auto b3 = tp.constant(jaq::tensor<float>::zeros({3}));
  CHECK_THROWS_WITH_AS(jaq::batch_norm(tp, x, g4, b3, st), doctest::Contains("gamma (4) does not match 3 channels"), jaq::model_error);
  auto x1 = tp.constant(jaq::tensor<float>::zeros({3, 1, 1, 1}));
  CHECK_THROWS_AS(jaq::batch_norm(tp, x1, b3, b3, st), jaq::model_error);
}

TEST_CASE("batch_norm with a fused ReLU/ReLU6 equals the activation applied after it, values and gradients") {
  jaq::rng gen(34);
  for (auto act : {jaq::fused_activation::relu, jaq::fused_activation::relu6}) {
    for (bool training : {true, false}) {
      CAPTURE(training);
      std::vector<jaq::tensor<double>> in;
      in.push_back(jaq::test::random_tensor<double>({2, 3, 2, 2}, gen, -2, 3));
      in.push_back(jaq::test::random_tensor<double>({2}, gen, 2.0, 4.0));  // large gamma: some outputs above 6
      in.push_back(jaq::test::random_tensor<double>({2}, gen, 0.5, 1.5));
      auto st = jaq::batch_norm_state<double>::fresh(2);
      auto fused = [&](tape<double>& tp, std::span<const var<double>> v) {
        auto s = jaq::batch_norm_state<double>{st.running_mean.clone(), st.running_var.clone()};
        return jaq::batch_norm(tp, v[0], v[1], v[2], s, {.training = training, .activation = act});
      };
      auto r = jaq::gradcheck(fused, in);
      CHECK_MESSAGE(r.ok, r);
      tape<double> tp;
      std::vector<var<double>> v;
      for (auto& t : in) v.push_back(tp.constant(t.clone()));
      auto s1 = jaq::batch_norm_state<double>{st.running_mean.clone(), st.running_var.clone()};
      auto plain = jaq::batch_norm(tp, v[0], v[1], v[2], s1, {.training = training});
      auto f = fused(tp, v);
      for (std::int64_t i = 0; i < f.value().size(); ++i) {
        const double p = plain.value()[i];
        const double want = act == jaq::fused_activation::relu ? std::max(p, 0.0) : std::min(std::max(p, 0.0), 6.0);
        CHECK(f.value()[i] == doctest::Approx(want));
      }
    }
  }
}

TEST_CASE("batch_norm's AVX2 float kernels match the portable ones") {
  // Where the CPU has no AVX2 both calls take the portable path and the check is trivial.
  jaq::rng gen(35);
  for (std::int64_t m : {1, 7, 8, 1023, 1024, 1025, 5000}) {
    CAPTURE(m);
    auto x = jaq::test::random_tensor<float>({m}, gen, -2.0, 3.0);
    auto g = jaq::test::random_tensor<float>({m}, gen);
    auto y = jaq::test::random_tensor<float>({m}, gen, -1.0, 7.0);
    double a1, a2, b1, b2;
    jaq::detail::shifted_moments(x.data(), m, x[0], a1, a2, true);
    jaq::detail::shifted_moments(x.data(), m, x[0], b1, b2, false);
    CHECK(a1 == doctest::Approx(b1).epsilon(1e-5).scale(m));
    CHECK(a2 == doctest::Approx(b2).epsilon(1e-5));
    for (const float* yy : {static_cast<const float*>(nullptr), static_cast<const float*>(y.data())}) {
      jaq::detail::grad_moments(g.data(), x.data(), m, 0.3f, a1, a2, yy, 6.0f, true);
      jaq::detail::grad_moments(g.data(), x.data(), m, 0.3f, b1, b2, yy, 6.0f, false);
      CHECK(a1 == doctest::Approx(b1).epsilon(1e-5).scale(m));
      CHECK(a2 == doctest::Approx(b2).epsilon(1e-5).scale(m));
      for (bool ow : {true, false}) {
        std::vector<float> o1(static_cast<std::size_t>(m), 0.5f), o2 = o1;
        jaq::detail::bn_input_grad(g.data(), x.data(), yy, 6.0f, m, 1.5f, 0.1f, 0.2f, 0.3f, o1.data(), ow, true);
        jaq::detail::bn_input_grad(g.data(), x.data(), yy, 6.0f, m, 1.5f, 0.1f, 0.2f, 0.3f, o2.data(), ow, false);
        for (std::size_t i = 0; i < o1.size(); ++i) CHECK(o1[i] == doctest::Approx(o2[i]).epsilon(1e-5).scale(1));
      }
    }
    for (bool clamp : {false, true}) {
      std::vector<float> o1(static_cast<std::size_t>(m)), o2 = o1;
      jaq::detail::affine(x.data(), o1.data(), m, 1.5f, -0.25f, clamp, 6.0f, true);
      jaq::detail::affine(x.data(), o2.data(), m, 1.5f, -0.25f, clamp, 6.0f, false);
      for (std::size_t i = 0; i < o1.size(); ++i) CHECK(o1[i] == doctest::Approx(o2[i]).epsilon(1e-5).scale(1));
    }
  }
}
