// jaq/search/joint_search.hpp: the JAQ joint search: a network's operators, its per-block
// widths and the accelerator that runs it, found together.
//
// Each epoch trains the supernet (jaq/nas/supernet.hpp) on the training set split in two:
// warm-up epochs make weight steps only; search epochs alternate a weight step (SGD, on the
// first half; soft widths) with an architecture step (Adam on alpha and beta, on the second
// half; hard top-2 widths) whose loss adds the expected hardware cost of the current
// accelerator's cost table (expected_cost.hpp). The accelerator itself is searched by the
// hardware generation network (jaq/hwgen), steered by the same lambdas: before the first epoch,
// every `hw_every` architecture steps and at each epoch end it proposes configurations for the
// current derived network (arg-max alpha and beta); the best feasible one replaces the current
// accelerator when it costs less on that network, and its cost table (cost_table.hpp) becomes
// the table of the next steps. The generator's policy and optimizer carry on across calls.
// With a latency budget, lambda_latency is doubled when the derived design is slower than the
// budget and halved when it is 4x faster (Auto-NBA's FPS window); an area budget makes every
// larger accelerator infeasible.
//
// `mode = sequential` is the baseline the joint search is compared with: the same supernet in
// full precision searches operators alone, its architecture steps weighing the expected MACs
// (a FLOPs term, lambda_flops) instead of the hardware; the derived network then gets one
// uniform width (uniform_bits) in every block, and only final_hardware() searches an accelerator
// for it. No hardware runs during its epochs.
//
// Everything an epoch draws comes from generators reseeded from (seed, epoch), and a
// checkpoint written atomically at each epoch end holds every tensor and figure that carries
// over, so a run resumed after a kill gives the uninterrupted run's results.
//
// The hardware side (cost tables, the generator's scores) runs on the template's backend: by
// default the search's own TBB arena; a device backend whose BatchTile mapper is included
// (kernels/batchtile.hpp: jaq::cuda_backend) gives the same answers on a GPU, and this header
// does not depend on it. The supernet's steps run on jaq's CPU engine, or on a
// nas::supernet_engine given by train_on (kernels/train_supernet.hpp: the device training
// engine); every layer's steps are then set from the first batch at once (initialize_layers),
// and the model is the engine's between each epoch's first and last step.
//
//   jaq::search::joint_search js(space, settings, &weight_and_arch_images);
//   while (!js.finished()) { js.run_epoch(&std::cout); js.save(dir); }
//   js.final_hardware();  auto d = js.derived();  auto m = js.mapping();
//   jaq::search::joint_search<jaq::cuda_backend> on_gpu(space, settings, &images, jaq::cuda_backend{0});
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/ops/add.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/batchtile/map_layers.hpp"
#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/data/subset.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/accel_json.hpp"
#include "jaq/hwgen/generator.hpp"
#include "jaq/hwgen/objective.hpp"
#include "jaq/hwgen/search_space.hpp"
#include "jaq/nas/supernet.hpp"
#include "jaq/nas/train_engine.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/adam.hpp"
#include "jaq/optim/schedule.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/report/json.hpp"
#include "jaq/search/bridge.hpp"
#include "jaq/search/cost_table.hpp"
#include "jaq/search/expected_cost.hpp"

namespace jaq::search {

namespace detail {
/// A stream seed for (seed, epoch, purpose): distinct, reproducible streams without state.
inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t purpose) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + epoch * 0xBF58476D1CE4E5B9ull + purpose * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x * 0xD6E8FEB86659FD93ull;
}
inline std::vector<double> softmax_of(const tensor<float>& v) {
  const std::vector<double> z(v.begin(), v.end());
  return softmax(z.data(), z.size());
}
inline std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace detail

/// joint: operators, widths and accelerator together. sequential: a full-precision operator
/// search with a FLOPs term, then one uniform width, then the accelerator for that network.
enum class search_mode { joint, sequential };
inline const char* mode_name(search_mode m) { return m == search_mode::joint ? "joint" : "sequential"; }
/// "joint" or "sequential"; config_error naming `where` otherwise.
inline search_mode parse_mode(const std::string& s, const std::string& where) {
  if (s == "joint") return search_mode::joint;
  if (s == "sequential") return search_mode::sequential;
  throw config_error(where, "mode", "'" + s + "' (joint or sequential)");
}

