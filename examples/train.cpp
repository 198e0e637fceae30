// examples/train.cpp: train a small CNN on Fashion-MNIST with jaq's autograd-lite engine.
//
// Shows the whole training path: the data loader (jaq/data), a model built by name
// (jaq/nn: small-cnn or mbconv-small), the explicit tape, SGD with momentum, weight decay and a
// cosine schedule (jaq/optim), progress lines with an ETA, per-epoch evaluation, a checkpoint
// (parameters + optimizer state, written atomically), and per-epoch metrics as JSON and CSV.
// It checks its own result: a NaN loss stops the run with an error naming the step, and the
// last line is machine-readable:
//
//   result: test_accuracy=<0..1> median_step_ms=<ms> images_per_s=<n> peak_backward_bytes=<n>
//
//   bazel run //examples:train -- --epochs 1 --threads 2
//   bazel run //examples:train -- --model mbconv-small --max-steps 100 --out /tmp/run
//   bazel run //examples:train -- --quant lsq --bits 4        # QAT (jaq/quant; --wbits/--abits, pact, minmax)
//   bazel run //examples:train -- --mixed 2,3,4,8 --csq 20    # mixed-precision search with CSQ (jaq/nas)
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/autograd/checkpoint.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/data/subset.hpp"
#include "jaq/nas/train_session.hpp"
#include "jaq/nn/registry.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/schedule.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/report/json.hpp"
#include "jaq/report/plot.hpp"

#include "examples/caller_dir.hpp"
#include "examples/cli_checks.hpp"
#include "examples/out_flag.hpp"

