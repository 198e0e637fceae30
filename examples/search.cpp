// examples/search.cpp: the joint search, jaq's main program: a network (an operator per block),
// its per-block bit-widths and the accelerator that runs it, found together, then retrained.
//
// It shows the whole method on a preset (examples/presets/*.json, docs/search.md): the supernet
// with CSQ trained by alternating weight and architecture steps, the hardware cost of the
// current accelerator (BatchTile cost tables) in the architecture loss, the hardware generation
// network proposing accelerators for the current derived network, then the derived network
// retrained fully quantized, checked against the integer reference forward, and mapped layer by
// layer on the final accelerator. It checks its own result: the derived network must map, the
// integer and fake-quant predictions are compared image by image, and the last line is
// machine-readable:
//
//   result: test_accuracy=<0..1> integer_accuracy=<0..1> avg_bits=<b> latency_ms=<ms> energy_uJ=<uJ> area_mm2=<mm2> ...
//
//   bazel run //examples:search                          # the fmnist preset, about 10 minutes on 2 cores
//   bazel run //examples:search -- --quick --out /tmp/s  # a 1-2 minute smoke run
//   bazel run //examples:search -- --resume              # continue a killed run from its last epoch
//   bazel run //examples:search -- --preset cifar10      # without --data-dir: the hardware side only
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/autograd/checkpoint.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/list.hpp"
#include "jaq/core/memory.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/data/cifar.hpp"
#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/hw/accel_json.hpp"
#include "jaq/hw/layer_csv.hpp"
#include "jaq/hw/timeloop.hpp"
#include "jaq/io/onnx.hpp"
#include "jaq/quant/integer_model.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/report/json.hpp"
#include "jaq/report/plot.hpp"
#include "jaq/search/bridge.hpp"
#include "jaq/search/joint_search.hpp"
#include "jaq/search/preset.hpp"
#include "jaq/search/retrain.hpp"
#include "jaq/version.hpp"
#include "kernels/batchtile.hpp"  // jaq::cuda_backend's BatchTile mapper: --device cuda
#include "kernels/device.hpp"
#include "kernels/train.hpp"  // jaq::cuda::device_trainer: the supernet's steps on --device cuda
#include "kernels/train_supernet.hpp"

#include "examples/caller_dir.hpp"
#include "examples/out_flag.hpp"

namespace fs = std::filesystem;

