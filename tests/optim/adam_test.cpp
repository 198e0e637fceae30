#include "jaq/optim/adam.hpp"

#include <doctest/doctest.h>

TEST_CASE("adam matches hand-computed bias-corrected steps") {
  jaq::parameter<double> p{.name = "p", .value = jaq::tensor<double>::full({1}, 1.0), .grad = {}, .trainable = true};
  jaq::optim::adam<double> opt({&p}, {.lr = 0.1});
  p.grad = jaq::tensor<double>::full({1}, 0.5);
  opt.step();  // m^ = 0.5, v^ = 0.25: p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
  CHECK(p.value[0] == doctest::Approx(0.900000002).epsilon(1e-12));
  p.grad[0] = -1.0;
  opt.step();  // m = -0.055, v = 0.00124975; m^ = m / 0.19, v^ = v / (1 - 0.999^2)
  CHECK(p.value[0] == doctest::Approx(0.9366103542405654).epsilon(1e-12));
}

TEST_CASE("adam's state has both moments per parameter and the step count") {
  jaq::parameter<float> p{.name = "w", .value = jaq::tensor<float>::zeros({3}), .grad = {}, .trainable = true};
  jaq::optim::adam<float> opt({&p}, {});
  auto st = opt.state();
  REQUIRE(st.size() == 3);
  CHECK(st[0].name == "adam.step");
  CHECK(st[1].name == "adam.w.m");
  CHECK(st[2].value->shape() == jaq::shape{3});
  CHECK_THROWS_AS(jaq::optim::adam<float>({&p}, {.eps = 0}), jaq::config_error);
}