struct search_settings {
  search_mode mode = search_mode::joint;
  double lambda_flops = -1;  ///< sequential: weight of MACs / the uniform network's MACs (< 0: lambda_latency + lambda_energy)
  int uniform_bits = 4;      ///< sequential: the width of every block after the search (one of the space's bits)
  int warmup_epochs = 1;     ///< weight steps only
  int epochs = 4;            ///< search epochs (weight and architecture steps alternate)
  std::int64_t batch = 128;
  std::int64_t search_images = 0;  ///< training images the search uses (0: all); half weights, half architecture
  double lr = 0.05;                ///< SGD, cosine to 0 over the search
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double arch_lr = 3e-3;  ///< Adam on alpha and beta
  double arch_beta1 = 0.5;
  double arch_beta2 = 0.999;
  double csq_percent = 20;  ///< K; 0: every channel at every width (the naive supernet)
  nas::temperature_schedule tau{.initial = 5.0, .decay = 0.9, .minimum = 0.5};
  cost_weights lambdas{};
  double latency_budget_ms = 0;  ///< 0: none
  double area_budget_mm2 = std::numeric_limits<double>::infinity();
  std::int64_t hw_batch = 1;   ///< the deployment batch the accelerator is costed at
  int hw_every = 50;           ///< architecture steps between hardware updates
  int hwgen_iterations = 100;  ///< generator iterations per update
  int final_hwgen_iterations = 1000;
  hwgen::generator_options hwgen{.batch = 16, .learning_rate = 0.05, .hidden = 32};
  hwgen::search_space hw_space = hwgen::default_space();
  std::int64_t eval_images = 2000;  ///< architecture-split images scored after each epoch
  std::int64_t report_every = 20;   ///< progress line every this many steps
  std::uint64_t seed = 1;
  int threads = 2;

  /// Throws config_error naming `where` and the field.
  void validate(const std::string& where) const {
    auto at_least = [&](const char* f, double v, double lo) {
      if (!(v >= lo)) throw config_error(where, f, "must be >= " + detail::num(lo) + ", got " + detail::num(v));
    };
    if (mode == search_mode::sequential) {
      if (!(uniform_bits >= 2 && uniform_bits <= 8))
        throw config_error(where, "uniform_bits", "width " + std::to_string(uniform_bits) + " is outside 2..8");
      if (latency_budget_ms > 0)
        throw config_error(where, "latency_budget_ms", "the sequential search has no hardware in its loop to adapt to a latency budget");
      if (std::isnan(lambda_flops)) throw config_error(where, "lambda_flops", "is NaN");
    }
    at_least("warmup_epochs", warmup_epochs, 0);
    at_least("epochs", epochs, 1);
    at_least("batch", double(batch), 1);
    at_least("search_images", double(search_images), 0);
    if (!(lr > 0)) throw config_error(where, "lr", "must be > 0, got " + detail::num(lr));
    at_least("momentum", momentum, 0);
    at_least("weight_decay", weight_decay, 0);
    if (!(arch_lr > 0)) throw config_error(where, "arch_lr", "must be > 0, got " + detail::num(arch_lr));
    if (!(csq_percent >= 0 && csq_percent <= 100))
      throw config_error(where, "csq", "K must be in (0, 100] (0: no CSQ), got " + detail::num(csq_percent));
    tau.validate(where);
    at_least("lambda_latency", lambdas.lambda_latency, 0);
    at_least("lambda_energy", lambdas.lambda_energy, 0);
    at_least("lambda_area", lambdas.lambda_area, 0);
    if (lambdas.lambda_latency + lambdas.lambda_energy + lambdas.lambda_area <= 0)
      throw config_error(where, "lambda_latency/lambda_energy/lambda_area", "all zero: the hardware search has nothing to minimise");
    at_least("latency_budget_ms", latency_budget_ms, 0);
    if (latency_budget_ms > 0 && !(lambdas.lambda_latency > 0))
      throw config_error(where, "lambda_latency", "a latency budget adapts lambda_latency, which must then be > 0");
    if (!(area_budget_mm2 > 0)) throw config_error(where, "area_budget_mm2", "must be > 0, got " + detail::num(area_budget_mm2));
    at_least("hw_batch", double(hw_batch), 1);
    at_least("hw_every", hw_every, 1);
    at_least("hwgen_iterations", hwgen_iterations, 1);
    at_least("final_hwgen_iterations", final_hwgen_iterations, 1);
    at_least("eval_images", double(eval_images), 1);
    at_least("threads", threads, 1);
    hwgen::validate(hw_space, where + ": hw_space");
  }
};

/// One epoch of the search, as search_log.csv and result.json report it.
struct epoch_record {
  int epoch = 0;      ///< 1-based, warm-up included
  std::string phase;  ///< "warm-up" or "search"
  std::int64_t steps = 0;
  double train_loss = 0, train_accuracy = 0;  ///< weight steps
  double val_accuracy = 0;                    ///< arg-max network on architecture-split images
  double tau = 0;
  double hw_cost = 0;  ///< expected normalised cost of the last architecture step (0 in warm-up; sequential: the FLOPs term)
  double latency_ms = 0, energy_uJ = 0, area_mm2 = 0;  ///< the derived network on the current accelerator
  double lambda_latency = 0;
  std::string derived;
  std::string accel;
  double seconds_train = 0, seconds_hw = 0;
  std::int64_t peak_backward_bytes = 0;          ///< most bytes the tape held for backward in a step
  std::vector<std::vector<double>> op_probs;     ///< [block] softmax(alpha)
  std::vector<std::vector<double>> width_probs;  ///< [block] softmax(beta) of the arg-max operator
};