namespace {

/// What the command line sets; -1 / empty / NaN: take the preset's value.
struct options {
  std::string preset = "fmnist";
  std::string mode;
  int epochs = -1, warmup_epochs = -1, retrain_epochs = -1;
  std::string bits;
  double csq = -1;
  double lambda_latency = NAN, lambda_energy = NAN, lambda_area = NAN;
  double latency_budget = NAN, area_budget = NAN;
  std::string data_dir;
  std::string out = "runs/search";
  bool resume = false, quick = false, long_run = false, no_retrain = false, separate_wa = false;
  std::string sweep_lambda;
  std::uint64_t seed = 1;
  int threads = 2;
  std::string device = "cpu";  // where the hardware side runs (kernels/batchtile.hpp for cuda)
};

void add_flags(CLI::App& app, options& o) {
  app.add_option("--preset", o.preset, "preset name (examples/presets/NAME.json: fmnist, cifar10, imagenet) or a preset file");
  app.add_option("--mode", o.mode,
                 "joint (operators, widths and accelerator together) or sequential (the baseline: full-precision operator "
                 "search with a FLOPs term, then uniform_bits everywhere, then the accelerator)");
  app.add_option("--epochs", o.epochs, "search epochs after the warm-up");
  app.add_option("--warmup-epochs", o.warmup_epochs, "weight-only warm-up epochs");
  app.add_option("--retrain-epochs", o.retrain_epochs, "epochs of retraining the derived network");
  app.add_option("--bits", o.bits, "candidate widths of every operator, e.g. 2,3,4");
  app.add_flag("--separate-wa", o.separate_wa, "weights and activations choose their widths apart (logits of their own)");
  app.add_option("--csq", o.csq, "CSQ: K% of the channels carry the multi-precision branch (0: all channels, no CSQ)");
  app.add_option("--lambda-latency", o.lambda_latency, "weight of latency / latency_ref in the loss");
  app.add_option("--lambda-energy", o.lambda_energy, "weight of energy / energy_ref in the loss");
  app.add_option("--lambda-area", o.lambda_area, "weight of area / area_ref in the hardware search");
  app.add_option("--latency-budget", o.latency_budget, "latency budget in ms (lambda_latency adapts each epoch to meet it)");
  app.add_option("--area-budget", o.area_budget, "area budget in mm^2 (larger accelerators are infeasible)");
  app.add_option("--data-dir", o.data_dir, "data set directory (Fashion-MNIST idx files; CIFAR-10 binary batches)");
  app.add_option("--out", o.out, "output folder (result.json, search_log.csv, derived.json, checkpoint/, plots)");
  app.add_flag("--resume", o.resume, "continue from the checkpoint in --out");
  app.add_option("--seed", o.seed, "seed of everything the run draws");
  app.add_option("--threads", o.threads, "worker threads");
  app.add_option("--device", o.device,
                 "where the search runs: cpu, cuda (a GPU, else an error) or auto. cuda: the hardware side (cost tables, the "
                 "generator's scores; the same answers) and the supernet's training steps (the same up to float rounding); "
                 "retraining stays on the CPU");
  app.add_flag("--quick", o.quick, "the preset's quick variant: a 1-2 minute run (smoke tests)");
  app.add_flag("--long", o.long_run, "the preset's long variant");
  app.add_flag("--no-retrain", o.no_retrain, "stop after the search (derived network and accelerator, no retraining)");
  app.add_option("--sweep-lambda", o.sweep_lambda,
                 "scale the lambdas by each factor of a list (e.g. 0.1,1,10): one search each, one accuracy/EDP front");
}

/// A flag's value broke a rule of the library: the message names the flag.
[[noreturn]] void flag_error(const std::string& flag, const std::string& why) { throw jaq::config_error("command line", flag, why); }

std::vector<double> parse_list(const std::string& s, const std::string& flag) { return jaq::parse_number_list(s, "command line", flag); }

/// Where the presets are: beside the working directory (bazel run) or in the binary's runfiles.
std::vector<fs::path> preset_dirs;
std::string command_line = "search";  // named in outputs that leave jaq (Timeloop files)

fs::path preset_path(const std::string& p) {
  if (p.find('/') != std::string::npos || p.ends_with(".json")) return jaq_examples::from_caller_dir(p);
  for (const fs::path& dir : preset_dirs)
    if (fs::exists(dir / (p + ".json"))) return dir / (p + ".json");
  flag_error("--preset", "no preset '" + p + "' (fmnist, cifar10, imagenet, or a path to a preset file)");
}

/// The standardisation the preset's data set gets.
jaq::data::normalization normalization_of(const jaq::search::preset& p) {
  return p.dataset == "cifar10" ? jaq::data::cifar10_normalization() : jaq::data::fashion_mnist_normalization();
}

/// The preset with the command line's overrides; errors name the flag.
jaq::search::preset load(const options& o) {
  if (o.quick && o.long_run) flag_error("--quick/--long", "choose one");
  auto p = jaq::search::read_preset(preset_path(o.preset), o.quick      ? jaq::search::variant::quick
                                                           : o.long_run ? jaq::search::variant::long_run
                                                                        : jaq::search::variant::normal);
  auto& s = p.search;
  if (!o.mode.empty()) {
    if (o.mode != "joint" && o.mode != "sequential") flag_error("--mode", "'" + o.mode + "' (joint or sequential)");
    s.mode = jaq::search::parse_mode(o.mode, "--mode");
  }
  if (o.epochs >= 0) {
    if (o.epochs < 1) flag_error("--epochs", "must be >= 1, got " + std::to_string(o.epochs));
    s.epochs = o.epochs;
  }
  if (o.warmup_epochs >= 0) s.warmup_epochs = o.warmup_epochs;
  if (o.retrain_epochs >= 0) {
    if (o.retrain_epochs < 1) flag_error("--retrain-epochs", "must be >= 1, got " + std::to_string(o.retrain_epochs));
    p.retrain.epochs = o.retrain_epochs;
  }
  if (!o.bits.empty()) {
    p.space.bits.clear();
    for (double b : parse_list(o.bits, "--bits")) {
      if (b != std::floor(b) || b < 1 || b > 8) flag_error("--bits", "width " + jaq::search::detail::num(b) + " is outside 1..8");
      p.space.bits.push_back(int(b));
    }
  }
  if (o.separate_wa) p.space.separate_wa = true;
  if (o.csq >= 0) {
    if (o.csq > 100) flag_error("--csq", "K must be in (0, 100] (0: no CSQ), got " + jaq::search::detail::num(o.csq));
    s.csq_percent = o.csq;
  }
  auto lambda = [](double v, const char* flag, double& dst) {
    if (std::isnan(v)) return;
    if (v < 0) flag_error(flag, "must be >= 0, got " + jaq::search::detail::num(v));
    dst = v;
  };
  lambda(o.lambda_latency, "--lambda-latency", s.lambdas.lambda_latency);
  lambda(o.lambda_energy, "--lambda-energy", s.lambdas.lambda_energy);
  lambda(o.lambda_area, "--lambda-area", s.lambdas.lambda_area);
  if (!std::isnan(o.latency_budget)) {
    if (!(o.latency_budget > 0)) flag_error("--latency-budget", "must be > 0 ms, got " + jaq::search::detail::num(o.latency_budget));
    s.latency_budget_ms = o.latency_budget;
  }
  if (!std::isnan(o.area_budget)) {
    if (!(o.area_budget > 0)) flag_error("--area-budget", "must be > 0 mm^2, got " + jaq::search::detail::num(o.area_budget));
    s.area_budget_mm2 = o.area_budget;
  }
  if (o.threads < 1) flag_error("--threads", "must be >= 1, got " + std::to_string(o.threads));
  s.seed = o.seed;
  s.threads = o.threads;
  p.retrain.seed = o.seed;
  p.retrain.threads = o.threads;
  p.retrain.augment.fill = jaq::data::black_pixel(normalization_of(p));  // the padding of a shifted image is black
  try {
    p.space.validate(p.name);
    s.validate(p.name);
  } catch (const jaq::config_error& e) {
    throw jaq::config_error("command line", "flags", std::string(e.what()) + " (after the command line's overrides)");
  }
  return p;
}

/// The training and test sets of the preset's data set; empty when it has none here.
std::optional<jaq::data::split> load_data(const jaq::search::preset& p, const std::string& data_dir) {
  const auto n = normalization_of(p);
  if (p.dataset == "fashion-mnist") {
    auto d = jaq::data::load_fashion_mnist(data_dir.empty() ? fs::path(jaq::data::fashion_mnist_dir) : fs::path(data_dir));
    jaq::data::normalize(d.train, n);
    jaq::data::normalize(d.test, n);
    return d;
  }
  if (data_dir.empty()) return std::nullopt;
  if (p.dataset == "cifar10") {
    auto d = jaq::data::load_cifar10(data_dir);
    jaq::data::normalize(d.train, n);
    jaq::data::normalize(d.test, n);
    return d;
  }
  throw jaq::config_error("command line", "--data-dir",
                          "jaq has no " + p.dataset + " loader: run this preset without --data-dir (the hardware side alone)");
}

/// What makes two runs the same run: a checkpoint of another one is refused.
nlohmann::json identity(const jaq::search::preset& p) {
  const auto& s = p.search;
  return {{"preset", p.name},
          {"mode", jaq::search::mode_name(s.mode)},
          {"space", jaq::search::to_json(p.space)},
          {"seed", s.seed},
          {"epochs", s.epochs},
          {"lambda_flops", s.lambda_flops},
          {"uniform_bits", s.uniform_bits},
          {"warmup_epochs", s.warmup_epochs},
          {"batch", s.batch},
          {"search_images", s.search_images},
          {"csq", s.csq_percent},
          {"lambdas", {s.lambdas.lambda_latency, s.lambdas.lambda_energy, s.lambdas.lambda_area}},
          {"latency_budget_ms", s.latency_budget_ms},
          {"area_budget_mm2", std::isinf(s.area_budget_mm2) ? nlohmann::json("inf") : nlohmann::json(s.area_budget_mm2)},
          {"lr", s.lr},
          {"arch_lr", s.arch_lr},
          {"hw_every", s.hw_every},
          {"hwgen_iterations", s.hwgen_iterations},
          {"final_hwgen_iterations", s.final_hwgen_iterations}};
}

void write_search_log(const fs::path& path, const std::vector<jaq::search::epoch_record>& h) {
  std::ostringstream csv;
  jaq::report::csv_writer w(csv, {"epoch", "phase", "steps", "train_loss", "train_accuracy", "val_accuracy", "tau", "hw_cost", "latency_ms",
                                  "energy_uJ", "area_mm2", "lambda_latency", "seconds_train", "seconds_hw", "derived", "accel"});
  for (const auto& r : h)
    w.row(r.epoch, r.phase, r.steps, r.train_loss, r.train_accuracy, r.val_accuracy, r.tau, r.hw_cost, r.latency_ms, r.energy_uJ,
          r.area_mm2, r.lambda_latency, r.seconds_train, r.seconds_hw, r.derived, r.accel);
  jaq::write_file_atomic(path, csv.str());
}

void plot(const jaq::report::plot_spec& spec, const fs::path& path, std::vector<std::string>& written) {
  try {
    jaq::report::render_png(spec, path);
    written.push_back(path.filename().string());
  } catch (const jaq::error& e) {
    std::cerr << "search: warning: no " << path.filename().string() << ": " << e.what() << "\n";
  }
}

/// alpha and beta over the epochs, per-layer widths, cost over the epochs.
template <class JointSearch>
std::vector<std::string> plots(const fs::path& out, const JointSearch& js, const std::vector<jaq::hw::layer>& layers) {
  std::vector<std::string> written;
  const auto& h = js.history();
  const auto d = js.derived();
  if (!h.empty()) {
    jaq::report::plot_spec a{.title = "alpha: probability of each block's chosen operator", .xlabel = "epoch", .ylabel = "softmax(alpha)"};
    jaq::report::plot_spec b{.title = "beta: probability of each block's chosen width", .xlabel = "epoch", .ylabel = "softmax(beta)"};
    const auto ops = js.space().ops;
    for (std::size_t k = 0; k < d.ops.size(); ++k) {
      const std::size_t o = std::size_t(std::find(ops.begin(), ops.end(), d.ops[k]) - ops.begin());
      const auto& bits = js.space().bits;
      const std::size_t w = std::size_t(std::find(bits.begin(), bits.end(), d.bits[k]) - bits.begin());
      jaq::report::plot_series sa{.name = "block " + std::to_string(k) + " " + d.ops[k], .style = jaq::report::plot_style::linespoints};
      jaq::report::plot_series sb{.name = "block " + std::to_string(k) + " " + std::to_string(d.bits[k]) + " bits",
                                  .style = jaq::report::plot_style::linespoints};
      for (const auto& r : h) {
        sa.x.push_back(r.epoch);
        sa.y.push_back(r.op_probs[k][o]);
        sb.x.push_back(r.epoch);
        sb.y.push_back(r.width_probs[k][w]);
      }
      a.series.push_back(std::move(sa));
      b.series.push_back(std::move(sb));
    }
    plot(a, out / "alpha.png", written);
    if (!js.sequential()) plot(b, out / "beta.png", written);  // a sequential search has no beta
    jaq::report::plot_spec c{.title = "derived network on the current accelerator", .xlabel = "epoch", .ylabel = "relative to epoch 1"};
    jaq::report::plot_series lat{.name = "latency", .style = jaq::report::plot_style::linespoints},
        en{.name = "energy", .style = jaq::report::plot_style::linespoints},
        area{.name = "area", .style = jaq::report::plot_style::linespoints};
    for (const auto& r : h) {
      lat.x.push_back(r.epoch);
      lat.y.push_back(r.latency_ms / h.front().latency_ms);
      en.x.push_back(r.epoch);
      en.y.push_back(r.energy_uJ / h.front().energy_uJ);
      area.x.push_back(r.epoch);
      area.y.push_back(r.area_mm2 / h.front().area_mm2);
    }
    c.series = {lat, en, area};
    plot(c, out / "cost.png", written);
  }
  jaq::report::plot_spec w{.title = "per-layer widths of the derived network", .xlabel = "layer (forward order)", .ylabel = "bits"};
  jaq::report::plot_series sw{.name = "weights and activations", .style = jaq::report::plot_style::linespoints};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    sw.x.push_back(double(i));
    sw.y.push_back(layers[i].wprec);
  }
  w.series.push_back(std::move(sw));
  plot(w, out / "widths.png", written);
  return written;
}

