#include "jaq/nn/small_cnn.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "tests/nn/net_gradcheck.hpp"

TEST_CASE("small-cnn has exactly the issue's layers, shapes and parameter count") {
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  CHECK(m.conv1.weight.value.shape() == jaq::shape{16, 1, 3, 3});
  CHECK(m.conv2.weight.value.shape() == jaq::shape{32, 16, 3, 3});
  CHECK(m.conv3.weight.value.shape() == jaq::shape{64, 32, 3, 3});
  CHECK(m.fc.weight.value.shape() == jaq::shape{10, 64});
  CHECK(m.conv2.spec.stride == 2);
  CHECK(m.conv3.spec.padding == 1);
  CHECK(m.parameter_count() == 144 + 4608 + 18432 + 650 + 2 * (16 + 32 + 64));
  jaq::tape<float> tp({.threads = 2});
  auto y = m.forward(tp, tp.constant(jaq::tensor<float>::zeros({1, 5, 28, 28})));
  CHECK(y.shape() == jaq::shape{5, 10});
}

TEST_CASE("small-cnn names the BatchNorm feeding each layer") {
  jaq::rng gen(2);
  jaq::nn::small_cnn<float> m({}, gen);
  const auto& s = m.sites();
  REQUIRE(s.size() == 4);
  CHECK(s[0].input_bn == nullptr);
  CHECK(s[1].input_bn == &m.bn1);
  CHECK(s[2].input_bn == &m.bn2);
  CHECK(s[3].input_bn == &m.bn3);
  CHECK(s[3].layer == &m.fc);
  std::ostringstream os;
  os << m;
  CHECK(os.str().find("conv2 (32, 16, 3, 3) <- bn1") != std::string::npos);
}

TEST_CASE("the whole small-cnn passes the finite-difference check in double") {
  jaq::rng gen(3);
  jaq::nn::small_cnn<double> m({.in_channels = 2, .classes = 3}, gen);
  auto x = jaq::test::random_tensor<double>({2, 3, 6, 6}, gen);  // (C, N, H, W)
  std::vector<std::int32_t> y{0, 2, 1};
  CHECK(jaq::test::check_network_gradients(m, x, y) == 0);
}

TEST_CASE("evaluation mode uses running statistics: the output of one image does not depend on the batch") {
  jaq::rng gen(4);
  jaq::nn::small_cnn<float> m({}, gen);
  auto x = jaq::test::random_tensor<float>({1, 4, 28, 28}, gen);
  jaq::tape<float> tp;
  m.forward(tp, tp.constant(x.clone()));  // training: updates running statistics
  m.set_training(false);
  tp.clear();
  auto all = m.forward(tp, tp.constant(x.clone()));
  jaq::tensor<float> first({1, 1, 28, 28});
  std::copy(x.data(), x.data() + 784, first.data());
  auto one = m.forward(tp, tp.constant(std::move(first)));
  for (int k = 0; k < 10; ++k) CHECK(one.value()[k] == doctest::Approx(all.value()[k]).epsilon(1e-5));
}
