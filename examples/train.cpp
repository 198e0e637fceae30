// examples/train.cpp: train a small CNN on Fashion-MNIST with jaq's autograd-lite engine.
//
// Shows the whole training path: the data loader (jaq/data), a model built by name
// (jaq/nn: small-cnn or mbconv-small), the explicit tape, SGD with momentum, weight decay and a
// cosine schedule (jaq/optim), progress lines with an ETA, per-epoch evaluation, a checkpoint at
// each epoch end and every --checkpoint-every steps (parameters + optimizer state, then the
// train_state.json manifest, each atomically), --resume from it (each epoch's batch order is a
// function of the seed and the epoch, so a resumed run is the uninterrupted one, bit for bit),
// and per-epoch metrics as JSON and CSV.
// It checks its own result: a NaN loss stops the run with an error naming the step, and the
// last line is machine-readable:
//
//   result: test_accuracy=<0..1> median_step_ms=<ms> images_per_s=<n> peak_backward_bytes=<n>
//
//   bazel run //examples:train -- --epochs 1 --threads 2
//   bazel run //examples:train -- --model mbconv-small --max-steps 100 --out /tmp/run
//   bazel run //examples:train -- --epochs 3 --out /tmp/run --resume  # after a kill: from its last checkpoint
//   bazel run //examples:train -- --quant lsq --bits 4        # QAT (jaq/quant; --wbits/--abits, pact, minmax)
//   bazel run //examples:train -- --mixed 2,3,4,8 --csq 20    # mixed-precision search with CSQ (jaq/nas)
//   bazel run //examples:train -- --device auto --quant lsq   # the step on a GPU when there is one (kernels/)
#include <CLI/CLI.hpp>

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
#include "jaq/core/memory.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/data/subset.hpp"
#include "jaq/io/onnx.hpp"
#include "jaq/nas/train_session.hpp"
#include "jaq/nn/registry.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/schedule.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/report/json.hpp"
#include "jaq/report/plot.hpp"
#include "jaq/version.hpp"
#include "kernels/device.hpp"
#include "kernels/train.hpp"
#include "kernels/train_model.hpp"
#include "kernels/train_search_model.hpp"

#include "examples/caller_dir.hpp"
#include "examples/cli_checks.hpp"
#include "examples/out_flag.hpp"

namespace {

std::string command_line = "train";  // named in outputs that leave jaq (the ONNX model)

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
  std::int64_t max_steps = 0;    // 0: no limit
  std::int64_t every = 50;       // progress line every this many steps
  std::int64_t eval_images = 0;  // evaluate on the first N test images (0: all)
  std::string out = "runs/train";
  bool resume = false;
  std::int64_t checkpoint_every = 0;  // also checkpoint every this many steps (0: at epoch ends only)
  jaq::nas::train_flags quant;        // --quant/--bits/--mixed/--csq: jaq/nas/train_session.hpp
  std::string export_onnx;            // the trained network as ONNX (jaq/io/onnx.hpp)
  std::string device = "cpu";         // where the step runs: cpu, cuda, auto (kernels/train.hpp)
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
  app.add_option("--eval-images", o.eval_images, "evaluate on the first N test images (0: all 10,000)")->check(jaq_examples::non_negative);
  app.add_option("--out", o.out, "directory for metrics (JSON, CSV) and the checkpoint");
  app.add_option("--export-onnx", o.export_onnx,
                 "also write the trained network as an ONNX model to this file (LSQ --quant/--derived or full precision), "
                 "and jaq's test predictions to --out/predictions.csv (tools/onnx_check.py compares a runtime with them)");
  app.add_option("--device", o.device,
                 "where the training step runs: cpu, cuda (a GPU, else an error) or auto (a GPU when there is one); "
                 "cuda trains full precision, every --quant and a --mixed search (with or without --csq)");
  app.add_flag("--resume", o.resume, "continue the run whose checkpoint is in --out (a --mixed search too)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "also checkpoint every N steps (0: at each epoch end only)")
      ->check(jaq_examples::non_negative);
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

/// What a checkpoint must agree with to be resumed: every flag the trajectory depends on
/// (not --max-steps, --threads, --every or --data-dir: results do not depend on them).
nlohmann::json run_identity(const train_options& o) {
  return {{"model", o.model},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"weight_decay", o.weight_decay},
          {"seed", o.seed},
          {"eval_images", o.eval_images},
          {"quant", o.quant.quant},
          {"bits", o.quant.bits},
          {"wbits", o.quant.wbits},
          {"abits", o.quant.abits},
          {"first_bits", o.quant.first_bits},
          {"last_bits", o.quant.last_bits},
          {"derived", o.quant.derived},
          {"mixed", o.quant.mixed},
          {"csq", o.quant.csq_given ? o.quant.csq : 0.0},
          {"csq_every", o.quant.csq_every},
          {"fused_naive", o.quant.fused_naive},
          {"tau", {o.quant.tau, o.quant.tau_decay, o.quant.tau_min}}};
}

/// The generator of epoch e's batch order: a function of (seed, epoch) alone, so a resumed run
/// draws the order the uninterrupted one draws.
jaq::rng epoch_order(std::uint64_t seed, int e) {
  return jaq::rng(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(e + 1) * 0xBF58476D1CE4E5B9ull);
}

/// Where a run stands: completed epochs, the epoch in progress, the loss curve.
struct run_progress {
  std::int64_t step = 0, images = 0;
  double loop_seconds = 0;
  std::vector<epoch_metrics> epochs;  // completed
  epoch_metrics current;              // the epoch in progress (steps done so far)
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  std::vector<double> loss, step_ms;