inline nlohmann::json to_json(const epoch_record& r) {
  return {{"epoch", r.epoch},
          {"phase", r.phase},
          {"steps", r.steps},
          {"train_loss", r.train_loss},
          {"train_accuracy", r.train_accuracy},
          {"val_accuracy", r.val_accuracy},
          {"tau", r.tau},
          {"hw_cost", r.hw_cost},
          {"latency_ms", r.latency_ms},
          {"energy_uJ", r.energy_uJ},
          {"area_mm2", r.area_mm2},
          {"lambda_latency", r.lambda_latency},
          {"derived", r.derived},
          {"accel", r.accel},
          {"seconds_train", r.seconds_train},
          {"seconds_hw", r.seconds_hw},
          {"peak_backward_bytes", r.peak_backward_bytes},
          {"op_probs", r.op_probs},
          {"width_probs", r.width_probs}};
}
inline epoch_record epoch_record_from_json(const nlohmann::json& j) {
  epoch_record r;
  j.at("epoch").get_to(r.epoch);
  j.at("phase").get_to(r.phase);
  j.at("steps").get_to(r.steps);
  j.at("train_loss").get_to(r.train_loss);
  j.at("train_accuracy").get_to(r.train_accuracy);
  j.at("val_accuracy").get_to(r.val_accuracy);
  j.at("tau").get_to(r.tau);
  j.at("hw_cost").get_to(r.hw_cost);
  j.at("latency_ms").get_to(r.latency_ms);
  j.at("energy_uJ").get_to(r.energy_uJ);
  j.at("area_mm2").get_to(r.area_mm2);
  j.at("lambda_latency").get_to(r.lambda_latency);
  j.at("derived").get_to(r.derived);
  j.at("accel").get_to(r.accel);
  j.at("seconds_train").get_to(r.seconds_train);
  j.at("seconds_hw").get_to(r.seconds_hw);
  j.at("peak_backward_bytes").get_to(r.peak_backward_bytes);
  j.at("op_probs").get_to(r.op_probs);
  j.at("width_probs").get_to(r.width_probs);
  return r;
}

template <class HwB = tbb_backend>
class joint_search {
  static_assert(batchtile::mapping_backend<HwB>,
                "joint_search<HwB>: HwB must be a host backend or a device backend whose BatchTile mapper is included "
                "(kernels/batchtile.hpp for jaq::cuda_backend)");

 public:
  /// `train` holds the images the search trains on (split in two here); null: no data, the
  /// hardware side alone (tables and the generator on the space's initial derived network).
  /// `hw`: where the hardware side runs (tbb_backend: the search's own arena, whatever is given).
  joint_search(nas::space_config space, search_settings s, const data::dataset* train, HwB hw = {})
      : space_(std::move(space)), set_(std::move(s)), pool_(set_.threads), hw_(hw), cache_() {
    space_.validate(space_.name);
    set_.validate(space_.name);
    rng init(detail::stream_seed(set_.seed, 0, 1));
    nas::supernet_config nc{.space = space_, .tau = set_.tau, .full_precision = sequential()};
    if (set_.csq_percent > 0 && !sequential()) nc.csq = nas::csq_config{.keep_percent = set_.csq_percent};
    if (sequential() && std::find(space_.bits.begin(), space_.bits.end(), set_.uniform_bits) == space_.bits.end())
      throw config_error(space_.name, "uniform_bits", std::to_string(set_.uniform_bits) + " is not one of the space's bits (add it there)");
    net_ = std::make_unique<nas::supernet<float>>(nc, init);
    weight_params_ = net_->weight_parameters();
    arch_params_ = net_->arch_parameters();
    sgd_ = std::make_unique<optim::sgd<float>>(
        weight_params_, optim::sgd_config{.lr = set_.lr, .momentum = set_.momentum, .weight_decay = set_.weight_decay});
    adam_ = std::make_unique<optim::adam<float>>(
        arch_params_, optim::adam_config{.lr = set_.arch_lr, .beta1 = set_.arch_beta1, .beta2 = set_.arch_beta2});
    gen_ = std::make_unique<hwgen::generator>(set_.hw_space, set_.hwgen, init);
    lambdas_ = set_.lambdas;
    if (train) split_data(*train);
    // normalisers: the expected network of uniform choices on the reference accelerator
    const cost_table ref = build_cost_table(backend(), space_, hw::reference_config(), set_.hw_batch, &cache_);
    if (!ref.feasible) throw config_error(space_.name, "space", "the reference accelerator cannot map it: " + ref.reason);
    const auto [mean_latency, mean_energy] = mean_network(ref);
    ref_ = {.latency_s = mean_latency, .energy_nJ = mean_energy, .area_mm2 = ref.area_mm2};
    accel_ = hw::reference_config();
    table_ = ref;
    if (sequential()) {  // the FLOPs term: lambda_flops * MACs / the uniform network's mean MACs
      const xt::xtensor<double, 3> m = mac_table(space_);
      const double mean = xt::sum(m)() / double(m.shape()[1]);
      const double lf = set_.lambda_flops >= 0 ? set_.lambda_flops : set_.lambdas.lambda_latency + set_.lambdas.lambda_energy;
      flops_cost_ = (lf / mean) * m;
    }
  }

