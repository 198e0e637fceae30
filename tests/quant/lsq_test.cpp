#include "jaq/quant/lsq.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "jaq/core/rng.hpp"
#include "jaq/quant/bit_set.hpp"

using namespace jaq::quant;

TEST_CASE("LSQ weights, spec vector: signed 2-bit, s = 0.5") {
  using G = signed_grid<2>;  // Q_N = 2, Q_P = 1
  const std::vector<float> v{0.3f, -1.2f, 2.5f};
  std::vector<float> out(3), g_in(3);
  lsq_forward<G>(v, 0.5f, out);
  CHECK(out == std::vector<float>{0.5f, -1.0f, 0.5f});
  const std::vector<float> ones(3, 1.0f);
  const double raw = lsq_backward<G>(v, 0.5f, ones, g_in);
  CHECK(g_in == std::vector<float>{1.0f, 0.0f, 0.0f});
  CHECK(raw == doctest::Approx(0.4 - 2.0 + 1.0).epsilon(1e-6));
  // N = number of weights of the layer = 3, g = 1/sqrt(3 * 1)
  CHECK(raw * lsq_grad_scale(3, G::q_p) == doctest::Approx(-0.346410).epsilon(1e-5));
}

TEST_CASE("LSQ activations, spec vector: unsigned 2-bit, both N conventions") {
  using G = unsigned_grid<2>;                                       // Q_P = 3
  const std::vector<float> x{0.2f, 0.9f, 2.0f, 0.0f, 1.3f, 0.74f};  // (batch 2, 3 features)
  std::vector<float> out(6), g_in(6);
  lsq_forward<G>(x, 0.5f, out);
  CHECK(out == std::vector<float>{0.0f, 1.0f, 1.5f, 0.0f, 1.5f, 0.5f});
  const std::vector<float> ones(6, 1.0f);
  const double raw = lsq_backward<G>(x, 0.5f, ones, g_in);
  CHECK(g_in == std::vector<float>{1, 1, 0, 1, 1, 1});
  CHECK(raw == doctest::Approx(2.72).epsilon(1e-6));
  const auto n_ex = lsq_activation_count(lsq_count::per_example, 6, 2);
  const auto n_all = lsq_activation_count(lsq_count::per_tensor, 6, 2);
  CHECK(n_ex == 3);
  CHECK(n_all == 6);
  CHECK(raw * lsq_grad_scale(n_ex, G::q_p) == doctest::Approx(0.906667).epsilon(1e-5));
  CHECK(raw * lsq_grad_scale(n_all, G::q_p) == doctest::Approx(0.641).epsilon(1e-3));
}

TEST_CASE("LSQ: the clip boundary passes the input gradient, just beyond it does not") {
  const float s = 0.25f;
  CHECK(lsq_grad_input(7 * s, s, 8, 7) == 1.0f);   // v/s == Q_P
  CHECK(lsq_grad_input(-8 * s, s, 8, 7) == 1.0f);  // v/s == -Q_N
  CHECK(lsq_grad_input(7.01f * s, s, 8, 7) == 0.0f);
  CHECK(lsq_grad_input(-8.01f * s, s, 8, 7) == 0.0f);
  CHECK(lsq_grad_step(7 * s, s, 8, 7) == 7.0f);
  CHECK(lsq_grad_step(-8 * s, s, 8, 7) == -8.0f);
  CHECK(lsq_grad_step(1.25f * s, s, 8, 7) == doctest::Approx(-0.25f));
  CHECK(lsq_value(0.5f * s, s, 8, 7) == 0.0f);   // tie to even: 0
  CHECK(lsq_value(1.5f * s, s, 8, 7) == 2 * s);  // tie to even: 2
}

TEST_CASE("LSQ: finite differences agree with the step gradient where v_hat is differentiable in s") {
  // Outside the clip range v_hat = -Q_N s or Q_P s, a smooth function of s: there the LSQ step
  // gradient is the true derivative. (Inside, v_hat is piecewise constant in v and jumps in s; the
  // straight-through gradient is a definition there, checked against the spec vectors above.)
  jaq::rng g(11);
  for (int b = 2; b <= 8; ++b) {
    const auto r = qrange::of(b, true, "t");
    for (int i = 0; i < 200; ++i) {
      const double s = g.uniform(0.05, 1.0);
      const double v = (g.uniform() < 0.5 ? -1 : 1) * s * (r.q_p + 1.5 + g.uniform(0, 10));
      const double h = 1e-3 * s;
      const double fd = (lsq_value(float(v), float(s + h), r.q_n, r.q_p) - lsq_value(float(v), float(s - h), r.q_n, r.q_p)) / (2 * h);
      REQUIRE(fd == doctest::Approx(lsq_grad_step(float(v), float(s), r.q_n, r.q_p)).epsilon(1e-3));
      REQUIRE(lsq_grad_input(float(v), float(s), r.q_n, r.q_p) == 0.0f);
    }
  }
}