/// One layer's row of result.json: map's layer columns and its output columns.
nlohmann::json layer_json(const jaq::hw::layer& l, const jaq::hw::mapping_result& r) {
  nlohmann::json j{{"name", l.name},     {"K", l.K},         {"O", l.O},        {"S", l.S},
                   {"IC", l.IC},         {"OC", l.OC},       {"B", l.B},        {"im2col", l.im2col ? 1 : 0},
                   {"groups", l.groups}, {"iprec", l.iprec}, {"wprec", l.wprec}};
  if (!r.ok()) {
    j["error"] = r.error().message();
    return j;
  }
  const auto& m = r.value();
  j["tiling"] = {{"b", m.tile.b},   {"num_b", m.tile.num_b},   {"ow", m.tile.ow}, {"num_ow", m.tile.num_ow},
                 {"oh", m.tile.oh}, {"num_oh", m.tile.num_oh}, {"ic", m.tile.ic}, {"num_ic", m.tile.num_ic},
                 {"oc", m.tile.oc}, {"num_oc", m.tile.num_oc}};
  j["order"] = m.order.to_string();
  j["total_cycles"] = m.total_cycles;
  j["compute_cycles"] = m.compute_cycles;
  j["stall_cycles"] = m.stall_cycles;
  j["energy_nJ"] = m.energy_nJ;
  j["latency_s"] = m.latency_s;
  j["dram_rd_bits"] = m.dram_rd_bits;
  j["dram_wr_bits"] = m.dram_wr_bits;
  return j;
}

