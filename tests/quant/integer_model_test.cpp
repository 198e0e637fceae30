#include "jaq/quant/integer_model.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/ops/add.hpp"
#include "jaq/autograd/ops/channel_shuffle.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/autograd/ops/pooling.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nn/batch_norm.hpp"
#include "jaq/nn/conv2d.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/sgd.hpp"

using namespace jaq::quant;
using jaq::fused_activation;

namespace {

// A conv-only network with what searched MBConv networks contain: a grouped 1x1 conv (groups 2),
// a channel shuffle, a depthwise conv, a residual add, and conv logits (global pool of a 1x1 conv
// to `classes` channels): every logit is a conv output, so integer and fake-quant logits are
// equal bit for bit.
class grouped_net final : public jaq::nn::model<float> {
 public:
  jaq::nn::conv2d<float> stem, group1, depthwise, group2, head;
  jaq::nn::batch_norm<float> bn0, bn1, bn2, bn3;

  explicit grouped_net(jaq::rng& gen, std::int64_t classes = 4)
      : stem({.in_channels = 1, .out_channels = 8, .kernel = 3, .padding = 1}, "stem", gen),
        group1({.in_channels = 8, .out_channels = 8, .kernel = 1, .groups = 2}, "group1", gen),
        depthwise({.in_channels = 8, .out_channels = 8, .kernel = 3, .padding = 1, .groups = 8}, "depthwise", gen),
        group2({.in_channels = 8, .out_channels = 8, .kernel = 1, .groups = 2}, "group2", gen),
        head({.in_channels = 8, .out_channels = classes, .kernel = 3, .stride = 2, .padding = 1}, "head", gen),
        bn0(8, "bn0", fused_activation::relu),
        bn1(8, "bn1", fused_activation::relu6),
        bn2(8, "bn2", fused_activation::relu6),
        bn3(8, "bn3") {
    add_site(stem, nullptr);
    add_site(group1, &bn0);
    add_site(depthwise, &bn1);
    add_site(group2, &bn2);
    add_site(head, &bn3);
    for (auto* bn : {&bn0, &bn1, &bn2, &bn3}) add_batch_norm(*bn);
  }
  std::string name() const override { return "grouped-net"; }
  jaq::var<float> forward(jaq::tape<float>& tp, jaq::var<float> x) override {
    x = bn0.forward(tp, stem.forward(tp, x));
    jaq::var<float> h = bn1.forward(tp, group1.forward(tp, x));
    h = jaq::channel_shuffle(tp, h, 2);
    h = bn2.forward(tp, depthwise.forward(tp, h));
    h = bn3.forward(tp, group2.forward(tp, h));
    h = jaq::add(tp, h, x);  // signed input to the head
    return jaq::global_avg_pool(tp, head.forward(tp, h));
  }
};

jaq::tensor<float> random_images(jaq::rng& gen, std::int64_t n, std::int64_t h) {
  jaq::tensor<float> x(jaq::shape{1, n, h, h});  // (C, N, H, W)
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = float(gen.normal());
  return x;
}

// A few SGD steps on random images and labels: the steps, weights and running statistics move
// away from their initial values.
void train_a_little(jaq::nn::model<float>& m, quantized_model<float>& q, jaq::rng& gen, std::int64_t classes, std::int64_t h,
                    int steps = 4) {
  jaq::optim::sgd<float> opt(q.parameters(m.parameters()), {.lr = 0.05, .momentum = 0.9});
  jaq::tape<float> tp({.threads = 2});
  m.set_training(true);
  for (int s = 0; s < steps; ++s) {
    tp.clear();
    opt.zero_grad();
    std::vector<std::int32_t> labels;
    for (int i = 0; i < 16; ++i) labels.push_back(std::int32_t(gen.below(std::uint64_t(classes))));
    auto logits = m.forward(tp, tp.constant(random_images(gen, 16, h)));
    auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(labels));
    tp.backward(loss);
    opt.step();
    q.project();
  }
  tp.clear();
}

// Inner layers cycle through 2, 3, 4, 8 bits; first and last stay at 8.
quant_config mixed_config(const jaq::nn::model<float>& m, method meth = method::lsq) {
  quant_config c{.method = meth};
  const int widths[] = {2, 3, 4, 8};
  const auto& sites = m.sites();
  for (std::size_t i = 1; i + 1 < sites.size(); ++i) c.layer_bits.emplace_back(sites[i].layer->name, widths[(i - 1) % 4]);
  return c;
}

// Records every weighted layer's output (through whatever hook is installed) while it lives.
struct recorder {
  using layer = jaq::nn::weighted_layer<float>;
  std::map<std::string, jaq::tensor<float>> out;
  std::vector<std::pair<layer*, layer::override_fn>> previous;

