// jaq/nas/train_session.hpp: the quantization and search options of //examples:train, and the
// object that applies them to a model, so that the example needs only a few lines for them.
//
//   --quant lsq|pact|minmax --bits N (or --wbits N --abits N) [--first-bits 8 --last-bits 8]
//   --mixed 2,3,4,8 [--csq K] [--csq-every E] [--tau 5 --tau-decay 0.9 --tau-min 0.5]
//   --derived runs/train/derived.json [--quant lsq]   (retrain a searched network fully quantized
//                                                       at its derived per-layer widths)
//
//   jaq::nas::train_flags flags;  jaq::nas::add_train_flags(app, flags);   // any CLI11-like App
//   jaq::nas::train_session<float> qs(flags, *model, gen);                   // validates, installs
//   jaq::optim::sgd<float> opt(qs.parameters(model->parameters()), {...});
//   auto qopt = qs.optimizer(opt);                // what train_step() steps
//   each epoch: qs.begin_epoch(e);  each step: qs.begin_step(step); train_step(*model, qopt, ...);
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/search_model.hpp"
#include "jaq/nn/model.hpp"
#include "jaq/quant/quantize_model.hpp"
#include "jaq/report/json.hpp"

namespace jaq::nas {

/// Everything the quantization/search flags set (-1 / empty: not given).
struct train_flags {
  std::string quant;  ///< lsq | pact | minmax; empty: full precision (or --mixed)
  int bits = -1;      ///< weights and activations
  int wbits = -1;     ///< overrides --bits for weights
  int abits = -1;     ///< overrides --bits for activations
  int first_bits = 8;
  int last_bits = 8;
  std::string mixed;         ///< candidate widths "2,3,4,8": search
  bool mixed_given = false;  ///< --mixed was given (an empty value is an error, not full precision)
  double csq = 0;            ///< K in percent; 0: not given (all channels)
  bool csq_given = false;
  int csq_every = 1;  ///< E: epochs between mask updates
  bool fused_naive = false;
  double tau = 5.0, tau_decay = 0.9, tau_min = 0.5;
  std::string derived;  ///< derived.json of a search: retrain at its per-layer widths
};

/// A search's derived precision as JSON: {"model": ..., "layers": [{"name": ..., "bits": ...}]}.
inline nlohmann::json to_json(const derived_precision& d, const std::string& model) {
  nlohmann::json j{{"model", model}, {"layers", nlohmann::json::array()}};
  for (const auto& [name, bits] : d.layers) j["layers"].push_back({{"name", name}, {"bits", bits}});
  return j;
}

/// Reads what to_json wrote; errors name the file and the field (the width is checked where it
/// is used, by quant_config::validate, which names the layer).
inline std::vector<std::pair<std::string, int>> read_derived(const std::filesystem::path& path) {
  const nlohmann::json j = report::read_json(path);
  const std::string src = path.string();
  const auto layers = report::json_get<nlohmann::json>(j, "layers", src);
  if (!layers.is_array() || layers.empty()) throw config_error(src, "layers", "expected a non-empty array");
  std::vector<std::pair<std::string, int>> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string where = src + ": layers[" + std::to_string(i) + "]";
    out.emplace_back(report::json_get<std::string>(layers[i], "name", where), report::json_get<int>(layers[i], "bits", where));
  }
  return out;
}

/// Registers the flags on a CLI11 App (a template, so this header does not include CLI11).
template <class App>
void add_train_flags(App& app, train_flags& f) {
  app.add_option("--quant", f.quant, "quantization-aware training: lsq, pact, minmax or dorefa (DoReFa weights, PACT activations)");
  app.add_option("--bits", f.bits, "bit-width of weights and activations (with --quant; default 4)");
  app.add_option("--wbits", f.wbits, "bit-width of the weights (overrides --bits)");
  app.add_option("--abits", f.abits, "bit-width of the input activations (overrides --bits)");
  app.add_option("--first-bits", f.first_bits, "bit-width of the first layer (default 8)");
  app.add_option("--last-bits", f.last_bits, "bit-width of the last layer (default 8)");
  app.template add_option_function<std::string>(
      "--mixed",
      [&f](const std::string& v) {
        f.mixed = v;
        f.mixed_given = true;
      },
      "mixed-precision search over these widths, e.g. 2,3,4,8");
  app.template add_option_function<double>(
      "--csq",
      [&f](const double& k) {
        f.csq = k;
        f.csq_given = true;
      },
      "CSQ: quantize only the top-K% channels during the search (with --mixed)");
  app.add_option("--csq-every", f.csq_every, "recompute the CSQ channel masks every E epochs (default 1)");
  app.add_flag("--fused-naive", f.fused_naive, "all-channel search with the fused op (memory ablation)");
  app.add_option("--tau", f.tau, "initial Gumbel-softmax temperature (default 5)");
  app.add_option("--tau-decay", f.tau_decay, "temperature decay per epoch (default 0.9)");
  app.add_option("--tau-min", f.tau_min, "lowest temperature (default 0.5)");
  app.add_option("--derived", f.derived,
                 "derived.json of a --mixed search: retrain fully quantized at its per-layer widths (--quant, default lsq)");
}

