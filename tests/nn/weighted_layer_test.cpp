#include "jaq/nn/weighted_layer.hpp"

#include <doctest/doctest.h>

#include "jaq/autograd/ops/add.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/linear.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "tests/autograd/helpers.hpp"

namespace {
// A stand-in quantizer: rounds to multiples of 0.5 with a straight-through gradient.
jaq::var<float> round_half(jaq::tape<float>& tp, jaq::var<float> x) {
  jaq::tensor<float> y(x.shape());
  for (std::int64_t i = 0; i < y.size(); ++i) y[i] = std::round(x.value()[i] * 2) / 2;
  return tp.record("round_half", std::move(y), {x}, [](jaq::backward_context<float>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += ctx.grad_output()[i];
  });
}
}  // namespace

TEST_CASE("without quantizers a layer is exactly its op") {
  jaq::rng gen(5);
  jaq::nn::conv2d<float> c({.in_channels = 2, .out_channels = 3, .kernel = 3, .padding = 1}, "c", gen);
  jaq::tape<float> tp;
  auto x = tp.constant(jaq::test::random_tensor<float>({2, 2, 4, 4}, gen));
  const std::size_t nodes = tp.size();
  auto y = c.forward(tp, x);
  CHECK(tp.size() == nodes + 2);  // the weight leaf and the convolution, nothing else
  auto ref = jaq::conv2d(tp, x, tp.param(c.weight), {.padding = 1});
  for (std::int64_t i = 0; i < y.value().size(); ++i) CHECK(y.value()[i] == ref.value()[i]);
}

TEST_CASE("input and weight quantizers are applied without editing the layer, and gradients flow through") {
  jaq::rng gen(6);
  jaq::nn::linear<float> fc({.in_features = 4, .out_features = 2}, "fc", gen);
  int calls = 0;
  fc.input_quantizer = [&](jaq::tape<float>& tp, jaq::var<float> v) {
    ++calls;
    return round_half(tp, v);
  };
  fc.weight_quantizer = [&](jaq::tape<float>& tp, jaq::var<float> v) {
    ++calls;
    return round_half(tp, v);
  };
  jaq::tape<float> tp;
  auto xt = jaq::test::random_tensor<float>({3, 4}, gen);
  auto y = fc.forward(tp, tp.constant(xt.clone()));
  CHECK(calls == 2);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      float s = fc.bias.value[j];
      for (int k = 0; k < 4; ++k) s += std::round(xt[i * 4 + k] * 2) / 2 * (std::round(fc.weight.value[j * 4 + k] * 2) / 2);
      CHECK(y.value()[i * 2 + j] == doctest::Approx(s));
    }
  jaq::tensor<float> l(jaq::shape{1});
  l[0] = 0;
  auto loss = tp.record("sum", std::move(l), {y}, [](jaq::backward_context<float>& ctx) {
    auto& g = ctx.grad_input(0);
    for (auto& v : g) v += 1;
  });
  tp.backward(loss);
  CHECK_FALSE(fc.weight.grad.empty());
  CHECK_FALSE(fc.bias.grad.empty());
}

TEST_CASE("forward_override replaces a layer's computation and can reuse compute()") {
  jaq::rng gen(7);
  jaq::nn::small_cnn<float> m({}, gen);
  int overridden = 0;
  for (auto& s : m.sites())
    s.layer->forward_override = [&](jaq::tape<float>& tp, jaq::var<float> x, jaq::nn::weighted_layer<float>& self) {
      ++overridden;
      auto a = self.compute(tp, x, self.quantized_weight(tp));
      return jaq::add(tp, a, a);  // e.g. a mixture of two branches
    };
  jaq::tape<float> tp;
  m.forward(tp, tp.constant(jaq::tensor<float>::zeros({1, 2, 28, 28})));
  CHECK(overridden == 4);
}

TEST_CASE("layer specs are validated and printable") {
  jaq::rng gen(8);
  CHECK_THROWS_AS(jaq::nn::conv2d<float>({.in_channels = 3, .out_channels = 4, .kernel = 3, .groups = 2}, "bad", gen), jaq::config_error);
  std::ostringstream os;
  os << jaq::nn::conv2d_spec{.in_channels = 16, .out_channels = 32, .kernel = 3, .stride = 2, .padding = 1};
  CHECK(os.str() == "conv3x3(16->32, stride 2, padding 1, groups 1)");
}