  explicit recorder(jaq::nn::model<float>& m) {
    for (const auto& site : m.sites()) {
      layer* l = site.layer;
      previous.emplace_back(l, l->forward_override);
      l->forward_override = [this, prev = l->forward_override](jaq::tape<float>& tp, jaq::var<float> x, layer& self) {
        jaq::var<float> y =
            prev ? prev(tp, x, self) : self.compute(tp, jaq::nn::apply(self.input_quantizer, tp, x), self.quantized_weight(tp));
        out[self.name] = y.value().clone();
        return y;
      };
    }
  }
  ~recorder() {
    for (auto& [l, f] : previous) l->forward_override = std::move(f);
  }
};

bool same_bits(const jaq::tensor<float>& a, const jaq::tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(a.size())) == 0;
}

double max_abs_diff(const jaq::tensor<float>& a, const jaq::tensor<float>& b) {
  double d = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

std::vector<std::int32_t> argmax_rows(const jaq::tensor<float>& logits) {
  std::vector<std::int32_t> r;
  detail::append_argmax(logits, r);
  return r;
}

struct forward_result {
  jaq::tensor<float> logits;
  std::map<std::string, jaq::tensor<float>> layers;
};

forward_result run(jaq::nn::model<float>& m, const jaq::tensor<float>& x) {
  jaq::tape<float> tp({.threads = 2});
  tp.set_grad_enabled(false);
  recorder rec(m);
  forward_result r{m.forward(tp, tp.constant(x.clone())).value().clone(), {}};
  r.layers = std::move(rec.out);
  return r;
}

// Fake-quant vs integer forward of `m` on a random batch: every conv output is equal bit for
// bit, the logits within float rounding (bit for bit when the last layer is a conv), and the
// arg-max of every image agrees. Then the hooks are back: the fake-quant output is unchanged.
void check_integer_matches(jaq::nn::model<float>& m, quantized_model<float>& q, std::int64_t h, std::uint64_t seed) {
  jaq::rng gen(seed);
  const jaq::tensor<float> x = random_images(gen, 64, h);
  m.set_training(false);
  const forward_result fake = run(m, x);
  forward_result integer;
  {
    integer_model<float> im(m, q);
    CHECK(im.integer_layers() == std::int64_t(m.sites().size()));
    CHECK_FALSE(m.training());
    integer = run(m, x);
  }
  bool last_is_conv = false;
  for (const auto& site : m.sites()) {
    CAPTURE(site.layer->name);
    REQUIRE(integer.layers.count(site.layer->name) == 1);
    last_is_conv = site.layer->kind() == jaq::nn::layer_kind::conv2d;
    if (last_is_conv) CHECK(same_bits(fake.layers.at(site.layer->name), integer.layers.at(site.layer->name)));
  }
  if (last_is_conv) CHECK(same_bits(fake.logits, integer.logits));
  const double d = max_abs_diff(fake.logits, integer.logits);
  MESSAGE(m.name() << ": max |fake-quant - integer| logit difference " << d);
  CHECK(d <= 1e-4);
  CHECK(argmax_rows(fake.logits) == argmax_rows(integer.logits));
  // hooks restored: the fake-quant path again, bit for bit
  CHECK(same_bits(run(m, x).logits, fake.logits));
}

}  // namespace

TEST_CASE("small-cnn at mixed widths: integer conv outputs equal fake-quant bit for bit, predictions agree") {
  jaq::rng gen(3);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 10}, gen);
  quantized_model<float> q(m, mixed_config(m));
  train_a_little(m, q, gen, 10, 16);
  check_integer_matches(m, q, 16, 7);
  check_integer_matches(m, q, 28, 8);
}

TEST_CASE("mbconv-small at mixed widths (depthwise, residual): integer == fake-quant per conv, predictions agree") {
  jaq::rng gen(4);
  jaq::nn::mbconv_small<float> m({}, gen);
  const quant_config c = mixed_config(m);
  quantized_model<float> q(m, c);
  std::string layout;
  {
    std::ostringstream os;
    os << q;
    layout = os.str();
  }
  CHECK(layout.find("stem: w8 a8") != std::string::npos);
  CHECK(layout.find("fc: w8 a8") != std::string::npos);
  CHECK(layout.find(" w2 a2") != std::string::npos);
  CHECK(layout.find(" w3 a3") != std::string::npos);
  train_a_little(m, q, gen, 10, 28, 3);
  // every conv's reduction is inside the exact range for its widths (the premise of bit equality)
  for (const auto& lq : q.layers()) {
    const auto& w = [&]() -> const jaq::tensor<float>& {
      for (const auto& s : m.sites())
        if (s.layer->name == lq.name) return s.layer->weight.value;
      throw std::logic_error(lq.name);
    }();
    const auto ra = qrange::of(lq.abits, lq.act_signed, lq.name), rw = qrange::of(lq.wbits, true, lq.name);
    CAPTURE(lq.name);
    CHECK(w.size() / w.shape()[0] <= exact_reduction_limit(std::max(ra.q_n, ra.q_p), rw.q_n));
  }
  check_integer_matches(m, q, 28, 9);
}

