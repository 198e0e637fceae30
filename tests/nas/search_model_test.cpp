#include "jaq/nas/search_model.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <vector>

#include "jaq/autograd/ops/activation.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/sgd.hpp"

using namespace jaq::nas;

namespace {

jaq::tensor<float> images(jaq::rng& r, std::int64_t n, std::int64_t h) {
  jaq::tensor<float> x(jaq::shape{1, n, h, h});
  for (auto& v : x) v = float(r.normal());
  return x;
}

std::vector<std::int32_t> labels(jaq::rng& r, std::int64_t n, int classes) {
  std::vector<std::int32_t> l(static_cast<std::size_t>(n));
  for (auto& v : l) v = std::int32_t(r.below(std::uint64_t(classes)));
  return l;
}

struct run_result {
  std::vector<double> losses;
  std::size_t peak = 0;
};

// A few search steps; returns the losses and the tape's peak bytes. check_each(step) runs after
// each step's optimizer update.
template <class Setup>
run_result search_steps(jaq::nn::model<float>& m, search_model<float>& s, int steps, Setup&& check_each) {
  jaq::rng r(3);
  auto x = images(r, 16, 12);
  auto y = labels(r, 16, 4);
  jaq::optim::sgd<float> opt(s.parameters(m.parameters()), {.lr = 0.05, .momentum = 0.9});
  auto st = s.optimizer(opt);
  jaq::tape<float> tp;
  run_result res;
  for (int step = 0; step < steps; ++step) {
    if (step % 4 == 0) s.begin_epoch(step / 4);
    s.begin_step(step);
    tp.clear();
    st.zero_grad();
    m.set_training(true);
    auto logits = m.forward(tp, tp.constant(x.clone()));
    auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(y));
    res.losses.push_back(loss.value()[0]);
    tp.backward(loss);
    st.step();
    check_each(step);
  }
  res.peak = tp.peak_bytes();
  return res;
}

}  // namespace

TEST_CASE("CSQ search on small-cnn: masks of the top-K% channels, alternating weight and architecture steps") {
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 4}, gen);
  search_model<float> s(m, {.bits = {2, 3, 4, 8}, .csq = csq_config{.keep_percent = 20, .refresh_epochs = 1}}, gen);
  std::vector<float> w_before(m.conv2.weight.value.begin(), m.conv2.weight.value.end());
  auto betas = s.arch_parameters();
  REQUIRE(betas.size() == 2);  // conv2, conv3 (conv1 and fc stay at 8 bits)
  std::vector<float> beta_before(betas[0]->value.begin(), betas[0]->value.end());
  // step 0 is a weight step (the weights move, beta does not), step 1 an architecture step
  // (beta moves, the weights do not)
  int checked = 0;
  search_steps(m, s, 2, [&](int step) {
    const std::vector<float> w(m.conv2.weight.value.begin(), m.conv2.weight.value.end());
    const std::vector<float> beta(betas[0]->value.begin(), betas[0]->value.end());
    CAPTURE(step);
    CHECK((w != w_before) == (step == 0));
    CHECK((beta != beta_before) == (step == 1));
    w_before = w;
    beta_before = beta;
    ++checked;
  });
  CHECK(checked == 2);
  const auto masks = s.masks();
  CHECK(masks[0].first == "conv2");
  CHECK(masks[0].second.selected.size() == 4);  // ceil(20% of 16)
  CHECK(masks[1].second.selected.size() == 7);  // ceil(20% of 32)
  std::ostringstream os;
  os << s << s.derived();
  CHECK(os.str().find("CSQ K=20%, 2 search layers") != std::string::npos);
  CHECK(os.str().find("conv3:") != std::string::npos);
}

TEST_CASE("the mask follows |gamma| of the producing BatchNorm when it is recomputed") {
  jaq::rng gen(2);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 4}, gen);
  search_model<float> s(m, {.csq = csq_config{.keep_percent = 25, .refresh_epochs = 2}}, gen);
  for (std::int64_t c = 0; c < 16; ++c) m.bn1.gamma.value[c] = float(c % 5) * (c % 2 ? -1.0f : 1.0f);
  s.begin_epoch(0);
  // |gamma| = c % 5: the three 4s (4, 9, 14), then the first 3 (3)
  CHECK(s.masks()[0].second.selected == std::vector<int>{3, 4, 9, 14});
  m.bn1.gamma.value[0] = 10.0f;
  s.begin_epoch(1);  // not due
  CHECK(s.masks()[0].second.selected == std::vector<int>{3, 4, 9, 14});
  s.begin_epoch(2);
  CHECK(s.masks()[0].second.selected == std::vector<int>{0, 4, 9, 14});
}

