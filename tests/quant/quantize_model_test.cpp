#include "jaq/quant/quantize_model.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/sgd.hpp"

using namespace jaq::quant;

namespace {

// A fixed batch of 32 random 1x12x12 images whose label is the quadrant with the brightest
// mean: learnable, so a few steps of training must lower the loss.
struct toy {
  jaq::tensor<float> x;
  std::vector<std::int32_t> labels;
};

toy make_toy(jaq::rng& r) {
  const int n = 32, h = 12;
  toy t{jaq::tensor<float>(jaq::shape{1, n, h, h}), {}};
  for (int i = 0; i < n; ++i) {
    const int q = int(r.below(4));
    t.labels.push_back(q);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < h; ++x) {
        const int qq = (y >= h / 2) * 2 + (x >= h / 2);
        t.x[(std::int64_t(i) * h + y) * h + x] = float(r.normal() * 0.5 + (qq == q ? 1.0 : -0.3));
      }
  }
  return t;
}

double train_loss_drop(const quant_config& c, std::string* layout = nullptr) {
  jaq::rng gen(5);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 4}, gen);
  quantized_model<float> q(m, c);
  jaq::optim::sgd<float> opt(q.parameters(m.parameters()), {.lr = 0.05, .momentum = 0.9});
  const toy t = make_toy(gen);
  jaq::tape<float> tp({.threads = 2});
  double first = 0, last = 0;
  for (int step = 0; step < 25; ++step) {
    tp.clear();
    opt.zero_grad();
    auto logits = m.forward(tp, tp.constant(t.x.clone()));
    auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(t.labels));
    (step == 0 ? first : last) = loss.value()[0];
    tp.backward(loss);
    opt.step();
  }
  if (layout) {
    std::ostringstream os;
    os << q;
    *layout = os.str();
  }
  return first - last;
}

}  // namespace

TEST_CASE("LSQ 4-bit small-cnn: first and last layers at 8 bits, signed image input, and it learns") {
  std::string layout;
  CHECK(train_loss_drop({.method = method::lsq, .wbits = 4, .abits = 4}, &layout) > 0.3);
  CHECK(layout.find("conv1: w8 a8 signed (lsq)") != std::string::npos);
  CHECK(layout.find("conv2: w4 a4 unsigned (lsq)") != std::string::npos);
  CHECK(layout.find("fc: w8 a8 unsigned (lsq)") != std::string::npos);
}

TEST_CASE("2-bit LSQ, PACT and min/max variants train too") {
  CHECK(train_loss_drop({.method = method::lsq, .wbits = 2, .abits = 2}) > 0.2);
  std::string layout;
  CHECK(train_loss_drop({.method = method::pact, .wbits = 4, .abits = 4}, &layout) > 0.2);
  CHECK(layout.find("conv1: w8 a8 signed (lsq)") != std::string::npos);  // PACT cannot clip a signed input
  CHECK(layout.find("conv2: w4 a4 unsigned (pact)") != std::string::npos);
  CHECK(train_loss_drop({.method = method::minmax, .wbits = 4, .abits = 4}) > 0.2);
  layout.clear();
  CHECK(train_loss_drop({.method = method::dorefa, .wbits = 4, .abits = 4}, &layout) > 0.2);
  CHECK(layout.find("conv2: w4 a4 unsigned (pact)") != std::string::npos);  // DoReFa weights, PACT inputs
}

TEST_CASE("per-layer widths: layer_bits sets weights and activations, layer_act_bits then the activations alone") {
  std::string layout;
  CHECK(train_loss_drop({.method = method::lsq, .wbits = 4, .abits = 4, .layer_bits = {{"conv2", 2}}, .layer_act_bits = {{"conv2", 3}}},
                        &layout) > 0.2);
  CHECK(layout.find("conv2: w2 a3 unsigned (lsq)") != std::string::npos);
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  CHECK_THROWS_WITH_AS(quantized_model<float>(m, {.layer_act_bits = {{"conv9", 3}}}), doctest::Contains("conv9"), jaq::config_error);
  CHECK_THROWS_WITH_AS(quantized_model<float>(m, {.layer_act_bits = {{"conv2", 0}}}), doctest::Contains("act_bits"), jaq::config_error);
}

TEST_CASE("quantizer options are checked") {
  CHECK(parse_method("pact") == method::pact);
  CHECK_THROWS_WITH_AS(parse_method("xnor"), "quant_config: method: unknown quantizer 'xnor' (lsq, pact, minmax or dorefa)",
                       jaq::config_error);
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  CHECK_THROWS_WITH_AS(quantized_model<float>(m, {.wbits = 9}), "small-cnn: wbits: bits: unsupported bit-width 9 (must be 1..8)",
                       jaq::config_error);
  CHECK_THROWS_AS(quantized_model<float>(m, {.abits = 0}), jaq::config_error);
}

TEST_CASE("project keeps step sizes positive after an optimizer step pushes them through zero") {
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  quantized_model<float> q(m, {.method = method::lsq, .wbits = 2, .abits = 2});
  auto ps = q.parameters();
  ps[1]->value[0] = -0.5f;  // conv1's weight step, as a large SGD step could leave it
  q.project();
  CHECK(ps[1]->value[0] == doctest::Approx(1e-6f));
  CHECK(ps[0]->value[0] == 1.0f);  // untouched when positive
}

TEST_CASE("min/max and DoReFa: the weight steps they never read start at zero (a checkpoint holds no stale memory)") {
  for (method me : {method::minmax, method::dorefa}) {
    CAPTURE(to_string(me));
    jaq::rng gen(1);
    jaq::nn::small_cnn<float> m({}, gen);
    quantized_model<float> q(m, {.method = me, .wbits = 4, .abits = 4});
    const auto ps = q.parameters();
    for (std::size_t k = 1; k < ps.size(); k += 2) {  // s_a, s_w per layer
      CAPTURE(ps[k]->name);
      for (float v : ps[k]->value) CHECK(v == 0.0f);
    }
    CHECK(q.observer(0).seen == false);
  }
}