TEST_CASE("grouped conv (groups 2), shuffle, depthwise and residual: integer logits == fake-quant logits bit for bit") {
  jaq::rng gen(5);
  grouped_net m(gen);
  quantized_model<float> q(m, mixed_config(m));
  train_a_little(m, q, gen, 4, 12);
  bool head_signed = false;
  for (const auto& lq : q.layers())
    if (lq.name == "head") head_signed = lq.act_signed;
  CHECK(head_signed);  // the residual sum can be negative: int8 activation codes
  check_integer_matches(m, q, 12, 10);
}

TEST_CASE("per-tensor weight steps have an integer path too") {
  jaq::rng gen(6);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 10}, gen);
  quant_config c = mixed_config(m);
  c.per_channel = false;
  quantized_model<float> q(m, c);
  train_a_little(m, q, gen, 10, 12);
  check_integer_matches(m, q, 12, 11);
}

TEST_CASE("compare_predictions: every image of a data set agrees, in file order") {
  jaq::rng gen(7);
  jaq::nn::mbconv_small<float> m({}, gen);
  quantized_model<float> q(m, mixed_config(m));
  train_a_little(m, q, gen, 10, 28, 2);
  jaq::data::dataset ds{.name = "random", .shape = {1, 28, 28}, .num_classes = 10, .images = {}, .labels = {}};
  for (int i = 0; i < 300; ++i) {
    for (int p = 0; p < 28 * 28; ++p) ds.images.push_back(float(gen.normal()));
    ds.labels.push_back(std::int32_t(gen.below(10)));
  }
  m.set_training(true);
  const prediction_agreement r = compare_predictions<float>(m, q, ds, {.batch_size = 128, .threads = 2});
  MESSAGE(r);
  CHECK(m.training());  // mode restored
  CHECK(r.images == 300);
  CHECK(r.agreeing == 300);
  CHECK(r.first_disagreeing_index == -1);
  CHECK(r.integer_accuracy == r.fake_quant_accuracy);
  CHECK(r.fake_quant_accuracy == doctest::Approx(jaq::nn::evaluate(m, ds, {.batch_size = 128, .threads = 2})));
}

TEST_CASE("PACT, min/max and DoReFa layers and uninitialised steps have no integer path: a config_error names the layer") {
  auto message_for = [](const quant_config& c, bool train) {
    jaq::rng gen(8);
    jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 10}, gen);
    quantized_model<float> q(m, c);
    if (train) train_a_little(m, q, gen, 10, 12, 1);
    const auto before = m.sites()[1].layer->forward_override ? 1 : 0;
    std::string msg;
    try {
      integer_model<float> im(m, q);
    } catch (const jaq::config_error& e) {
      msg = e.what();
    }
    CHECK((m.sites()[1].layer->forward_override ? 1 : 0) == before);  // nothing installed
    CHECK(m.training());
    return msg;
  };
  const std::string pact = message_for({.method = method::pact}, true);
  CHECK(pact.find("conv2") != std::string::npos);  // conv1 reads a signed image: LSQ; conv2 is PACT
  CHECK(pact.find("pact") != std::string::npos);
  const std::string mm = message_for({.method = method::minmax}, true);
  CHECK(mm.find("conv1") != std::string::npos);
  CHECK(mm.find("minmax") != std::string::npos);
  const std::string dorefa = message_for({.method = method::dorefa}, true);
  CHECK(dorefa.find("dorefa") != std::string::npos);
  const std::string fresh = message_for({.method = method::lsq}, false);
  CHECK(fresh.find("conv1") != std::string::npos);
  CHECK(fresh.find("not initialised") != std::string::npos);
}

TEST_CASE("quantized_model exposes its per-layer state read-only") {
  jaq::rng gen(9);
  jaq::nn::small_cnn<float> m({.in_channels = 1, .classes = 10}, gen);
  quant_config c{.method = method::lsq, .layer_bits = {{"conv2", 3}}};
  const quantized_model<float> q(m, c);
  const auto ls = q.layers();
  REQUIRE(ls.size() == 4);
  CHECK(ls[0].name == "conv1");
  CHECK(ls[0].wbits == 8);
  CHECK(ls[1].wbits == 3);
  CHECK(ls[1].abits == 3);
  CHECK(ls[2].wbits == 4);
  CHECK_FALSE(ls[1].initialized);
  CHECK(ls[1].s_w->value.size() == 32);  // per output channel
  CHECK(ls[1].s_a->value.size() == 1);
  CHECK(q.config().layer_bits.size() == 1);
}