struct run_result {
  double test_accuracy = NAN, integer_accuracy = NAN, edp = 0, latency_ms = 0, energy_uJ = 0, area_mm2 = 0, avg_bits = 0;
};

/// One search and its retraining; the hardware side on `hw` (tbb_backend or cuda_backend).
template <class HwB>
run_result run_one(const jaq::search::preset& p, const std::optional<jaq::data::split>& data, const options& o, const fs::path& out,
                   HwB hw) {
  jaq::stopwatch wall;
  jaq_examples::check_out_dir(out);
  const fs::path ckpt = out / "checkpoint";
  const nlohmann::json id = identity(p);
  std::cout << p.space << "\n"
            << (data ? "data: " + std::to_string(data->train.size()) + " training, " + std::to_string(data->test.size()) + " test images"
                     : std::string("no data set: the hardware side alone (cost tables, generator)"))
            << std::endl;
  jaq::search::joint_search<HwB> js(p.space, p.search, data ? &data->train : nullptr, hw);
  if constexpr (!jaq::backend_traits<HwB>::host) {  // --device cuda: the supernet trains there too
    const jaq::data::image_shape shape{p.space.in_channels, p.space.image_size, p.space.image_size};
    const std::int64_t batch = p.search.batch;
    js.train_on([shape, batch](jaq::nas::supernet<float>& net, jaq::optim::sgd<float>& sgd) {
      return std::make_unique<jaq::cuda::supernet_engine_on<jaq::cuda::device_trainer>>(net, sgd, shape, batch, "GPU 0", 0);
    });
  }
  if (o.resume) {
    js.load(ckpt, id);
    std::cout << "resumed from " << ckpt.string() << " after epoch " << js.epochs_done() << "/" << js.total_epochs()
              << (js.final_done() ? " (search done)" : "") << std::endl;
  }
  while (!js.finished()) {
    const auto r = js.run_epoch(&std::cout);
    std::cout << r.phase << " epoch " << r.epoch << " done: train loss " << r.train_loss << ", train accuracy " << r.train_accuracy
              << ", held-out accuracy " << r.val_accuracy << ", derived " << r.derived << ", latency " << r.latency_ms << " ms, energy "
              << r.energy_uJ << " uJ, area " << r.area_mm2 << " mm^2, training " << r.seconds_train << " s, hardware " << r.seconds_hw
              << " s" << std::endl;
    js.save(ckpt, id);
    write_search_log(out / "search_log.csv", js.history());
  }
  if (!js.final_done()) {
    js.final_hardware(&std::cout);
    js.save(ckpt, id);
  }
  write_search_log(out / "search_log.csv", js.history());
  const auto derived = js.derived();
  std::cout << "derived network: " << derived << std::endl;
  jaq::report::write_json(out / "derived.json", jaq::search::to_json(p.space, derived));

  // the final accelerator with every layer's mapping (what //examples:map gives for them)
  const auto [layers, maps] = js.mapping();
  double lat = 0, en = 0;
  nlohmann::json per_layer = nlohmann::json::array();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    per_layer.push_back(layer_json(layers[i], maps[i]));
    names.push_back(layers[i].name);
    lat += maps[i].value().latency_s;
    en += maps[i].value().energy_nJ;
  }
  std::ostringstream lcsv;
  jaq::hw::write_layers_csv(lcsv, layers);
  jaq::write_file_atomic(out / "layers.csv", lcsv.str());
  std::ostringstream mcsv;
  jaq::hw::write_mapping_csv(mcsv, maps, names);
  jaq::write_file_atomic(out / "mapping.csv", mcsv.str());
  jaq::report::write_json(out / "accel.json", jaq::hw::to_accel_json(js.accel()));
  jaq::hw::write_timeloop_dir(out / "timeloop", layers, maps, js.accel(),
                              command_line + " (preset " + p.name + ", seed " + std::to_string(p.search.seed) + ")");

  run_result rr{
      .latency_ms = lat * 1e3, .energy_uJ = en * 1e-3, .area_mm2 = js.table().area_mm2, .avg_bits = jaq::search::mac_weighted_bits(layers)};
  rr.edp = lat * en * 1e-9;  // J s
  nlohmann::json acc = nlohmann::json::object();
  double retrain_s = 0;
  if (data && !o.no_retrain) {
    std::cout << "retraining the derived network fully quantized (" << p.retrain.epochs << " epochs)" << std::endl;
    const auto& rs = p.retrain;
    const jaq::data::dataset train = rs.train_images > 0 ? jaq::data::first_n(data->train, rs.train_images) : data->train;
    const jaq::data::dataset test = rs.test_images > 0 ? jaq::data::first_n(data->test, rs.test_images) : data->test;
    auto r = jaq::search::retrain(p.space, derived, train, test, rs, &std::cout);
    retrain_s = r.seconds;
    const auto agree = jaq::quant::compare_predictions(*r.net, *r.quant, test, {.batch_size = 500, .threads = o.threads});
    std::cout << "integer reference: " << agree << std::endl;
    rr.test_accuracy = agree.fake_quant_accuracy;
    rr.integer_accuracy = agree.integer_accuracy;
    acc = {{"train_fake_quant", r.train_accuracy},
           {"test_fake_quant", agree.fake_quant_accuracy},
           {"test_integer", agree.integer_accuracy},
           {"integer_agreeing_images", agree.agreeing},
           {"images", agree.images},
           {"first_disagreeing_index", agree.first_disagreeing_index},
           {"retrain_epochs", nlohmann::json::array()}};
    for (const auto& e : r.log)
      acc["retrain_epochs"].push_back({{"epoch", e.epoch},
                                       {"train_loss", e.train_loss},
                                       {"train_accuracy", e.train_accuracy},
                                       {"test_accuracy", e.test_accuracy},
                                       {"test_images", e.test_images},
                                       {"seconds", e.seconds}});
    auto st = r.net->state();
    auto qs = r.quant->parameters();
    for (auto* q : qs) st.push_back({q->name, &q->value});
    jaq::save_checkpoint(out / "retrained.jaqckpt", st);
    // The retrained network for other tools (ONNX: images in [0, 1], the graph normalises), and
    // jaq's own fake-quant predictions to check a runtime against (tools/onnx_check.py).
    const auto norm = p.dataset == "cifar10" ? jaq::data::cifar10_normalization() : jaq::data::fashion_mnist_normalization();
    jaq::io::write_onnx(out / "model.onnx", jaq::io::to_onnx(*r.net, *r.quant, norm,
                                                             {.settings = command_line + " (preset " + p.name + ", seed " +
                                                                          std::to_string(p.search.seed) + ")"}));
    jaq::io::write_predictions_csv(out / "predictions.csv", *r.net, test, {.batch_size = 500, .threads = o.threads});
  }

  std::vector<double> searched_bits;
  const double wall_s = wall.lap();
  const double hw_s = js.seconds_hw(), train_s = js.seconds_train();
  const auto& s = p.search;
  nlohmann::json j;
  j["jaq_version"] = jaq::version_string;
  j["units"] =
      "latency_ms: milliseconds, energy_uJ: microjoules (per layer energy_nJ: nanojoules), area_mm2: mm^2, edp_Js: joule-seconds, "
      "cycles at the accelerator's clock, *_bits: bits, accuracies: fractions of images";
  j["preset"] = p.name;
  j["space"] = jaq::search::to_json(p.space);
  j["blocks"] = jaq::search::to_json(p.space, derived)["blocks"];
  j["accel"] = jaq::hw::to_accel_json(js.accel());
  j["layers"] = per_layer;
  j["totals"] = {{"latency_ms", rr.latency_ms}, {"energy_uJ", rr.energy_uJ}, {"area_mm2", rr.area_mm2}, {"edp_Js", rr.edp}};
  j["budgets"] = {{"latency_ms", s.latency_budget_ms > 0 ? nlohmann::json(s.latency_budget_ms) : nlohmann::json(nullptr)},
                  {"latency_met", s.latency_budget_ms > 0 ? nlohmann::json(rr.latency_ms <= s.latency_budget_ms) : nlohmann::json(nullptr)},
                  {"area_mm2", std::isinf(s.area_budget_mm2) ? nlohmann::json(nullptr) : nlohmann::json(s.area_budget_mm2)},
                  {"area_met", std::isinf(s.area_budget_mm2) ? nlohmann::json(nullptr) : nlohmann::json(rr.area_mm2 <= s.area_budget_mm2)}};
  j["accuracy"] = acc;
  j["mac_weighted_bits"] = rr.avg_bits;
  std::vector<jaq::hw::layer> searched(layers.begin() + 1, layers.end() - 2);
  j["mac_weighted_bits_searched_layers"] = jaq::search::mac_weighted_bits(searched);
  j["seed"] = s.seed;
  j["settings"] = identity(p);
  j["settings"]["threads"] = s.threads;
  j["settings"]["retrain_epochs"] = p.retrain.epochs;
  j["settings"]["retrain_fp_epochs"] = p.retrain.fp_epochs;
  j["settings"]["retrain_augment"] = {{"pad", p.retrain.augment.pad}, {"horizontal_flip", p.retrain.augment.horizontal_flip}};
  j["final_lambda_latency"] = js.lambdas().lambda_latency;
  j["time_s"] = {{"search_training", train_s},
                 {"hardware", hw_s},
                 {"retraining", retrain_s},
                 {"wall", wall_s},
                 {"hardware_share_of_search", train_s + hw_s > 0 ? hw_s / (train_s + hw_s) : 0.0},
                 {"hwgen_iterations", js.hwgen_iterations()},
                 {"cost_table_ms", js.table().build_ms},
                 {"hardware_device", jaq::backend_traits<HwB>::host ? "cpu" : "cuda"},
                 {"supernet_training", js.train_engine()}};
  std::int64_t peak_backward = 0;
  for (const auto& r : js.history()) peak_backward = std::max(peak_backward, r.peak_backward_bytes);
  j["search_peak_backward_bytes"] = peak_backward;
  j["history"] = nlohmann::json::array();
  for (const auto& r : js.history()) j["history"].push_back(jaq::search::to_json(r));
  jaq::report::write_json(out / "result.json", j);
  const auto pngs = plots(out, js, layers);
  std::cout << "wrote " << out.string()
            << ": result.json, search_log.csv, derived.json, layers.csv, mapping.csv, accel.json, timeloop/, checkpoint/"
            << (data && !o.no_retrain ? ", model.onnx, predictions.csv" : "");
  for (const auto& f : pngs) std::cout << ", " << f;
  std::cout << "\ntime: search training " << train_s << " s, hardware " << hw_s << " s ("
            << 100 * j["time_s"]["hardware_share_of_search"].get<double>() << "% of the search), retraining " << retrain_s << " s, wall "
            << wall_s << " s" << std::endl;
  return rr;
}