TEST_CASE_TEMPLATE("LSQ span kernels equal the scalar definitions for every width", G, signed_grid<2>, signed_grid<3>, signed_grid<4>,
                   signed_grid<8>, unsigned_grid<2>, unsigned_grid<4>, unsigned_grid<8>) {
  jaq::rng g(5);
  std::vector<float> v(1000), gout(1000), out(1000), gin(1000);
  for (auto& x : v) x = float(g.normal());
  for (auto& x : gout) x = float(g.normal());
  const float s = lsq_init_step(v, G::q_p);
  lsq_forward<G>(v, s, out);
  const double raw = lsq_backward<G>(v, s, gout, gin);
  double ref = 0;
  std::vector<typename G::storage> codes(v.size());
  lsq_codes<G>(v, s, codes);
  for (std::size_t i = 0; i < v.size(); ++i) {
    REQUIRE(out[i] == lsq_value(v[i], s, G::q_n, G::q_p));
    REQUIRE(out[i] == float(codes[i]) * s);
    REQUIRE(int(codes[i]) >= -G::q_n);
    REQUIRE(int(codes[i]) <= G::q_p);
    REQUIRE(gin[i] == gout[i] * lsq_grad_input(v[i], s, G::q_n, G::q_p));
    ref += double(gout[i]) * lsq_grad_step(v[i], s, G::q_n, G::q_p);
  }
  CHECK(raw == doctest::Approx(ref).epsilon(1e-12));
}

TEST_CASE("LSQ per output channel: each row uses its own step") {
  using G = signed_grid<4>;
  jaq::rng g(9);
  const std::size_t c = 3, inner = 50;
  std::vector<float> w(c * inner), out(w.size()), gin(w.size()), gout(w.size(), 1.0f);
  for (std::size_t k = 0; k < c; ++k)
    for (std::size_t i = 0; i < inner; ++i) w[k * inner + i] = float(g.normal() * (k + 1));
  std::vector<float> s(c);
  lsq_init_step_per_channel(w, G::q_p, s);
  CHECK(s[2] > s[0]);  // wider rows get wider steps
  std::vector<double> ds(c);
  lsq_forward_per_channel<G>(w, s, out);
  lsq_backward_per_channel<G>(w, s, gout, gin, ds);
  for (std::size_t k = 0; k < c; ++k) {
    double ref = 0;
    for (std::size_t i = 0; i < inner; ++i) {
      REQUIRE(out[k * inner + i] == lsq_value(w[k * inner + i], s[k], G::q_n, G::q_p));
      ref += lsq_grad_step(w[k * inner + i], s[k], G::q_n, G::q_p);
    }
    CHECK(ds[k] == doctest::Approx(ref));
  }
}

TEST_CASE("LSQ initial step is 2 mean|v| / sqrt(Q_P), and positive for an all-zero tensor") {
  const std::vector<float> v{1.0f, -3.0f};
  CHECK(lsq_init_step(v, 4) == doctest::Approx(2.0 * 2.0 / 2.0));
  const std::vector<float> z(4, 0.0f);
  CHECK(lsq_init_step(z, 7) > 0.0f);
}

TEST_CASE("LSQ run-time width reaches the compile-time kernel through bit_set::dispatch") {
  const std::vector<float> v{0.3f, -1.2f, 2.5f};
  std::vector<float> out(3);
  bit_set<2, 3, 4, 8>::dispatch(2, "layer", [&](auto b) { lsq_forward<signed_grid<b()>>(v, 0.5f, out); });
  CHECK(out == std::vector<float>{0.5f, -1.0f, 0.5f});
  auto run = [&](int bits) { bit_set<2, 3, 4, 8>::dispatch(bits, "layer", [&](auto b) { lsq_forward<signed_grid<b()>>(v, 0.5f, out); }); };
  CHECK_THROWS_AS(run(9), jaq::config_error);
}
