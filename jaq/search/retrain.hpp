// jaq/search/retrain.hpp: the second stage of the joint search: the derived network trained
// from scratch, fully quantized at its searched widths (LSQ, every channel, no CSQ; stem, head
// and classifier at the space's fixed width), then evaluated on the test set.
//
//   auto r = jaq::search::retrain(space, derived, data.train, data.test, {.epochs = 10}, &std::cout);
//   std::cout << r.test_accuracy;     // r.net and r.quant stay usable (integer check, export)
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/augment.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/nas/derived_net.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/schedule.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/quant/quantize_model.hpp"

namespace jaq::search {

struct retrain_settings {
  int epochs = 10;
  /// The first fp_epochs of `epochs` train the network at full precision; the quantizers are
  /// installed after them (their steps set from the next batch, as LSQ initialises from a
  /// trained network) and the momentum starts again. 0: quantized from the first step.
  int fp_epochs = 0;
  std::int64_t batch = 128;
  double lr = 0.1;  ///< SGD, cosine to 0
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::uint64_t seed = 1;
  int threads = 2;
  std::int64_t report_every = 100;
  std::int64_t train_images = 0;       ///< retrain on the first N training images (0: all)
  std::int64_t test_images = 0;        ///< evaluate on the first N test images (0: all)
  std::int64_t epoch_test_images = 0;  ///< epochs before the last: score only the first N of those (0: all)
  /// Training batches' random translation and flips (none by default). `fill` is in the images'
  /// units: the program that normalised them sets it (examples/search.cpp: a black pixel).
  data::augment_config augment = {};

