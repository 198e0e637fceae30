#include "jaq/nn/training.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/data/subset.hpp"
#include "jaq/nn/registry.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/schedule.hpp"
#include "jaq/optim/sgd.hpp"

namespace {

// Fashion-MNIST from its Debian package; a missing install is a failure naming the directory.
const jaq::data::split& fashion_mnist() {
  static const jaq::data::split s = [] {
    jaq::data::split d = jaq::data::load_fashion_mnist(jaq::data::fashion_mnist_dir);
    jaq::data::normalize(d.train, jaq::data::fashion_mnist_normalization());
    jaq::data::normalize(d.test, jaq::data::fashion_mnist_normalization());
    return d;
  }();
  return s;
}

std::vector<double> loss_trace(const jaq::data::dataset& train, int threads, int steps) {
  jaq::rng gen(1234);
  auto model = jaq::nn::make_model<float>("small-cnn", {}, gen);
  jaq::optim::sgd<float> opt(model->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
  jaq::tape<float> tp({.threads = threads});
  jaq::data::batch_iterator it(train, {.batch_size = 64}, gen);
  jaq::data::batch b;
  std::vector<double> trace;
  for (int s = 0; s < steps; ++s) {
    if (!it.next(b)) it.next(b);
    trace.push_back(jaq::nn::train_step(*model, opt, tp, b, s).loss);
  }
  return trace;
}

}  // namespace

TEST_CASE("small-cnn reaches >= 0.70 test accuracy after 5 epochs on a 2,000-image Fashion-MNIST subset") {
  const auto& fm = fashion_mnist();
  jaq::rng gen(7);
  const jaq::data::dataset train = jaq::data::stratified(fm.train, 200, gen);  // 2,000 images
  REQUIRE(train.size() == 2000);
  auto model = jaq::nn::make_model<float>("small-cnn", {}, gen);
  const int epochs = 5;
  jaq::data::batch_iterator it(train, {.batch_size = 32}, gen);
  jaq::optim::sgd<float> opt(model->parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  const jaq::optim::cosine_schedule sched{.base_lr = 0.1, .total_steps = epochs * it.batches_per_epoch()};
  jaq::tape<float> tp({.threads = 2});
  jaq::data::batch b;
  std::int64_t step = 0;
  double first_loss = 0, last_loss = 0;
  for (int e = 0; e < epochs; ++e)
    while (it.next(b)) {
      opt.set_lr(sched(step));
      const auto r = jaq::nn::train_step(*model, opt, tp, b, step);
      if (step == 0) first_loss = r.loss;
      last_loss = r.loss;
      ++step;
    }
  const double acc = jaq::nn::evaluate(*model, fm.test, {.batch_size = 1000, .threads = 2});
  MESSAGE("first loss " << first_loss << ", last loss " << last_loss << ", test accuracy " << acc);
  CHECK(last_loss < first_loss);
  CHECK(acc >= 0.70);
  CHECK(tp.held_bytes() == 0);
}

TEST_CASE("the same seed gives the same loss trace, with 1 and with 2 threads") {
  const auto& fm = fashion_mnist();
  const jaq::data::dataset train = jaq::data::first_n(fm.train, 640);
  const auto one = loss_trace(train, 1, 8);
  const auto one_again = loss_trace(train, 1, 8);
  const auto two = loss_trace(train, 2, 8);
  const auto two_again = loss_trace(train, 2, 8);
  CHECK(one == one_again);
  CHECK(two == two_again);
  CHECK(one == two);  // fixed-chunk reductions: the thread count does not change a bit
}

TEST_CASE("a diverging run stops with an error naming the step") {
  const auto& fm = fashion_mnist();
  const jaq::data::dataset train = jaq::data::first_n(fm.train, 256);
  jaq::rng gen(3);
  auto model = jaq::nn::make_model<float>("small-cnn", {}, gen);
  jaq::optim::sgd<float> opt(model->parameters(), {.lr = 1e30});
  jaq::tape<float> tp;
  jaq::data::batch_iterator it(train, {.batch_size = 64}, gen);
  jaq::data::batch b;
  std::int64_t step = 0;
  auto run = [&] {
    for (; step < 20; ++step) {
      if (!it.next(b)) it.next(b);
      jaq::nn::train_step(*model, opt, tp, b, step);
    }
  };
  CHECK_THROWS_WITH_AS(run(), doctest::Contains("at step"), jaq::model_error);
  CHECK(step < 20);
}

TEST_CASE("a NaN weight stops training with an error naming the step and the layer") {
  const auto& fm = fashion_mnist();
  const jaq::data::dataset train = jaq::data::first_n(fm.train, 64);
  jaq::rng gen(3);
  jaq::nn::small_cnn<float> model({}, gen);
  jaq::optim::sgd<float> opt(model.parameters(), {.lr = 0.01});
  jaq::tape<float> tp;
  jaq::data::batch_iterator it(train, {.batch_size = 32}, gen);
  jaq::data::batch b;
  REQUIRE(it.next(b));
  jaq::nn::train_step(model, opt, tp, b, 0);
  model.conv2.weight.value[5] = std::nanf("");
  REQUIRE(it.next(b));
  CHECK_THROWS_WITH_AS(jaq::nn::train_step(model, opt, tp, b, 1),
                       doctest::Contains("training diverged at step 1: parameter conv2.weight (1 of"), jaq::model_error);
  // an infinite input pixel
  model.conv2.weight.value[5] = 0.0f;
  b.images[3 * 784 + 100] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(jaq::nn::train_step(model, opt, tp, b, 2), doctest::Contains("at step 2: input image 3 of the batch holds inf"),
                       jaq::model_error);
}

TEST_CASE("the tape's peak bytes measure one training step's activations, and held bytes return to 0") {
  const auto& fm = fashion_mnist();
  const jaq::data::dataset train = jaq::data::first_n(fm.train, 128);
  jaq::rng gen(5);
  auto model = jaq::nn::make_model<float>("small-cnn", {}, gen);
  jaq::tape<float> tp;
  jaq::data::batch_iterator it(train, {.batch_size = 128});
  jaq::data::batch b;
  REQUIRE(it.next(b));
  model->set_training(true);
  auto logits = model->forward(tp, tp.constant(jaq::nn::batch_tensor<float>(b)));
  auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(b.labels));
  const std::size_t forward_bytes = tp.held_bytes();
  // at least conv1's output, bn1's output and relu1's output: 3 x 16 x 128 x 28 x 28 floats
  CHECK(forward_bytes > 3ull * 16 * 128 * 784 * 4);
  tp.backward(loss);
  CHECK(tp.held_bytes() == 0);
  CHECK(tp.peak_bytes() >= forward_bytes);
  MESSAGE("small-cnn, batch 128: forward holds " << forward_bytes / 1e6 << " MB, peak " << tp.peak_bytes() / 1e6 << " MB");
}

namespace {

jaq::data::dataset random_images(std::int64_t n, std::uint64_t seed) {
  jaq::rng r(seed);
  jaq::data::dataset ds{
      .name = "random", .shape = {.channels = 1, .height = 28, .width = 28}, .num_classes = 10, .images = {}, .labels = {}};
  for (std::int64_t i = 0; i < n * 28 * 28; ++i) ds.images.push_back(float(r.normal()));
  for (std::int64_t i = 0; i < n; ++i) ds.labels.push_back(std::int32_t(i % 10));
  return ds;
}

// Running statistics of every BatchNorm after one training-mode forward of `ds` (one batch) with
// momentum 1 on a freshly built small-cnn (seed 3): that batch's statistics alone.
std::vector<std::vector<float>> one_batch_stats(const jaq::data::dataset& ds, bool var) {
  jaq::rng gen(3);
  auto m = jaq::nn::make_model<float>("small-cnn", {}, gen);
  for (auto* bn : m->batch_norms()) bn->momentum = 1.0;
  m->set_training(true);
  jaq::tape<float> tp;
  tp.set_grad_enabled(false);
  jaq::data::batch_iterator it(ds, {.batch_size = ds.size()});
  jaq::data::batch b;
  REQUIRE(it.next(b));
  m->forward(tp, tp.constant(jaq::nn::batch_tensor<float>(b)));
  std::vector<std::vector<float>> out;
  for (auto* bn : m->batch_norms()) {
    const auto& t = var ? bn->state.running_var : bn->state.running_mean;
    out.emplace_back(t.begin(), t.end());
  }
  return out;
}

}  // namespace

TEST_CASE("recalibrate_batch_norm: running statistics become the mean of the batches' statistics; nothing else changes") {
  const auto ds = random_images(48, 11);
  std::vector<std::int64_t> second;
  for (std::int64_t i = 24; i < 48; ++i) second.push_back(i);
  const auto a = jaq::data::first_n(ds, 24), b = jaq::data::select(ds, second);
  jaq::rng gen(3);
  auto m = jaq::nn::make_model<float>("small-cnn", {}, gen);
  for (auto* bn : m->batch_norms()) {  // statistics from elsewhere, which must not survive
    for (auto& v : bn->state.running_mean) v = 5.0f;
    bn->momentum = 0.25;
  }
  std::vector<std::vector<float>> params;
  for (auto* p : m->parameters()) params.emplace_back(p->value.begin(), p->value.end());
  m->set_training(false);
  jaq::nn::recalibrate_batch_norm(*m, ds, {.images = 48, .batch_size = 24, .threads = 2});
  CHECK_FALSE(m->training());
  const auto ma = one_batch_stats(a, false), mb = one_batch_stats(b, false);
  const auto va = one_batch_stats(a, true), vb = one_batch_stats(b, true);
  REQUIRE(m->batch_norms().size() == ma.size());
  for (std::size_t k = 0; k < ma.size(); ++k) {
    const auto* bn = m->batch_norms()[k];
    CHECK(bn->momentum == 0.25);
    for (std::size_t c = 0; c < ma[k].size(); ++c) {
      CHECK(bn->state.running_mean[std::int64_t(c)] == doctest::Approx(0.5 * (ma[k][c] + mb[k][c])).epsilon(1e-4));
      CHECK(bn->state.running_var[std::int64_t(c)] == doctest::Approx(0.5 * (va[k][c] + vb[k][c])).epsilon(1e-4));
    }
  }
  std::size_t i = 0;
  for (auto* p : m->parameters()) CHECK(std::equal(p->value.begin(), p->value.end(), params[i++].begin()));
  CHECK_THROWS_WITH_AS(jaq::nn::recalibrate_batch_norm(*m, ds, {.batch_size = 0}), doctest::Contains("batch_size"), jaq::config_error);
}