  const nas::space_config& space() const { return space_; }
  const search_settings& settings() const { return set_; }
  nas::supernet<float>& net() { return *net_; }

  /// Makes the engine the supernet's steps run on (called at the first step, once its layers
  /// are initialised): given the supernet and the weight optimizer.
  using engine_factory = std::function<std::unique_ptr<nas::supernet_engine>(nas::supernet<float>&, optim::sgd<float>&)>;
  /// The supernet's steps on `make`'s engine from the next epoch on.
  void train_on(engine_factory make) { make_engine_ = std::move(make); }
  /// Where the supernet trains, in words.
  std::string train_engine() const {
    return engine_ ? engine_->name() : make_engine_ ? "an engine made at the first step" : "jaq's CPU engine";
  }

  /// Sets every quantized layer's steps from the first weight batch of epoch 0 (what an engine
  /// needs; on the CPU each layer is set lazily, the first time its operator is sampled).
  void initialize_layers() {
    if (!has_data()) return;
    rng wgen(detail::stream_seed(set_.seed, 0, 3));
    data::batch_iterator wit(weight_split_, {.batch_size = set_.batch, .drop_last = true}, wgen);
    data::batch wb;
    if (!wit.next(wb)) return;
    tape<float> tp({.threads = set_.threads});
    net_->set_training(true);
    net_->initialize_layers(tp, tp.constant(nn::batch_tensor<float>(wb)));
  }
  bool has_data() const { return !weight_split_.empty(); }
  int epochs_done() const { return epoch_; }
  int total_epochs() const { return set_.warmup_epochs + set_.epochs; }
  bool finished() const { return epoch_ >= total_epochs() || !has_data(); }
  /// True once final_hardware() has run (a checkpoint remembers it).
  bool final_done() const { return final_done_; }
  const std::vector<epoch_record>& history() const { return history_; }
  bool sequential() const { return set_.mode == search_mode::sequential; }
  const hw::accel_config& accel() const { return accel_; }
  const cost_table& table() const { return table_; }
  const cost_reference& reference() const { return ref_; }
  const cost_weights& lambdas() const { return lambdas_; }
  double seconds_train() const { return seconds_train_; }
  double seconds_hw() const { return seconds_hw_; }
  std::int64_t hwgen_iterations() const { return gen_->iterations_done(); }
  /// The arg-max operators and widths (sequential: the uniform width everywhere).
  nas::derived_arch derived() const {
    nas::derived_arch d = net_->derived();
    if (sequential()) {
      std::fill(d.bits.begin(), d.bits.end(), set_.uniform_bits);
      std::fill(d.act_bits.begin(), d.act_bits.end(), set_.uniform_bits);
    }
    return d;
  }
  /// Where the hardware side runs.
  HwB backend() const {
    if constexpr (std::is_same_v<HwB, tbb_backend>)
      return pool_.backend();
    else
      return hw_;
  }

  /// Latency (s) and energy (nJ) of the derived network on the current accelerator.
  std::pair<double, double> derived_cost() const { return table_.network_cost(space_, derived()); }

  /// The normalised cost of the derived network: what the lambdas weigh.
  double derived_objective() const {
    const auto [lat, en] = derived_cost();
    return lambdas_.lambda_latency * lat / ref_.latency_s + lambdas_.lambda_energy * en / ref_.energy_nJ +
           lambdas_.lambda_area * table_.area_mm2 / ref_.area_mm2;
  }