int run(const options& o) {
  const jaq::search::preset p = load(o);
  const auto data = load_data(p, o.data_dir);
  const fs::path out = o.out;
  jaq_examples::check_out_dir(out);
  const jaq::cuda::device_choice where = jaq::cuda::choose_device(o.device);
  if (o.device != "cpu")
    std::cout << "search: " << where.note << "; the hardware side and the supernet's training run there, retraining on the CPU"
              << std::endl;
  auto run_one_on = [&](const jaq::search::preset& q, const fs::path& dir) {
    return where.kind == jaq::cuda::device_kind::cuda ? run_one(q, data, o, dir, jaq::cuda_backend{0})
                                                      : run_one(q, data, o, dir, jaq::tbb_backend{});
  };
  if (o.sweep_lambda.empty()) {
    const auto r = run_one_on(p, out);
    char line[400];
    std::snprintf(line, sizeof line,
                  "result: test_accuracy=%.4f integer_accuracy=%.4f avg_bits=%.3f latency_ms=%.5f energy_uJ=%.4f area_mm2=%.4f edp_Js=%.4g",
                  r.test_accuracy, r.integer_accuracy, r.avg_bits, r.latency_ms, r.energy_uJ, r.area_mm2, r.edp);
    std::cout << line << std::endl;
    return 0;
  }
  // --sweep-lambda: one run per scale of the lambdas, and the accuracy / EDP front
  const auto scales = parse_list(o.sweep_lambda, "--sweep-lambda");
  std::ostringstream csv;
  jaq::report::csv_writer w(csv, {"scale", "lambda_latency", "lambda_energy", "lambda_area", "test_accuracy", "integer_accuracy",
                                  "latency_ms", "energy_uJ", "area_mm2", "edp_Js", "avg_bits"});
  jaq::report::plot_series front{.name = "derived designs", .style = jaq::report::plot_style::points};
  for (double k : scales) {
    if (!(k > 0)) flag_error("--sweep-lambda", "scales must be > 0, got " + jaq::search::detail::num(k));
    jaq::search::preset q = p;
    q.search.lambdas.lambda_latency *= k;
    q.search.lambdas.lambda_energy *= k;
    q.search.lambdas.lambda_area *= k;
    std::cout << "=== sweep: lambdas x " << k << std::endl;
    const auto r = run_one_on(q, out / ("lambda-x" + jaq::search::detail::num(k)));
    w.row(k, q.search.lambdas.lambda_latency, q.search.lambdas.lambda_energy, q.search.lambdas.lambda_area, r.test_accuracy,
          r.integer_accuracy, r.latency_ms, r.energy_uJ, r.area_mm2, r.edp, r.avg_bits);
    front.x.push_back(r.edp);
    front.y.push_back(std::isnan(r.test_accuracy) ? 0.0 : r.test_accuracy);
  }
  jaq::write_file_atomic(out / "sweep.csv", csv.str());
  std::vector<std::string> written;
  plot({.title = "accuracy against energy-delay product",
        .xlabel = "EDP (J s)",
        .ylabel = "test accuracy",
        .series = {front},
        .log_x = true},
       out / "front.png", written);
  std::cout << "wrote " << (out / "sweep.csv").string() << (written.empty() ? "" : ", front.png") << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  jaq::use_best_blas_kernel(argv);  // OpenBLAS on a CPU it does not know: its fast kernels (may restart)
  jaq::retain_freed_memory();       // freed tensors stay for the next step (jaq/core/memory.hpp)
  CLI::App app{"jaq joint search: a network's operators, its bit-widths and its accelerator, together; then retraining."};
  app.option_defaults()->always_capture_default();  // --help shows every default
  options o;
  add_flags(app, o);
  CLI11_PARSE(app, argc, argv);
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  preset_dirs = {fs::path("examples/presets"), fs::path(std::string(argv[0]) + ".runfiles/jaq/examples/presets")};
  o.out = jaq_examples::from_caller_dir(o.out);
  if (!o.data_dir.empty()) o.data_dir = jaq_examples::from_caller_dir(o.data_dir);
  try {
    return run(o);
  } catch (const std::exception& e) {  // jaq::error and anything else: a message, not an abort
    std::cerr << "search: error: " << e.what() << std::endl;
    return 1;
  }
}