template <scalar T>
class train_session {
 public:
  train_session(const train_flags& f, nn::model<T>& m, rng& gen) {
    const std::string where = m.name();
    if (f.mixed_given && f.mixed.empty()) throw config_error(where, "--mixed", "empty: give the candidate widths, e.g. 2,3,4,8");
    if (!f.quant.empty() && !f.mixed.empty())
      throw config_error(where, "--quant/--mixed", "choose one: fixed-precision training or a mixed-precision search");
    if (f.csq_given && f.mixed.empty()) throw config_error(where, "--csq", "CSQ is a mixed-precision search option: give --mixed too");
    if (f.quant.empty() && f.mixed.empty() && (f.bits >= 0 || f.wbits >= 0 || f.abits >= 0))
      throw config_error(where, "--bits", "a bit-width needs --quant lsq|pact|minmax");
    if (!f.derived.empty() && !f.mixed.empty())
      throw config_error(where, "--derived/--mixed", "--derived retrains a searched network: it does not search again");
    // The library's errors name fields; these name the flags that set them.
    if (!f.quant.empty() || !f.derived.empty()) {
      const int b = f.bits >= 0 ? f.bits : 4;
      (void)quant::qrange::of(f.wbits >= 0 ? f.wbits : b, true, where + ": --wbits");
      (void)quant::qrange::of(f.abits >= 0 ? f.abits : b, false, where + ": --abits");
      (void)quant::qrange::of(f.first_bits, true, where + ": --first-bits");
      (void)quant::qrange::of(f.last_bits, true, where + ": --last-bits");
    }
    if (!f.mixed.empty())
      for (int b : parse_bits(f.mixed, "--mixed")) quant::all_bits::check(b, where + ": --mixed");
    if (!f.quant.empty() || !f.derived.empty()) {
      const int b = f.bits >= 0 ? f.bits : 4;
      quant::quant_config qc{.method = quant::parse_method(f.quant.empty() ? "lsq" : f.quant, "--quant"),
                             .wbits = f.wbits >= 0 ? f.wbits : b,
                             .abits = f.abits >= 0 ? f.abits : b,
                             .first_bits = f.first_bits,
                             .last_bits = f.last_bits};
      if (!f.derived.empty()) qc.layer_bits = read_derived(f.derived);
      fixed_ = std::make_unique<quant::quantized_model<T>>(m, std::move(qc));
    } else if (!f.mixed.empty()) {
      search_config c{.bits = parse_bits(f.mixed, "--mixed"),
                      .fused_naive = f.fused_naive,
                      .tau = {.initial = f.tau, .decay = f.tau_decay, .minimum = f.tau_min},
                      .first_bits = f.first_bits,
                      .last_bits = f.last_bits};
      if (f.csq_given) c.csq = csq_config{.keep_percent = f.csq, .refresh_epochs = f.csq_every};
      search_ = std::make_unique<search_model<T>>(m, std::move(c), gen);
    }
  }

  bool active() const { return fixed_ || search_; }
  search_model<T>* search() { return search_.get(); }
  quant::quantized_model<T>* fixed() { return fixed_.get(); }

  std::vector<parameter<T>*> parameters(std::vector<parameter<T>*> model_params) {
    if (fixed_) return fixed_->parameters(std::move(model_params));
    if (search_) return search_->parameters(std::move(model_params));
    return model_params;
  }

  /// `resumed`: the epoch continues from a checkpoint taken inside it.
  void begin_epoch(int epoch, bool resumed = false) {
    if (search_) search_->begin_epoch(epoch, resumed);
  }
  void begin_step(std::int64_t step) {
    if (search_) search_->begin_step(step);
  }

  template <class Opt>
  struct stepper {
    train_session* self;
    Opt* opt;
    void zero_grad() {
      if (self->search_)
        self->search_->optimizer(*opt).zero_grad();
      else
        opt->zero_grad();
    }
    void step() {
      if (self->search_) {
        self->search_->optimizer(*opt).step();
      } else {
        opt->step();
        if (self->fixed_) self->fixed_->project();  // steps stay positive
      }
    }
  };
  template <class Opt>
  stepper<Opt> optimizer(Opt& opt) {
    return {this, &opt};
  }

  friend std::ostream& operator<<(std::ostream& os, const train_session& s) {
    if (s.fixed_) os << *s.fixed_;
    if (s.search_) os << *s.search_;
    return os;
  }

 private:
  std::unique_ptr<quant::quantized_model<T>> fixed_;
  std::unique_ptr<search_model<T>> search_;
};

}  // namespace jaq::nas