  /// One epoch (warm-up or search), its hardware updates and the lambda adaptation. Progress
  /// lines go to `log` (if given).
  epoch_record run_epoch(std::ostream* log = nullptr) {
    if (finished()) throw model_error("joint_search: no epoch left to run");
    const bool hw_loop = !sequential();
    if (hw_loop && epoch_ == 0 && hw_updates_ == 0) update_hardware(set_.hwgen_iterations);
    const int e = epoch_;
    const bool warm = e < set_.warmup_epochs;
    epoch_record rec{.epoch = e + 1, .phase = warm ? "warm-up" : "search"};
    net_->reseed(detail::stream_seed(set_.seed, std::uint64_t(e), 2));
    net_->begin_epoch(e);
    rng wgen(detail::stream_seed(set_.seed, std::uint64_t(e), 3)), agen(detail::stream_seed(set_.seed, std::uint64_t(e), 4));
    data::batch_iterator wit(weight_split_, {.batch_size = set_.batch, .drop_last = true}, wgen);
    data::batch_iterator ait(arch_split_, {.batch_size = set_.batch, .drop_last = true}, agen);
    const std::int64_t per_epoch = wit.batches_per_epoch();
    const optim::cosine_schedule lr{.base_lr = set_.lr, .total_steps = per_epoch * total_epochs()};
    tape<float> tp({.threads = set_.threads});
    data::batch wb, ab;
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0, arch_steps = 0;
    stopwatch clock;
    double hw_before = seconds_hw_;
    for (std::int64_t s = 0; wit.next(wb); ++s) {
      if (s == 0 && make_engine_) {  // the engine holds the model from here to the epoch's end
        if (!engine_) {
          initialize_layers();
          engine_ = make_engine_(*net_, *sgd_);
        } else {
          engine_->sync_from_model();
        }
      }
      sgd_->set_lr(lr(std::int64_t(e) * per_epoch + s));
      net_->begin_step(false);
      const auto r = step(tp, wb, false, s);
      loss_sum += r.loss;
      correct += r.correct;
      seen += r.count;
      ++rec.steps;
      if (!warm && ait.next(ab)) {
        net_->begin_step(true);
        rec.hw_cost = step(tp, ab, true, s).hw_cost;
        if (++arch_steps % set_.hw_every == 0 && hw_loop) update_hardware(set_.hwgen_iterations);
      }
      if (log && ((s + 1) % set_.report_every == 0 || s + 1 == per_epoch))
        report(*log, rec, s + 1, per_epoch, loss_sum / double(rec.steps), double(correct) / double(seen), clock.peek());
    }
    if (engine_) {  // the weights come back; the engine's weight steps had only their losses checked
      engine_->sync_to_model();
      if (const std::string bad = nn::first_non_finite_parameter(weight_params_); !bad.empty())
        throw model_error("search diverged in epoch " + std::to_string(e + 1) + ": parameter " + bad + " after the weight steps on " +
                          engine_->name() + " (try a smaller lr)");
    }
    if (hw_loop) update_hardware(set_.hwgen_iterations);
    rec.train_loss = rec.steps ? loss_sum / double(rec.steps) : 0;
    rec.train_accuracy = seen ? double(correct) / double(seen) : 0;
    rec.peak_backward_bytes = std::int64_t(tp.peak_bytes());
    rec.val_accuracy = derived_accuracy(eval_split_);
    rec.tau = net_->temperature();
    const double epoch_s = clock.lap();
    rec.seconds_hw = seconds_hw_ - hw_before;
    rec.seconds_train = epoch_s - rec.seconds_hw;
    seconds_train_ += rec.seconds_train;
    fill_design(rec);
    if (!warm && set_.latency_budget_ms > 0) {
      if (rec.latency_ms > set_.latency_budget_ms)
        lambdas_.lambda_latency *= 2;
      else if (rec.latency_ms < set_.latency_budget_ms / 4)
        lambdas_.lambda_latency /= 2;
    }
    history_.push_back(rec);
    ++epoch_;
    return rec;
  }

  /// The last, longer hardware search on the final derived network (also without data).
  void final_hardware(std::ostream* log = nullptr) {
    if (final_done_) return;
    if (!sequential() && epoch_ == 0 && hw_updates_ == 0) update_hardware(set_.hwgen_iterations);
    update_hardware(set_.final_hwgen_iterations);
    final_done_ = true;
    if (log) *log << "hardware: " << accel_ << ", area " << table_.area_mm2 << " mm^2, " << hwgen_iterations() << " generator iterations\n";
  }

  /// Every layer of the derived network (stem, blocks, head, fc) and its mapping on the accelerator.
  std::pair<std::vector<hw::layer>, std::vector<hw::mapping_result>> mapping() const {
    auto layers = network_layers(space_, derived(), set_.hw_batch);
    auto results = batchtile::map_layers(backend(), accel_, std::span<const hw::layer>(layers), hw::make_energy_model(accel_));
    return {std::move(layers), std::move(results)};
  }

  /// Accuracy of the derived path on `ds`, its BatchNorm statistics first re-estimated on
  /// `eval_images` weight-split images (the running statistics a sampled supernet keeps mix
  /// every path that ran, and evaluated as they are they put the derived path at chance).
  double derived_accuracy(const data::dataset& ds) {
    struct derived_path {  // on for the re-estimate only, also when it throws
      nas::supernet<float>& net;
      explicit derived_path(nas::supernet<float>& n) : net(n) { net.use_derived_path(true); }
      ~derived_path() { net.use_derived_path(false); }
    };
    {
      const derived_path on(*net_);
      nn::recalibrate_batch_norm(*net_, calib_split_, {.images = 0, .batch_size = 250, .threads = set_.threads});
    }
    return nn::evaluate(*net_, ds, {.batch_size = 250, .threads = set_.threads});
  }