namespace {

/// Everything the command line sets. New options (quantization, ...) go here and into
/// add_flags(); build_model() is where a model's layers get their quantizers.
struct train_options {
  int epochs = 1;
  std::int64_t batch = 128;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::uint64_t seed = 1;
  int threads = 2;
  std::string data_dir = jaq::data::fashion_mnist_dir;
  std::string model = "small-cnn";
  std::int64_t max_steps = 0;  // 0: no limit
  std::int64_t every = 50;     // progress line every this many steps
  std::int64_t eval_images = 0;  // evaluate on the first N test images (0: all)
  std::string out = "runs/train";
  jaq::nas::train_flags quant;  // --quant/--bits/--mixed/--csq: jaq/nas/train_session.hpp
};

void add_flags(CLI::App& app, train_options& o) {
  app.add_option("--epochs", o.epochs, "training epochs")->check(jaq_examples::positive);
  app.add_option("--batch", o.batch, "batch size")->check(jaq_examples::positive);
  app.add_option("--lr", o.lr, "peak learning rate (cosine schedule to 0)")->check(jaq_examples::positive);
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(jaq_examples::in_range(0.0, 0.999));
  app.add_option("--weight-decay", o.weight_decay, "L2 weight decay")->check(jaq_examples::non_negative);
  app.add_option("--seed", o.seed, "seed for initialisation and shuffling");
  app.add_option("--threads", o.threads, "worker threads")->check(jaq_examples::in_range(1, 256));
  app.add_option("--data-dir", o.data_dir, "Fashion-MNIST idx directory");
  app.add_option("--model", o.model, "small-cnn or mbconv-small");
  app.add_option("--max-steps", o.max_steps, "stop after this many steps (0: no limit), for measurements")
      ->check(jaq_examples::non_negative);
  app.add_option("--every", o.every, "progress line every N steps")->check(jaq_examples::positive);
  app.add_option("--eval-images", o.eval_images, "evaluate on the first N test images (0: all 10,000)")
      ->check(jaq_examples::non_negative);
  app.add_option("--out", o.out, "directory for metrics (JSON, CSV) and the checkpoint");
  jaq::nas::add_train_flags(app, o.quant);
}

/// The model for these options. The place to swap in quantizers (layer_site::layer hooks).
std::unique_ptr<jaq::nn::model<float>> build_model(const train_options& o, const jaq::data::dataset& train, jaq::rng& gen) {
  try {
    return jaq::nn::make_model<float>(o.model, {.in_channels = train.shape.channels, .classes = train.num_classes}, gen);
  } catch (const jaq::config_error& e) {  // the library names the field; the user wrote a flag
    throw jaq::config_error("command line", "--model", e.what());
  }
}

struct epoch_metrics {
  int epoch = 0;
  std::int64_t steps = 0;
  double train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

int run(const train_options& o) {
  jaq_examples::check_out_dir(o.out);  // before any work: a finished run is never lost to a bad --out
  jaq::data::split data = jaq::data::load_fashion_mnist(o.data_dir);
  jaq::data::normalize(data.train, jaq::data::fashion_mnist_normalization());
  jaq::data::normalize(data.test, jaq::data::fashion_mnist_normalization());
  if (o.eval_images > 0 && o.eval_images < data.test.size()) data.test = jaq::data::first_n(data.test, o.eval_images);

  if (o.batch > data.train.size())
    throw jaq::config_error("command line", "--batch",
                            std::to_string(o.batch) + " is more than the " + std::to_string(data.train.size()) +
                                " training images (one step would hold the whole set)");
  jaq::rng gen(o.seed);
  auto model = build_model(o, data.train, gen);
  std::cout << *model << std::flush;
  jaq::nas::train_session<float> qs(o.quant, *model, gen);  // quantization / mixed-precision search
  if (qs.active()) std::cout << qs << std::flush;
  jaq::data::batch_iterator it(data.train, {.batch_size = o.batch}, gen);
  const std::int64_t per_epoch = it.batches_per_epoch();
  std::int64_t total = per_epoch * o.epochs;
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  const jaq::optim::cosine_schedule lr{.base_lr = o.lr, .total_steps = per_epoch * o.epochs};
  jaq::optim::sgd<float> opt(qs.parameters(model->parameters()), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
  auto qopt = qs.optimizer(opt);  // the plain SGD step, or weight/architecture steps of a search
  jaq::tape<float> tp({.threads = o.threads});
  jaq::progress prog(std::cout, {.every = o.every, .steps_per_epoch = per_epoch, .epochs = o.epochs});

  std::vector<double> step_ms;
  jaq::report::plot_series loss_curve{.name = "training loss (per step)"};
  std::vector<epoch_metrics> epochs;
  std::int64_t step = 0, images = 0;
  double loop_seconds = 0;
  jaq::data::batch b;
  for (int e = 0; e < o.epochs && step < total; ++e) {
    epoch_metrics m{.epoch = e + 1};
    qs.begin_epoch(e);
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0;
    jaq::stopwatch epoch_clock;
    for (std::int64_t s = 0; step < total; ++s) {
      jaq::stopwatch sw;
      if (!it.next(b)) break;  // epoch over
      opt.set_lr(lr(step));
      qs.begin_step(step);
      const auto r = jaq::nn::train_step(*model, qopt, tp, b, step);
      const double secs = sw.lap();
      step_ms.push_back(secs * 1e3);
      loss_curve.x.push_back(static_cast<double>(step + 1));
      loss_curve.y.push_back(r.loss);
      loop_seconds += secs;
      prog.update({.epoch = e, .step = s, .loss = r.loss, .correct = r.correct, .count = r.count, .seconds = secs});
      loss_sum += r.loss;
      correct += r.correct;
      seen += r.count;
      images += r.count;
      ++step;
      ++m.steps;
    }
    m.seconds = epoch_clock.lap();
    m.train_loss = m.steps ? loss_sum / static_cast<double>(m.steps) : 0;
    m.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0;
    m.test_accuracy = jaq::nn::evaluate(*model, data.test, {.batch_size = 250, .threads = o.threads});
    std::cout << "epoch " << m.epoch << " done: train loss " << m.train_loss << ", train accuracy " << m.train_accuracy
              << ", test accuracy " << m.test_accuracy << ", " << m.seconds << " s\n";
    epochs.push_back(m);
  }

  // Metrics (JSON + CSV) and a checkpoint of parameters + optimizer state, all atomic.
  std::filesystem::create_directories(o.out);
  nlohmann::json j;
  j["model"] = o.model;
  j["config"] = {{"epochs", o.epochs}, {"batch", o.batch}, {"lr", o.lr}, {"momentum", o.momentum},
                 {"weight_decay", o.weight_decay}, {"seed", o.seed}, {"threads", o.threads}, {"max_steps", o.max_steps},
                 {"data_dir", o.data_dir}, {"quant", o.quant.quant}, {"bits", o.quant.bits}, {"wbits", o.quant.wbits},
                 {"abits", o.quant.abits}, {"first_bits", o.quant.first_bits}, {"last_bits", o.quant.last_bits},
                 {"mixed", o.quant.mixed}, {"csq", o.quant.csq_given ? o.quant.csq : 0.0},
                 {"derived", o.quant.derived}};  // every flag the run depended on
  j["epochs"] = nlohmann::json::array();
  std::ostringstream csv;
  jaq::report::csv_writer w(csv, {"epoch", "steps", "train_loss", "train_accuracy", "test_accuracy", "seconds"});
  for (const auto& m : epochs) {
    j["epochs"].push_back({{"epoch", m.epoch}, {"steps", m.steps}, {"train_loss", m.train_loss},
                           {"train_accuracy", m.train_accuracy}, {"test_accuracy", m.test_accuracy}, {"seconds", m.seconds}});
    w.row(m.epoch, m.steps, m.train_loss, m.train_accuracy, m.test_accuracy, m.seconds);
  }
  const double test_accuracy = epochs.empty() ? 0.0 : epochs.back().test_accuracy;
  const double med = median(step_ms);
  const double ips = loop_seconds > 0 ? static_cast<double>(images) / loop_seconds : 0.0;
  j["result"] = {{"test_accuracy", test_accuracy}, {"median_step_ms", med}, {"images_per_s", ips}, {"steps", step}};
  jaq::report::write_json(std::filesystem::path(o.out) / "metrics.json", j);
  jaq::write_file_atomic(std::filesystem::path(o.out) / "metrics.csv", csv.str());
  auto state = model->state();
  auto ostate = opt.state();
  state.insert(state.end(), ostate.begin(), ostate.end());
  jaq::save_checkpoint(std::filesystem::path(o.out) / "checkpoint.jaqckpt", state);
  std::cout << "wrote " << o.out << "/metrics.json, metrics.csv, checkpoint.jaqckpt\n";
  // The loss curve as a picture. A missing gnuplot costs the picture, not the run's results.
  try {
    jaq::report::plot_spec plot{.title = o.model + ": training loss", .xlabel = "step", .ylabel = "loss"};
    plot.series.push_back(std::move(loss_curve));
    jaq::report::render_png(plot, std::filesystem::path(o.out) / "loss.png");
    std::cout << "wrote " << o.out << "/loss.png\n";
  } catch (const jaq::error& e) {
    std::cerr << "train: warning: no loss plot: " << e.what() << "\n";
  }

  char line[200];
  if (qs.search()) {
    std::cout << "derived precision:\n" << qs.search()->derived();
    const auto derived_path = std::filesystem::path(o.out) / "derived.json";
    jaq::report::write_json(derived_path, jaq::nas::to_json(qs.search()->derived(), o.model));
    std::cout << "wrote " << derived_path.string() << " (retrain it: --derived " << derived_path.string() << ")\n";
  }
  std::snprintf(line, sizeof line, "result: test_accuracy=%.4f median_step_ms=%.3f images_per_s=%.1f peak_backward_bytes=%zu",
                test_accuracy, med, ips, tp.peak_bytes());
  std::cout << line << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  jaq::use_best_blas_kernel(argv);  // OpenBLAS on a CPU it does not know: its fast kernels (may restart)
  // Keep freed activation buffers in the heap for the next step instead of returning them to
  // the kernel (and faulting them in again): tensors up to 32 MB come from the heap.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"Train a small CNN on Fashion-MNIST with jaq (autograd-lite, CPU)."};
  app.option_defaults()->always_capture_default();  // --help shows every default
  train_options o;
  add_flags(app, o);
  CLI11_PARSE(app, argc, argv);
  o.out = jaq_examples::from_caller_dir(o.out);
  o.data_dir = jaq_examples::from_caller_dir(o.data_dir);
  try {
    return run(o);
  } catch (const std::exception& e) {  // jaq::error and anything else: a message, not an abort
    std::cerr << "train: error: " << e.what() << std::endl;
    return 1;
  }
}
