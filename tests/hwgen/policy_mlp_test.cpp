// Tests of jaq/hwgen/policy_mlp.hpp: the hand-written gradient against finite differences.
#include "jaq/hwgen/policy_mlp.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "jaq/optim/adam.hpp"

namespace hg = jaq::hwgen;

TEST_CASE("the first distribution is uniform over every head") {
  jaq::rng g(1);
  hg::policy_mlp net({.inputs = 3, .hidden = 8, .heads = {2, 5, 3}}, g);
  const std::vector<double> x{1.0, 0.5, -0.25};
  const auto z = net.forward(x);
  std::vector<double> p(z.size());
  hg::head_softmax(net.heads(), z, p);
  CHECK(p[0] == doctest::Approx(0.5));
  CHECK(p[2] == doctest::Approx(0.2));
  CHECK(p[9] == doctest::Approx(1.0 / 3));
}

TEST_CASE("the weights are named parameters: W1 (H, D), b1 (H), W2 (L, H), b2 (L), gradients zero") {
  jaq::rng g(5);
  hg::policy_mlp net({.inputs = 3, .hidden = 4, .heads = {2, 3}}, g);
  const auto ps = net.parameters();
  REQUIRE(ps.size() == 4);
  CHECK(ps[0]->name == "policy.W1");
  CHECK(ps[0]->value.shape() == jaq::shape{4, 3});
  CHECK(ps[1]->value.shape() == jaq::shape{4});
  CHECK(ps[2]->value.shape() == jaq::shape{5, 4});
  CHECK(ps[3]->name == "policy.b2");
  CHECK(ps[3]->value.shape() == jaq::shape{5});
  for (const auto* p : ps) {
    REQUIRE(p->grad.shape() == p->value.shape());
    for (double v : p->grad) CHECK(v == 0.0);
  }
  for (double v : ps[2]->value) CHECK(v == 0.0);  // the output layer starts at zero
}

TEST_CASE("backward equals central finite differences of a linear function of the logits") {
  jaq::rng g(2);
  hg::policy_mlp net({.inputs = 4, .hidden = 6, .heads = {3, 4}, .init_scale = 1.0}, g);
  // make every parameter non-zero so every path is exercised
  for (auto* p : net.parameters())
    for (double& w : p->value) w += 0.3 * g.normal();
  const std::vector<double> x{0.7, -1.2, 0.4, 1.0};
  std::vector<double> c(net.outputs());
  for (double& v : c) v = g.normal();
  auto loss = [&] {
    const auto z = net.forward(x);
    double s = 0;
    for (std::size_t i = 0; i < z.size(); ++i) s += c[i] * z[i];
    return s;
  };
  net.zero_grad();
  net.backward(x, c);  // d loss / d z = c
  int checked = 0;
  for (auto* p : net.parameters()) {
    for (std::int64_t i = 0; i < p->value.size(); ++i) {
      const double keep = p->value[i], h = 1e-6;
      p->value[i] = keep + h;
      const double up = loss();
      p->value[i] = keep - h;
      const double down = loss();
      p->value[i] = keep;
      INFO(p->name << "[" << i << "]");
      CHECK(p->grad[i] == doctest::Approx((up - down) / (2 * h)).epsilon(1e-6));
      ++checked;
    }
  }
  CHECK(checked == 6 * 4 + 6 + 7 * 6 + 7);
}

TEST_CASE("jaq::optim::adam steps down the gradient: a head's favoured logit rises") {
  jaq::rng g(3);
  hg::policy_mlp net({.inputs = 2, .hidden = 4, .heads = {3}}, g);
  jaq::optim::adam<double> opt(net.parameters(), {.lr = 0.05});
  const std::vector<double> x{1.0, 0.0};
  for (int step = 0; step < 50; ++step) {
    opt.zero_grad();
    net.backward(x, std::vector<double>{0.0, -1.0, 0.0});  // loss = -z[1]
    opt.step();
  }
  const auto z = net.forward(x);
  CHECK(z[1] > z[0] + 1.0);
  CHECK(z[1] > z[2] + 1.0);
}

TEST_CASE("a malformed spec is a config_error") {
  jaq::rng g(4);
  CHECK_THROWS_AS(hg::policy_mlp({.inputs = 0, .hidden = 4, .heads = {2}}, g), jaq::config_error);
  CHECK_THROWS_AS(hg::policy_mlp({.inputs = 2, .hidden = 4, .heads = {2, 0}}, g), jaq::config_error);
}