  /// The design figures of the derived network on the current accelerator.
  void fill_design(epoch_record& rec) const {
    const auto [lat, en] = derived_cost();
    rec.latency_ms = lat * 1e3;
    rec.energy_uJ = en * 1e-3;
    rec.area_mm2 = table_.area_mm2;
    rec.lambda_latency = lambdas_.lambda_latency;
    std::ostringstream d, a;
    d << derived();
    a << accel_;
    rec.derived = d.str();
    rec.accel = a.str();
    rec.op_probs.clear();
    rec.width_probs.clear();
    for (int b = 0; b < net_->num_blocks(); ++b) {
      rec.op_probs.push_back(detail::softmax_of(net_->alpha(b).value));
      rec.width_probs.push_back(detail::softmax_of(net_->beta(b, int(nas::argmax_of(net_->alpha(b).value))).value));
    }
  }

  // --- checkpoints ---------------------------------------------------------------------------

  /// Writes the search's whole state into `dir`: net-<epoch>.jaqckpt (network, optimizers),
  /// hw-<epoch>.jaqckpt (generator), each atomically, then state.json, which names them, last
  /// (atomically too): a reader sees the old checkpoint or the new one, never a mix.
  void save(const std::filesystem::path& dir, const nlohmann::json& identity) {
    std::filesystem::create_directories(dir);
    const std::string tag = std::to_string(epoch_);
    const std::string net_file = "net-" + tag + ".jaqckpt", hw_file = "hw-" + tag + ".jaqckpt";
    save_checkpoint(dir / net_file, float_state());
    save_checkpoint(dir / hw_file, gen_->state());
    nlohmann::json j{{"format", "jaq joint search checkpoint"},
                     {"version", 1},
                     {"identity", identity},
                     {"epoch", epoch_},
                     {"net", net_file},
                     {"hw", hw_file},
                     {"accel", hw::to_accel_json(accel_)},
                     {"lambda_latency", lambdas_.lambda_latency},
                     {"hw_updates", hw_updates_},
                     {"final_done", final_done_},
                     {"seconds_train", seconds_train_},
                     {"seconds_hw", seconds_hw_},
                     {"history", nlohmann::json::array()}};
    for (const auto& r : history_) j["history"].push_back(to_json(r));
    const auto previous = read_manifest_files(dir);
    report::write_json(dir / "state.json", j);
    for (const auto& f : previous)
      if (f != net_file && f != hw_file) std::filesystem::remove(dir / f);
  }

  /// Restores what save() wrote. data_error naming the file for a missing, corrupt or foreign
  /// checkpoint (another preset, space or seed: `identity` differs).
  void load(const std::filesystem::path& dir, const nlohmann::json& identity) {
    const auto state_path = dir / "state.json";
    if (!std::filesystem::exists(state_path)) throw data_error(state_path.string(), "no checkpoint here (nothing to resume)");
    nlohmann::json j;
    try {
      j = report::read_json(state_path);
    } catch (const error& e) {
      throw data_error(state_path.string(), std::string("corrupt checkpoint manifest: ") + e.what());
    }
    const std::string src = state_path.string();
    try {
      if (j.value("format", "") != "jaq joint search checkpoint") throw data_error(src, "not a jaq joint search checkpoint");
      if (j.at("identity") != identity)
        throw data_error(src, "checkpoint of another run: it has " + j.at("identity").dump() + ", this run is " + identity.dump());
      const int epoch = j.at("epoch").get<int>();
      if (epoch < 0 || epoch > total_epochs())
        throw data_error(src, "epoch " + std::to_string(epoch) + " outside 0.." + std::to_string(total_epochs()));
      load_checkpoint(dir / j.at("net").get<std::string>(), float_state());
      load_checkpoint(dir / j.at("hw").get<std::string>(), gen_->state());
      net_->restore();
      const hw::accel_config c = hw::parse_accel_json(j.at("accel").dump(), src + ": accel");
      epoch_ = epoch;
      lambdas_.lambda_latency = j.at("lambda_latency").get<double>();
      hw_updates_ = j.at("hw_updates").get<std::int64_t>();
      final_done_ = j.at("final_done").get<bool>();
      seconds_train_ = j.at("seconds_train").get<double>();
      seconds_hw_ = j.at("seconds_hw").get<double>();
      history_.clear();
      for (const auto& r : j.at("history")) history_.push_back(epoch_record_from_json(r));
      accel_ = c;
      table_ = build_cost_table(backend(), space_, accel_, set_.hw_batch, &cache_);
    } catch (const nlohmann::json::exception& e) {
      throw data_error(src, std::string("malformed checkpoint manifest: ") + e.what());
    }
  }

 private:
  struct step_out {
    double loss = 0;
    std::int64_t correct = 0, count = 0;
    double hw_cost = 0;
  };