  void validate(const std::string& where) const {
    if (epochs < 1) throw config_error(where, "retrain_epochs", "must be >= 1, got " + std::to_string(epochs));
    if (fp_epochs < 0 || fp_epochs >= epochs)
      throw config_error(where, "retrain.fp_epochs",
                         "must be in [0, epochs = " + std::to_string(epochs) + "), got " + std::to_string(fp_epochs));
    if (batch < 1) throw config_error(where, "retrain_batch", "must be >= 1, got " + std::to_string(batch));
    if (!(lr > 0)) throw config_error(where, "retrain_lr", "must be > 0");
    if (threads < 1) throw config_error(where, "threads", "must be >= 1");
    if (train_images < 0) throw config_error(where, "retrain.train_images", "must be >= 0 (0: all)");
    if (test_images < 0) throw config_error(where, "retrain.test_images", "must be >= 0 (0: all)");
    if (epoch_test_images < 0) throw config_error(where, "retrain.epoch_test_images", "must be >= 0 (0: all)");
    if (augment.pad < 0) throw config_error(where, "retrain.augment_pad", "must be >= 0, got " + std::to_string(augment.pad));
  }
};

struct retrain_epoch {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0;
  std::int64_t test_images = 0;  ///< how many test images test_accuracy is over
};

struct retrained {
  std::unique_ptr<nas::derived_net<float>> net;  // declared first: destroyed after the quantizers
  std::unique_ptr<quant::quantized_model<float>> quant;
  std::vector<retrain_epoch> log;
  double train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

inline retrained retrain(const nas::space_config& space, const nas::derived_arch& arch, const data::dataset& train,
                         const data::dataset& test, const retrain_settings& s, std::ostream* log = nullptr) {
  s.validate(space.name);
  if (s.augment.pad >= space.image_size)
    throw config_error(space.name, "retrain.augment_pad",
                       std::to_string(s.augment.pad) + " is not smaller than the " + std::to_string(space.image_size) + "-pixel images");
  s.augment.validate(space.name + ": retrain.augment", space.image_size, space.image_size, space.in_channels);
  retrained r;
  rng gen(s.seed);
  r.net = std::make_unique<nas::derived_net<float>>(space, arch, gen);
  const optim::sgd_config sgd_cfg{.lr = s.lr, .momentum = s.momentum, .weight_decay = s.weight_decay};
  std::unique_ptr<optim::sgd<float>> opt;
  auto quantize = [&] {
    r.quant = std::make_unique<quant::quantized_model<float>>(*r.net, quant::quant_config{.method = quant::method::lsq,
                                                                                          .first_bits = space.fixed_bits,
                                                                                          .last_bits = space.fixed_bits,
                                                                                          .layer_bits = r.net->layer_bits(),
                                                                                          .layer_act_bits = r.net->layer_act_bits()});
    opt = std::make_unique<optim::sgd<float>>(r.quant->parameters(r.net->parameters()), sgd_cfg);
  };
  if (s.fp_epochs > 0) opt = std::make_unique<optim::sgd<float>>(r.net->parameters(), sgd_cfg);  // until epoch fp_epochs quantizes
  data::batch_iterator it(train, {.batch_size = s.batch}, gen);
  const std::int64_t per_epoch = it.batches_per_epoch();
  const optim::cosine_schedule lr{.base_lr = s.lr, .total_steps = per_epoch * s.epochs};
  struct stepper {
    std::unique_ptr<optim::sgd<float>>* opt;
    std::unique_ptr<quant::quantized_model<float>>* q;
    void zero_grad() { (*opt)->zero_grad(); }
    void step() {
      (*opt)->step();
      if (*q) (*q)->project();
    }
  } st{&opt, &r.quant};
  tape<float> tp({.threads = s.threads});
  const bool subset = s.epoch_test_images > 0 && s.epoch_test_images < test.size();
  const data::dataset epoch_test = subset ? data::first_n(test, s.epoch_test_images) : data::dataset{};
  stopwatch total;
  std::int64_t step = 0;
  data::batch b;
  for (int e = 0; e < s.epochs; ++e) {
    if (e == s.fp_epochs) quantize();
    retrain_epoch m{.epoch = e + 1};
    double loss = 0;
    std::int64_t correct = 0, seen = 0, steps = 0;
    stopwatch clock;
    while (it.next(b)) {
      data::augment(b, s.augment, gen);
      opt->set_lr(lr(step));
      const auto res = nn::train_step(*r.net, st, tp, b, step);
      loss += res.loss;
      correct += res.correct;
      seen += res.count;
      ++steps;
      ++step;
      if (log && (steps % s.report_every == 0 || steps == per_epoch)) {
        const double done = double(step), all = double(per_epoch * s.epochs);
        char line[200];
        std::snprintf(line, sizeof line, "retrain epoch %d/%d step %lld/%lld loss %.4f acc %.4f | eta %s", e + 1, s.epochs,
                      static_cast<long long>(steps), static_cast<long long>(per_epoch), loss / double(steps),
                      double(correct) / double(seen), format_duration(total.peek() / done * (all - done)).c_str());
        *log << line << std::endl;
      }
    }
    m.train_loss = steps ? loss / double(steps) : 0;
    m.train_accuracy = seen ? double(correct) / double(seen) : 0;
    const bool last = e + 1 == s.epochs;
    const data::dataset& scored = subset && !last ? epoch_test : test;
    m.test_images = scored.size();
    m.test_accuracy = nn::evaluate(*r.net, scored, {.batch_size = 250, .threads = s.threads});
    m.seconds = clock.lap();
    if (log)
      *log << "retrain epoch " << m.epoch << (e < s.fp_epochs ? " (full precision)" : "") << " done: train accuracy " << m.train_accuracy
           << ", test accuracy " << m.test_accuracy
           << (scored.size() < test.size() ? " (first " + std::to_string(scored.size()) + " test images)" : std::string()) << "\n";
    r.log.push_back(m);
  }
  r.seconds = total.lap();
  r.train_accuracy = r.log.back().train_accuracy;
  r.test_accuracy = r.log.back().test_accuracy;
  return r;
}

}  // namespace jaq::search