  /// The accumulators of `epoch` (1-based), from nothing.
  void start_epoch(int epoch) {
    current = {.epoch = epoch};
    loss_sum = 0;
    correct = seen = 0;
  }
};

nlohmann::json to_json(const epoch_metrics& m) {
  return {{"epoch", m.epoch},
          {"steps", m.steps},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"test_accuracy", m.test_accuracy},
          {"seconds", m.seconds}};
}
epoch_metrics epoch_from_json(const nlohmann::json& j) {
  return {.epoch = j.at("epoch").get<int>(),
          .steps = j.at("steps").get<std::int64_t>(),
          .train_loss = j.at("train_loss").get<double>(),
          .train_accuracy = j.at("train_accuracy").get<double>(),
          .test_accuracy = j.at("test_accuracy").get<double>(),
          .seconds = j.at("seconds").get<double>()};
}

const char* const train_state_format = "jaq train checkpoint";

/// checkpoint-step<N>.jaqckpt (parameters, optimizer state), then train_state.json naming it
/// and where the run stands, each atomically and the manifest last, then every other
/// checkpoint-step file removed (the previous one, and one a kill between the manifest and the
/// removal left behind): a reader (and --resume) sees the previous state or this one, never a
/// mix, whenever the process dies.
void save_run(const train_options& o, const std::vector<jaq::named_tensor<float>>& state, const run_progress& p) {
  const std::filesystem::path dir(o.out), manifest = dir / "train_state.json";
  std::filesystem::create_directories(dir);
  const std::string file = "checkpoint-step" + std::to_string(p.step) + ".jaqckpt";
  jaq::save_checkpoint(dir / file, state);
  nlohmann::json j{{"format", train_state_format},
                   {"version", 1},
                   {"identity", run_identity(o)},
                   {"checkpoint", file},
                   {"step", p.step},
                   {"images", p.images},
                   {"loop_seconds", p.loop_seconds},
                   {"epochs", nlohmann::json::array()},
                   {"current", to_json(p.current)},
                   {"loss_sum", p.loss_sum},
                   {"correct", p.correct},
                   {"seen", p.seen},
                   {"loss", p.loss},
                   {"step_ms", p.step_ms}};
  for (const auto& m : p.epochs) j["epochs"].push_back(to_json(m));
  jaq::report::write_json(manifest, j);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name != file && name.rfind("checkpoint-step", 0) == 0 && e.path().extension() == ".jaqckpt") std::filesystem::remove(e.path(), ec);
  }
}

