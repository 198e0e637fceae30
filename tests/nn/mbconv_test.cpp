#include "jaq/nn/mbconv.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/registry.hpp"
#include "tests/nn/net_gradcheck.hpp"

TEST_CASE("an inverted-residual block is expand-BN-ReLU6-depthwise-BN-ReLU6-project-BN, residual when shapes match") {
  jaq::rng gen(11);
  jaq::nn::mbconv_block<float> b(8, {.kernel = 5, .expansion = 3, .stride = 1, .out_channels = 8}, "b", gen);
  REQUIRE(b.expand);
  CHECK(b.expand->weight.value.shape() == jaq::shape{24, 8, 1, 1});
  CHECK(b.depthwise.weight.value.shape() == jaq::shape{24, 1, 5, 5});
  CHECK(b.depthwise.spec.groups == 24);
  CHECK(b.depthwise.spec.padding == 2);
  CHECK(b.project.weight.value.shape() == jaq::shape{8, 24, 1, 1});
  CHECK(b.residual());
  jaq::nn::mbconv_block<float> s(8, {.kernel = 3, .expansion = 1, .stride = 2, .out_channels = 16}, "s", gen);
  CHECK_FALSE(s.expand);
  CHECK_FALSE(s.residual());
  jaq::tape<float> tp;
  auto y = s.forward(tp, tp.constant(jaq::tensor<float>::zeros({8, 2, 7, 7})));
  CHECK(y.shape() == jaq::shape{16, 2, 4, 4});
}

TEST_CASE("block specs are checked and printable") {
  jaq::rng gen(12);
  CHECK_THROWS_WITH_AS(jaq::nn::mbconv_block<float>(8, {.kernel = 4}, "blocks.0", gen), doctest::Contains("blocks.0: kernel"),
                       jaq::config_error);
  CHECK_THROWS_AS(jaq::nn::mbconv_block<float>(8, {.stride = 3}, "b", gen), jaq::config_error);
  std::ostringstream os;
  os << jaq::nn::mbconv_block_spec{.kernel = 5, .expansion = 6, .stride = 2, .out_channels = 40};
  CHECK(os.str() == "mbconv{k5, e6, s2, c40}");
}

TEST_CASE("mbconv-small maps every layer to the BatchNorm that feeds it") {
  jaq::rng gen(13);
  jaq::nn::mbconv_small<float> m({}, gen);
  const auto& s = m.sites();
  CHECK(s.front().layer == &m.stem);
  CHECK(s.front().input_bn == nullptr);
  // block 0 has expansion 1: its depthwise reads the stem's BN
  CHECK(s[1].layer == &m.blocks[0]->depthwise);
  CHECK(s[1].input_bn == &m.stem_bn);
  CHECK(s[2].input_bn == &m.blocks[0]->depthwise_bn);
  // block 1 expands the output of block 0's projection
  CHECK(s[3].layer == m.blocks[1]->expand.get());
  CHECK(s[3].input_bn == &m.blocks[0]->project_bn);
  CHECK(s.back().layer == m.fc.get());
  CHECK(s.back().input_bn == m.head_bn.get());
  jaq::tape<float> tp({.threads = 2});
  auto y = m.forward(tp, tp.constant(jaq::tensor<float>::zeros({1, 3, 28, 28})));
  CHECK(y.shape() == jaq::shape{3, 10});
}

TEST_CASE("a small mbconv network passes the whole-network finite-difference check in double") {
  jaq::rng gen(14);
  jaq::nn::mbconv_small_config c;
  c.in_channels = 2;
  c.classes = 3;
  c.stem_channels = 4;
  c.blocks = {{.kernel = 3, .expansion = 2, .stride = 1, .out_channels = 4},  // residual
              {.kernel = 5, .expansion = 2, .stride = 2, .out_channels = 6}};
  c.head_channels = 8;
  jaq::nn::mbconv_small<double> m(c, gen);
  auto x = jaq::test::random_tensor<double>({2, 4, 6, 6}, gen);
  std::vector<std::int32_t> y{0, 2, 1, 1};
  CHECK(jaq::test::check_network_gradients(m, x, y) == 0);
}

TEST_CASE("make_model knows both models and names the flag for an unknown one") {
  jaq::rng gen(15);
  CHECK(jaq::nn::make_model<float>("small-cnn", {}, gen)->name() == "small-cnn");
  CHECK(jaq::nn::make_model<float>("mbconv-small", {}, gen)->name() == "mbconv-small");
  CHECK_THROWS_WITH_AS(jaq::nn::make_model<float>("resnet", {}, gen), doctest::Contains("unknown model 'resnet'"), jaq::config_error);
}