  void split_data(const data::dataset& train) {
    rng g(detail::stream_seed(set_.seed, 0, 5));
    std::vector<std::int64_t> order(std::size_t(train.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = std::int64_t(i);
    g.shuffle(order.begin(), order.end());
    const std::int64_t n = set_.search_images > 0 ? std::min(set_.search_images, train.size()) : train.size();
    const std::int64_t half = n / 2;
    if (half < set_.batch)
      throw config_error(space_.name, "batch",
                         "batch " + std::to_string(set_.batch) + " is more than half the " + std::to_string(n) +
                             " search images: no full batch for weight or architecture steps");
    std::vector<std::int64_t> w(order.begin(), order.begin() + half), a(order.begin() + half, order.begin() + 2 * half);
    std::sort(w.begin(), w.end());
    std::sort(a.begin(), a.end());
    weight_split_ = data::select(train, w);
    arch_split_ = data::select(train, a);
    eval_split_ = data::first_n(arch_split_, set_.eval_images);
    calib_split_ = data::first_n(weight_split_, set_.eval_images);
  }

  std::vector<named_tensor<float>> float_state() {
    auto st = net_->state_entries();
    for (auto& e : sgd_->state()) st.push_back(e);
    for (auto& e : adam_->state()) st.push_back(e);
    return st;
  }

  static std::vector<std::string> read_manifest_files(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    try {
      const auto j = report::read_json(dir / "state.json");
      out.push_back(j.at("net").get<std::string>());
      out.push_back(j.at("hw").get<std::string>());
    } catch (const std::exception&) {
    }
    return out;
  }

  step_out step(tape<float>& tp, const data::batch& b, bool arch, std::int64_t s) {
    tp.clear();
    tp.set_grad_enabled(true);
    net_->set_training(true);
    // Gradients are released, not zeroed: a parameter this step does not reach (an operator
    // that did not run) then gets no momentum or weight-decay update, as with PyTorch's
    // zero_grad(set_to_none=True), and a resumed run (whose gradients start empty) steps
    // exactly as an uninterrupted one.
    for (auto* p : weight_params_) p->grad = tensor<float>{};
    for (auto* p : arch_params_) p->grad = tensor<float>{};
    step_out r;
    var<float> loss;
    if (engine_) {  // the network's part on the engine: a weight step whole, an arch step's gradients
      const nn::step_result e = arch ? engine_->arch_step(b, s) : engine_->weight_step(b, s);
      r = {.loss = e.loss, .correct = e.correct, .count = b.size()};
      if (!arch) return r;
    } else {
      var<float> logits = net_->forward(tp, tp.constant(nn::batch_tensor<float>(b)));
      const std::span<const std::int32_t> labels(b.labels);
      loss = cross_entropy(tp, logits, labels);
      r = {.loss = double(loss.value()[0]), .correct = count_correct(logits.value(), labels), .count = b.size()};
    }
    if (arch) {  // the hardware term (sequential: the FLOPs term, over alpha alone)
      std::vector<var<float>> alphas, betas, betas_act;
      for (int k = 0; k < net_->num_blocks(); ++k) alphas.push_back(tp.param(net_->alpha(k)));
      if (!sequential())
        for (int k = 0; k < net_->num_blocks(); ++k)
          for (int o = 0; o < net_->num_ops(); ++o) {
            betas.push_back(tp.param(net_->beta(k, o)));
            if (net_->separate_wa()) betas_act.push_back(tp.param(net_->beta_act(k, o)));
          }
      var<float> cost = sequential() ? expected_cost(tp, alphas, {}, flops_cost_)
                                     : expected_cost(tp, alphas, betas, combined_cost(table_, lambdas_, ref_), betas_act);
      r.hw_cost = double(cost.value()[0]);
      if (!sequential())  // plus the fixed layers and the area, constants of the step, added in this order
        r.hw_cost = r.hw_cost + lambdas_.lambda_latency * table_.fixed_latency_s / ref_.latency_s +
                    lambdas_.lambda_energy * table_.fixed_energy_nJ / ref_.energy_nJ +
                    lambdas_.lambda_area * table_.area_mm2 / ref_.area_mm2;
      loss = engine_ ? cost : jaq::add(tp, loss, cost);  // an engine added d CE / d logits already
    }
    if (!std::isfinite(r.loss)) {
      std::ostringstream os;
      os << "search diverged: loss is " << r.loss << " at epoch " << epoch_ + 1 << " step " << s + 1 << " ("
         << (arch ? "architecture" : "weight") << " step)";
      if (const std::string where = tp.first_non_finite(); !where.empty()) os << "; first non-finite value: " << where;
      os << " (try a smaller lr or arch_lr)";
      throw model_error(os.str());
    }
    tp.backward(loss);
    if (arch) {
      adam_->step();
    } else {
      sgd_->step();
      net_->project();
    }
    tp.clear();
    // a NaN weight's outputs would turn into zeros at the next ReLU and the search go on silently
    std::string bad = nn::first_non_finite_parameter(arch ? arch_params_ : weight_params_);
    if (!bad.empty()) {
      std::ostringstream os;
      os << "search diverged at epoch " << epoch_ + 1 << " step " << s + 1 << ": parameter " << bad << " after the "
         << (arch ? "architecture" : "weight") << " update (try a smaller " << (arch ? "arch_lr" : "lr") << ")";
      throw model_error(os.str());
    }
    return r;
  }

  void update_hardware(int iterations) {
    stopwatch sw;
    const auto layers = network_layers(space_, derived(), set_.hw_batch);
    hwgen::cost_evaluator ev(layers,
                             {.lambda_latency = lambdas_.lambda_latency,
                              .lambda_energy = lambdas_.lambda_energy,
                              .lambda_area = lambdas_.lambda_area,
                              .area_budget_mm2 = set_.area_budget_mm2},
                             &cache_);
    rng g(detail::stream_seed(set_.seed, std::uint64_t(hw_updates_), 6));
    const hwgen::generator_result r = gen_->run(backend(), ev, iterations, g);
    ++hw_updates_;
    const hwgen::config_score cur = ev.score(backend(), std::span<const hw::accel_config>(&accel_, 1))[0];
    bool feasible = cur.feasible;  // the accelerator kept: the current one, or a feasible proposal
    if (r.best.feasible && (!cur.feasible || r.best.cost < cur.cost)) {
      cost_table t = build_cost_table(backend(), space_, r.best.config, set_.hw_batch, &cache_);
      if (t.feasible) {
        accel_ = r.best.config;
        table_ = std::move(t);
        feasible = true;
      }
    }
    if (!feasible) {
      std::ostringstream os;
      os << "no accelerator found within the area budget of " << set_.area_budget_mm2
         << " mm^2 that maps every layer (the smallest of the space, " << smallest_area() << " mm^2; the current " << accel_ << ": "
         << cur.reason << ")";
      throw config_error(space_.name, "area_budget_mm2", os.str());
    }
    seconds_hw_ += sw.lap();
  }

  double smallest_area() const {
    hwgen::choice c{};
    return hw::area_of(set_.hw_space.decode(c)).total_mm2;
  }

  std::pair<double, double> mean_network(const cost_table& t) const {
    const double n = double(t.latency_s.shape()[1] * t.latency_s.shape()[2]);
    return {t.fixed_latency_s + xt::sum(t.latency_s)() / n, t.fixed_energy_nJ + xt::sum(t.energy_nJ)() / n};
  }

  void report(std::ostream& os, const epoch_record& rec, std::int64_t step, std::int64_t per_epoch, double loss, double acc,
              double seconds) const {
    const auto [lat, en] = derived_cost();
    const double done = double(epoch_) * double(per_epoch) + double(step);
    const double total = double(total_epochs()) * double(per_epoch);
    const double eta = done > 0 ? (seconds_train_ + seconds_hw_ + seconds) / done * (total - done) : 0;
    char line[320];
    std::snprintf(line, sizeof line,
                  "%-7s epoch %d/%d step %lld/%lld loss %.4f acc %.4f tau %.3f | latency %.4f ms energy %.2f uJ area %.3f mm^2 | eta %s",
                  rec.phase.c_str(), epoch_ + 1, total_epochs(), static_cast<long long>(step), static_cast<long long>(per_epoch), loss, acc,
                  net_->temperature(), lat * 1e3, en * 1e-3, table_.area_mm2, format_duration(eta).c_str());
    os << line << std::endl;
  }

  nas::space_config space_;
  search_settings set_;
  mutable thread_pool pool_;  // one TBB arena for the whole search
  HwB hw_;                    // the hardware side's backend (unused for tbb_backend: pool_'s)
  batchtile::mapping_cache cache_;
  std::unique_ptr<nas::supernet<float>> net_;
  std::vector<parameter<float>*> weight_params_, arch_params_;
  std::unique_ptr<optim::sgd<float>> sgd_;
  std::unique_ptr<optim::adam<float>> adam_;
  std::unique_ptr<hwgen::generator> gen_;
  engine_factory make_engine_;
  std::unique_ptr<nas::supernet_engine> engine_;
  data::dataset weight_split_, arch_split_, eval_split_, calib_split_;  // calib: BatchNorm re-estimates
  cost_weights lambdas_;
  cost_reference ref_;
  hw::accel_config accel_;
  cost_table table_;
  xt::xtensor<double, 3> flops_cost_;  // sequential: lambda_flops MACs / mean MACs, (blocks, ops, 1)
  int epoch_ = 0;
  std::int64_t hw_updates_ = 0;
  bool final_done_ = false;
  double seconds_train_ = 0, seconds_hw_ = 0;
  std::vector<epoch_record> history_;
};

}  // namespace jaq::search