/// Restores what save_run wrote into `state` and returns where the run stood. data_error naming
/// the file for a missing, corrupt or foreign checkpoint.
run_progress load_run(const train_options& o, const std::vector<jaq::named_tensor<float>>& state) {
  const std::filesystem::path dir(o.out), manifest = dir / "train_state.json";
  const std::string src = manifest.string();
  if (!std::filesystem::exists(manifest)) throw jaq::data_error(src, "no checkpoint here (nothing to resume)");
  nlohmann::json j;
  try {
    j = jaq::report::read_json(manifest);
  } catch (const jaq::error& e) {
    throw jaq::data_error(src, std::string("corrupt checkpoint manifest: ") + e.what());
  }
  run_progress p;
  try {
    if (j.value("format", "") != train_state_format) throw jaq::data_error(src, "not a jaq train checkpoint");
    if (j.at("identity") != run_identity(o))
      throw jaq::data_error(
          src, "checkpoint of another run: it has " + j.at("identity").dump() + ", these flags give " + run_identity(o).dump());
    jaq::load_checkpoint(dir / j.at("checkpoint").get<std::string>(), state);
    j.at("step").get_to(p.step);
    j.at("images").get_to(p.images);
    j.at("loop_seconds").get_to(p.loop_seconds);
    for (const auto& m : j.at("epochs")) p.epochs.push_back(epoch_from_json(m));
    p.current = epoch_from_json(j.at("current"));
    j.at("loss_sum").get_to(p.loss_sum);
    j.at("correct").get_to(p.correct);
    j.at("seen").get_to(p.seen);
    j.at("loss").get_to(p.loss);
    j.at("step_ms").get_to(p.step_ms);
  } catch (const nlohmann::json::exception& e) {
    throw jaq::data_error(src, std::string("malformed checkpoint manifest: ") + e.what());
  }
  if (p.step < 0 || p.current.steps < 0) throw jaq::data_error(src, "negative step count");
  return p;
}

/// Whether the step runs on the GPU: --device cpu never, cuda always (config_error without a
/// GPU), auto when there is a GPU (else on the CPU, saying why).
bool use_device(const train_options& o) {
  const jaq::cuda::device_choice where = jaq::cuda::choose_device(o.device);
  if (o.device != "cpu") std::cout << where.note << "\n";
  return where.kind == jaq::cuda::device_kind::cuda;
}