TEST_CASE("memory held for backward: CSQ below the naive supernet, growing with K") {
  auto peak = [](std::optional<csq_config> csq) {
    jaq::rng gen(4);
    jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 4}, gen);
    search_model<float> s(m, {.csq = csq}, gen);
    return search_steps(m, s, 1, [](int) {}).peak;
  };
  const std::size_t naive = peak(std::nullopt), k10 = peak(csq_config{.keep_percent = 10}), k20 = peak(csq_config{.keep_percent = 20}),
                    k50 = peak(csq_config{.keep_percent = 50});
  MESSAGE("naive " << naive << ", K10 " << k10 << ", K20 " << k20 << ", K50 " << k50);
  CHECK(k10 < k20);
  CHECK(k20 < k50);
  CHECK(k50 < naive);
}

TEST_CASE("mbconv-small searches its depthwise and pointwise layers and trains") {
  jaq::rng gen(6);
  jaq::nn::mbconv_small<float> m({.in_channels = 1, .classes = 4}, gen);
  search_model<float> s(m, {.bits = {2, 4, 8}, .csq = csq_config{.keep_percent = 50}}, gen);
  const auto r = search_steps(m, s, 12, [](int) {});
  for (double l : r.losses) CHECK(std::isfinite(l));
  // it trains: the loss on the (fixed) batch falls over the steps
  CAPTURE(r.losses.front());
  CAPTURE(r.losses.back());
  CHECK(r.losses.back() < 0.9 * r.losses.front());
  CHECK(s.arch_parameters().size() >= 3);
}

namespace {
// conv1 -> relu -> conv2 (no BatchNorm before conv3) -> relu -> conv3 -> pool -> fc
class no_bn_model final : public jaq::nn::model<float> {
 public:
  jaq::nn::conv2d<float> conv1, conv2, conv3;
  jaq::nn::batch_norm<float> bn1;
  jaq::nn::linear<float> fc;
  explicit no_bn_model(jaq::rng& gen)
      : conv1({.in_channels = 1, .out_channels = 4, .kernel = 3, .padding = 1}, "conv1", gen),
        conv2({.in_channels = 4, .out_channels = 4, .kernel = 3, .padding = 1}, "conv2", gen),
        conv3({.in_channels = 4, .out_channels = 4, .kernel = 3, .padding = 1}, "conv3", gen),
        bn1(4, "bn1"),
        fc({.in_features = 4, .out_features = 2}, "fc", gen) {
    add_site(conv1, nullptr);
    add_site(conv2, &bn1);
    add_site(conv3, nullptr);
    add_site(fc, nullptr, {&fc.bias});
    add_batch_norm(bn1);
  }
  std::string name() const override { return "no-bn"; }
  jaq::var<float> forward(jaq::tape<float>& tp, jaq::var<float> x) override {
    x = jaq::relu(tp, bn1.forward(tp, conv1.forward(tp, x)));
    x = jaq::relu(tp, conv3.forward(tp, jaq::relu(tp, conv2.forward(tp, x))));
    return fc.forward(tp, jaq::global_avg_pool(tp, x));
  }
};
}  // namespace

TEST_CASE("bad search input: a CSQ layer without a BatchNorm, K outside (0, 100], width 9") {
  jaq::rng gen(1);
  no_bn_model m(gen);
  CHECK_THROWS_WITH_AS(search_model<float>(m, {.csq = csq_config{.keep_percent = 20}}, gen),
                       "conv3: csq: no BatchNorm produces this layer's input (CSQ ranks channels by its |gamma|)", jaq::config_error);
  CHECK_NOTHROW(search_model<float>(m, {}, gen));  // without CSQ no BatchNorm is needed
  jaq::nn::small_cnn<float> sm({}, gen);
  CHECK_THROWS_WITH_AS(search_model<float>(sm, {.csq = csq_config{.keep_percent = 150}}, gen),
                       "small-cnn: csq K: keep percentage 150 is outside (0, 100]", jaq::config_error);
  CHECK_THROWS_WITH_AS(search_model<float>(sm, {.bits = {2, 9}}, gen),
                       "small-cnn: bits: unsupported bit-width 9 (supported: 1,2,3,4,5,6,7,8)", jaq::config_error);
  CHECK(parse_bits("2,3,4,8") == std::vector<int>{2, 3, 4, 8});
  CHECK_THROWS_WITH_AS(parse_bits("2,x"), "bit list: bits: 'x' in '2,x' is not an integer", jaq::config_error);
}
