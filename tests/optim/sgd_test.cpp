#include "jaq/optim/sgd.hpp"

#include <doctest/doctest.h>

namespace {
jaq::parameter<double> scalar_param(double v) {
  jaq::parameter<double> p{.name = "p", .value = jaq::tensor<double>::full({1}, v), .grad = {}, .trainable = true};
  return p;
}
}  // namespace

TEST_CASE("sgd with momentum and weight decay matches hand-computed steps") {
  auto p = scalar_param(1.0);
  jaq::optim::sgd<double> opt({&p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
  p.grad = jaq::tensor<double>::full({1}, 0.5);
  opt.step();  // d = 0.5 + 0.01 = 0.51, buf = 0.51, p = 1 - 0.051
  CHECK(p.value[0] == doctest::Approx(0.949).epsilon(1e-12));
  opt.step();  // d = 0.5 + 0.00949, buf = 0.9 * 0.51 + 0.50949 = 0.96849
  CHECK(p.value[0] == doctest::Approx(0.949 - 0.096849).epsilon(1e-12));
  CHECK(opt.steps() == 2);
}

TEST_CASE("plain and nesterov sgd match hand-computed steps") {
  auto p = scalar_param(1.0);
  jaq::optim::sgd<double> plain({&p}, {.lr = 0.1});
  p.grad = jaq::tensor<double>::full({1}, 0.5);
  plain.step();
  CHECK(p.value[0] == doctest::Approx(0.95).epsilon(1e-12));
  auto q = scalar_param(1.0);
  jaq::optim::sgd<double> nest({&q}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  q.grad = jaq::tensor<double>::full({1}, 0.5);
  nest.step();  // d = 0.51 + 0.9 * 0.51 = 0.969
  CHECK(q.value[0] == doctest::Approx(1 - 0.0969).epsilon(1e-12));
}

TEST_CASE("sgd skips parameters without gradients, zero_grad clears, set_lr applies") {
  auto p = scalar_param(2.0);
  jaq::optim::sgd<double> opt({&p}, {.lr = 1.0});
  opt.step();
  CHECK(p.value[0] == 2.0);
  p.grad = jaq::tensor<double>::full({1}, 1.0);
  opt.set_lr(0.5);
  opt.step();
  CHECK(p.value[0] == 1.5);
  opt.zero_grad();
  CHECK(p.grad[0] == 0.0);
}

TEST_CASE("sgd rejects bad settings, naming the field") {
  auto p = scalar_param(0);
  CHECK_THROWS_WITH_AS(jaq::optim::sgd<double>({&p}, {.lr = 0.1, .momentum = 1.5}), doctest::Contains("momentum"), jaq::config_error);
  CHECK_THROWS_AS(jaq::optim::sgd<double>({&p}, {.lr = -1}), jaq::config_error);
}