int run(const train_options& o) {
  jaq_examples::check_out_dir(o.out);  // before any work: a finished run is never lost to a bad --out
  if (!o.export_onnx.empty()) {
    try {
      jaq::check_output_file(o.export_onnx);
    } catch (const jaq::error& e) {
      throw jaq::config_error("command line", "--export-onnx", e.what());
    }
    if (!o.quant.mixed.empty())
      throw jaq::config_error("command line", "--export-onnx",
                              "exports a trained network, not a --mixed search: retrain its derived.json with --derived and export that");
  }
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
  const bool on_device = use_device(o);
  const std::int64_t per_epoch = jaq::data::batch_iterator(data.train, {.batch_size = o.batch}).batches_per_epoch();
  std::int64_t total = per_epoch * o.epochs;
  if (o.max_steps > 0) total = std::min(total, o.max_steps);
  const jaq::optim::cosine_schedule lr{.base_lr = o.lr, .total_steps = per_epoch * o.epochs};
  jaq::optim::sgd<float> opt(qs.parameters(model->parameters()), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
  auto qopt = qs.optimizer(opt);  // the plain SGD step, or weight/architecture steps of a search
  jaq::tape<float> tp({.threads = o.threads});
  // The GPU's step (kernels/train.hpp), made at the first batch: LSQ's activation steps come
  // from that batch, as the CPU's first step would set them. Its state comes back into the
  // model, the quantizer and the optimizer (sync) before anything reads them.
  std::unique_ptr<jaq::cuda::model_trainer<jaq::cuda::device_trainer>> dev;
  std::unique_ptr<jaq::cuda::search_model_trainer<jaq::cuda::device_trainer>> dev_search;  // --mixed
  auto sync = [&] {
    if (dev) dev->sync_to_model();
    if (dev_search) dev_search->sync_to_model();
  };
  jaq::progress prog(std::cout, {.every = o.every, .steps_per_epoch = per_epoch, .epochs = o.epochs});
  // Everything a checkpoint holds: parameters and BatchNorm statistics, quantizer steps and
  // flags (packed anew at each call), the optimizer's buffers.
  auto snapshot = [&] {
    auto st = model->state();
    if (qs.fixed())
      for (auto& e : qs.fixed()->state()) st.push_back(e);
    if (qs.search())  // a --mixed search: logits, per-width steps, flags, CSQ masks, the architecture optimizer
      for (auto& e : qs.search()->state()) st.push_back(e);
    for (auto& e : opt.state()) st.push_back(e);
    return st;
  };

  run_progress p;
  if (o.resume) {
    p = load_run(o, snapshot());
    if (qs.fixed()) qs.fixed()->restore_state();
    if (qs.search()) qs.search()->restore_state();
    std::cout << "resumed " << o.out << " at step " << p.step << " of " << per_epoch * o.epochs << " (" << p.epochs.size()
              << " epochs done)\n";
  }
  jaq::data::batch b;
  for (int e = int(p.step / per_epoch); e < o.epochs && p.step < total; ++e) {
    if (p.current.epoch != e + 1) p.start_epoch(e + 1);
    qs.begin_epoch(e, p.current.steps > 0);  // resumed inside the epoch: its masks come from the checkpoint
    jaq::rng order = epoch_order(o.seed, e);
    jaq::data::batch_iterator it(data.train, {.batch_size = o.batch}, order);
    for (std::int64_t s = 0; s < p.current.steps; ++s) it.next(b);  // the batches done before the checkpoint
    jaq::stopwatch epoch_clock;
    for (std::int64_t s = p.current.steps; p.step < total; ++s) {
      jaq::stopwatch sw;
      if (!it.next(b)) break;  // epoch over
      opt.set_lr(lr(p.step));
      qs.begin_step(p.step);
      if (on_device && !dev && !dev_search) {
        auto uninitialised = [](const jaq::quant::quantized_model<float>* q) {
          return q && std::ranges::any_of(q->layers(), [](const auto& l) { return !l.initialized; });
        };
        if (auto* sm = qs.search()) {  // a --mixed search: every search layer and the fixed first/last ones
          bool any = uninitialised(&sm->fixed());
          for (std::size_t i = 0; i < sm->num_layers(); ++i) any = any || !sm->layer(i).initialized;
          if (any) jaq::cuda::initialize_quantizers(*model, b, &sm->fixed());
          dev_search =
              std::make_unique<jaq::cuda::search_model_trainer<jaq::cuda::device_trainer>>(*model, *sm, opt, data.train.shape, o.batch, 0);
        } else {
          if (uninitialised(qs.fixed())) jaq::cuda::initialize_quantizers(*model, b, qs.fixed());
          dev = std::make_unique<jaq::cuda::model_trainer<jaq::cuda::device_trainer>>(
              jaq::cuda::bind_model(*model, qs.fixed(), data.train.shape), opt, o.batch, 0);
        }
      }
      const auto r = dev          ? dev->step(b, p.step)
                     : dev_search ? dev_search->step(b, p.step)
                                  : jaq::nn::train_step(*model, qopt, tp, b, p.step);
      const double secs = sw.lap();
      p.step_ms.push_back(secs * 1e3);
      p.loss.push_back(r.loss);
      p.loop_seconds += secs;
      prog.update({.epoch = e, .step = s, .loss = r.loss, .correct = r.correct, .count = r.count, .seconds = secs});
      p.loss_sum += r.loss;
      p.correct += r.correct;
      p.seen += r.count;
      p.images += r.count;
      ++p.step;
      ++p.current.steps;
      if (o.checkpoint_every > 0 && p.step % o.checkpoint_every == 0 && p.current.steps < per_epoch) {
        sync();
        p.current.seconds += epoch_clock.lap();
        save_run(o, snapshot(), p);
      }
    }
    sync();
    epoch_metrics m = p.current;
    m.seconds += epoch_clock.lap();
    m.train_loss = m.steps ? p.loss_sum / static_cast<double>(m.steps) : 0;
    m.train_accuracy = p.seen ? static_cast<double>(p.correct) / static_cast<double>(p.seen) : 0;
    m.test_accuracy = jaq::nn::evaluate(*model, data.test, {.batch_size = 250, .threads = o.threads});
    std::cout << "epoch " << m.epoch << " done: train loss " << m.train_loss << ", train accuracy " << m.train_accuracy
              << ", test accuracy " << m.test_accuracy << ", " << m.seconds << " s\n";
    if (m.steps == per_epoch) {  // complete: the next epoch starts from here
      p.epochs.push_back(m);
      p.start_epoch(e + 2);
      save_run(o, snapshot(), p);
    } else {  // stopped by --max-steps: reported, and resumable where it stopped
      p.current.seconds = m.seconds;
      save_run(o, snapshot(), p);
      p.epochs.push_back(m);
    }
  }
  jaq::report::plot_series loss_curve{.name = "training loss (per step)"};
  for (std::size_t k = 0; k < p.loss.size(); ++k) {
    loss_curve.x.push_back(double(k + 1));
    loss_curve.y.push_back(p.loss[k]);
  }

  // Metrics (JSON + CSV) and the final checkpoint, all atomic.
  nlohmann::json j;
  j["model"] = o.model;
  j["config"] = run_identity(o);  // every flag the run depended on: those a resume must match, and these
  j["config"].update(
      {{"threads", o.threads}, {"max_steps", o.max_steps}, {"data_dir", o.data_dir}, {"device", on_device ? "cuda" : "cpu"}});
  j["epochs"] = nlohmann::json::array();
  std::ostringstream csv;
  jaq::report::csv_writer w(csv, {"epoch", "steps", "train_loss", "train_accuracy", "test_accuracy", "seconds"});
  for (const auto& m : p.epochs) {
    j["epochs"].push_back(to_json(m));
    w.row(m.epoch, m.steps, m.train_loss, m.train_accuracy, m.test_accuracy, m.seconds);
  }
  const double test_accuracy = p.epochs.empty() ? 0.0 : p.epochs.back().test_accuracy;
  const double med = median(p.step_ms);
  const double ips = p.loop_seconds > 0 ? static_cast<double>(p.images) / p.loop_seconds : 0.0;
  j["result"] = {{"test_accuracy", test_accuracy}, {"median_step_ms", med}, {"images_per_s", ips}, {"steps", p.step}};
  j["jaq_version"] = jaq::version_string;
  jaq::report::write_json(std::filesystem::path(o.out) / "metrics.json", j);
  jaq::write_file_atomic(std::filesystem::path(o.out) / "metrics.csv", csv.str());
  jaq::save_checkpoint(std::filesystem::path(o.out) / "checkpoint.jaqckpt", snapshot());
  std::cout << "wrote " << o.out << "/metrics.json, metrics.csv, checkpoint.jaqckpt (and train_state.json for --resume)\n";
  // The loss curve as a picture. A missing gnuplot costs the picture, not the run's results.
  try {
    jaq::report::plot_spec plot{.title = o.model + ": training loss", .xlabel = "step", .ylabel = "loss"};
    plot.series.push_back(std::move(loss_curve));
    jaq::report::render_png(plot, std::filesystem::path(o.out) / "loss.png");
    std::cout << "wrote " << o.out << "/loss.png\n";
  } catch (const jaq::error& e) {
    std::cerr << "train: warning: no loss plot: " << e.what() << "\n";
  }

  if (!o.export_onnx.empty()) {
    // The network for other tools: images in [0, 1] (the graph normalises), and jaq's own
    // predictions on the same test images to check a runtime against.
    jaq::io::write_onnx(o.export_onnx, jaq::io::to_onnx(*model, qs.fixed(), data.test.shape.height,
                                                        jaq::data::fashion_mnist_normalization(), {.settings = command_line}));
    jaq::io::write_predictions_csv(std::filesystem::path(o.out) / "predictions.csv", *model, data.test,
                                   {.batch_size = 250, .threads = o.threads});
    std::cout << "wrote " << o.export_onnx << " (ONNX) and " << o.out << "/predictions.csv\n";
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
  jaq::retain_freed_memory();  // freed tensors stay for the next step (jaq/core/memory.hpp)
  CLI::App app{"Train a small CNN on Fashion-MNIST with jaq (autograd-lite, CPU)."};
  app.option_defaults()->always_capture_default();  // --help shows every default
  train_options o;
  add_flags(app, o);
  CLI11_PARSE(app, argc, argv);
  o.out = jaq_examples::from_caller_dir(o.out);
  o.data_dir = jaq_examples::from_caller_dir(o.data_dir);
  if (!o.export_onnx.empty()) o.export_onnx = jaq_examples::from_caller_dir(o.export_onnx);
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  try {
    return run(o);
  } catch (const std::exception& e) {  // jaq::error and anything else: a message, not an abort
    std::cerr << "train: error: " << e.what() << std::endl;
    return 1;
  }
}
