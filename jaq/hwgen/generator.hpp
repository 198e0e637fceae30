// jaq/hwgen/generator.hpp: hardware generation: train the policy network to propose
// accelerator configurations of low cost, scoring every proposal with BatchTile.
//
// A `generator` owns the policy and its Adam state (jaq::optim::adam) and can be stepped:
// each run(backend, eval, n, gen) call does n more iterations on eval's network, carrying the
// policy and the optimizer on, so two calls of n/2 iterations equal one of n; state() names
// every tensor needed to resume bit-exactly (jaq::save_checkpoint / load_checkpoint).
// generate() is one generator run once.
//
// Each iteration the policy (policy_mlp.hpp) gives one categorical distribution per parameter
// of the search space; a batch of configurations is sampled from them (with the jaq::rng passed
// in), each is scored on every layer of the network (objective.hpp: best mapping per layer by
// BatchTile, summed latency and energy, area), and the policy moves toward lower cost by
// REINFORCE with the batch's mean cost as baseline and its standard deviation as scale:
//   d loss / d logits(head) = mean_i  (cost_i - mean) / std * (onehot(a_i) - softmax(head)),
// the score-function estimate of d E[cost] / d logits (Adam then steps down it).
// An infeasible configuration (over the area budget, or a layer that fits no tiling) is never
// kept as the best and counts as `infeasible_cost` in the update. The best feasible
// configuration seen is kept (strictly lower cost replaces it). Same seed, same result.
//
//   jaq::rng gen(1);
//   jaq::hwgen::cost_evaluator ev(jaq::hw::networks::search_space_22(), {.area_budget_mm2 = 6});
//   jaq::hwgen::generator g(jaq::hwgen::default_space(), {}, gen);
//   auto r = g.run(jaq::tbb_backend{}, ev, 100, gen);   // g.run(...) again carries on
//   std::cout << r << "\n" << r.best_json().dump(2);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/autograd/tensor.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hw/accel_json.hpp"
#include "jaq/hwgen/objective.hpp"
#include "jaq/hwgen/policy_mlp.hpp"
#include "jaq/hwgen/search_space.hpp"
#include "jaq/optim/adam.hpp"

namespace jaq::hwgen {

struct generator_options {
  int iterations = 100;
  int batch = 16;                 // configurations sampled per iteration
  double learning_rate = 0.01;    // Adam
  int hidden = 32;                // policy MLP width
  double infeasible_cost = 10.0;  // cost given to infeasible samples in the update
  double entropy_weight = 0.0;    // adds -entropy_weight * entropy to the loss (exploration)
};

/// One iteration's summary.
struct iteration_log {
  int iteration = 0;     // counted over every run() of the generator, from 0
  double mean_cost = 0;  // over the batch, infeasible samples at infeasible_cost
  double best_cost = 0;  // best feasible cost seen so far in this run() (inf if none)
  int infeasible = 0;    // samples of this batch that were infeasible
  double entropy = 0;    // summed entropy of the heads (nats)
};

struct generator_result {
  config_score best;  // best feasible configuration seen (feasible == false if none)
  choice best_choice;
  config_score reference;  // the normalising configuration's figures
  std::int64_t evaluated = 0, infeasible = 0;
  std::vector<iteration_log> history;  // of this run() call

  /// Adds the result of a later run() of the same generator, so that the sum reads as one run:
  /// the better best (the earlier on ties, as one run keeps it), counts added, histories joined
  /// with each later best_cost taken over both runs.
  void append(const generator_result& later) {
    const double before = best.feasible ? best.cost : std::numeric_limits<double>::infinity();
    if (later.best.feasible && (!best.feasible || later.best.cost < best.cost)) {
      best = later.best;
      best_choice = later.best_choice;
    }
    reference = later.reference;
    evaluated += later.evaluated;
    infeasible += later.infeasible;
    for (iteration_log l : later.history) {
      l.best_cost = std::min(l.best_cost, before);
      history.push_back(l);
    }
  }

  /// The best configuration in the map tool's --accel format (loadable by hw::read_accel_json).
  nlohmann::json accel_json() const { return hw::to_accel_json(best.config); }
  /// The best configuration with its figures, relative figures and the search's counts.
  nlohmann::json best_json() const {
    return {{"accel", accel_json()},
            {"feasible", best.feasible},
            {"cost", best.feasible ? best.cost : -1.0},
            {"latency_s", best.latency_s},
            {"energy_nJ", best.energy_nJ},
            {"area_mm2", best.area_mm2},
            {"latency_vs_reference", best.latency_s / reference.latency_s},
            {"energy_vs_reference", best.energy_nJ / reference.energy_nJ},
            {"area_vs_reference", best.area_mm2 / reference.area_mm2},
            {"evaluated", evaluated},
            {"infeasible", infeasible},
            {"iterations", static_cast<std::int64_t>(history.size())}};
  }
};

inline std::ostream& operator<<(std::ostream& os, const iteration_log& l) {
  return os << "iter " << l.iteration << ": mean cost " << l.mean_cost << ", best " << l.best_cost << ", infeasible " << l.infeasible
            << ", entropy " << l.entropy;
}
inline std::ostream& operator<<(std::ostream& os, const generator_result& r) {
  if (!r.best.feasible)  // nothing feasible was found: there is no "best" to name
    return os << "generator_result{no feasible configuration among " << r.evaluated << " evaluated (" << r.infeasible << " infeasible), "
              << r.history.size() << " iterations}";
  return os << "generator_result{best " << r.best << ", " << r.best_choice << ", evaluated " << r.evaluated << " (" << r.infeasible
            << " infeasible), " << r.history.size() << " iterations}";
}

/// How many features network_features() gives: the policy's input size, whatever the network.
inline constexpr int network_feature_count = 6;

/// Features of a network the policy is conditioned on (a constant input for one network):
/// bias, log total MACs, layer count, depthwise fraction, mean log channels, mean log size.
inline std::vector<double> network_features(const std::vector<hw::layer>& layers) {
  double macs = 0, dw = 0, ch = 0, sz = 0;
  for (const hw::layer& l : layers) {
    macs += static_cast<double>(l.K * l.K * l.O * l.O * l.B) * static_cast<double>(l.IC / l.groups) * static_cast<double>(l.OC);
    dw += l.groups > 1;
    ch += std::log2(static_cast<double>(l.IC + l.OC));
    sz += std::log2(static_cast<double>(l.O));
  }
  const double n = static_cast<double>(layers.empty() ? 1 : layers.size());
  return {1.0, std::log2(1.0 + macs) / 40.0, std::log2(n) / 8.0, dw / n, ch / n / 12.0, sz / n / 8.0};
}

/// The hardware search as an object: the policy and its optimizer persist across run() calls.
/// Not copyable (the optimizer points at the policy's parameters); movable.
class generator {
 public:
  /// Validates space and options (config_error naming the field); draws the policy's initial
  /// weights from gen.
  generator(const search_space& space, const generator_options& opt, rng& gen)
      : space_(checked(space, opt)),
        opt_(opt),
        heads_(head_sizes(space_)),
        net_(std::make_unique<policy_mlp>(policy_spec{.inputs = network_feature_count, .hidden = opt.hidden, .heads = heads_}, gen)),
        adam_(net_->parameters(), {.lr = opt.learning_rate}),
        done_(tensor<double>::zeros({1})) {}

  /// Runs `iterations` more iterations on eval's network (its features are taken afresh, so
  /// the network may change between calls). The result's best, best_choice, history and counts
  /// are this call's; the policy and Adam carry on. Each log line is flushed as written.
  template <class B>
  requires batchtile::mapping_backend<B> generator_result run(B backend, const cost_evaluator& eval, int iterations, rng& gen,
                                                              std::ostream* log = nullptr) {
    if (iterations < 0) throw config_error("generator::run", "iterations", std::to_string(iterations) + " (must be >= 0)");
    const std::vector<double> x = network_features(eval.layers());
    JAQ_ASSERT(x.size() == net_->inputs());
    const std::size_t L = net_->outputs();

    generator_result res;
    res.reference = eval.reference();
    std::vector<double> p(L), dz(L);
    std::vector<choice> picks(static_cast<std::size_t>(opt_.batch));
    std::vector<hw::accel_config> configs(static_cast<std::size_t>(opt_.batch));
    for (int it = 0; it < iterations; ++it) {
      const std::vector<double> z = net_->forward(x);
      head_softmax(heads_, z, p);
      // Sample each head by inverse CDF.
      for (std::size_t b = 0; b < picks.size(); ++b) {
        std::size_t off = 0;
        for (int h = 0; h < num_params; ++h) {
          const int n = heads_[static_cast<std::size_t>(h)];
          double u = gen.uniform(), acc = 0;
          int k = 0;
          for (; k < n - 1; ++k) {
            acc += p[off + static_cast<std::size_t>(k)];
            if (u < acc) break;
          }
          picks[b].index[static_cast<std::size_t>(h)] = k;
          off += static_cast<std::size_t>(n);
        }
        configs[b] = space_.decode(picks[b]);
      }
      const std::vector<config_score> s = eval.score(backend, configs);
      std::vector<double> cost(s.size());
      iteration_log lg;
      lg.iteration = static_cast<int>(iterations_done());
      for (std::size_t b = 0; b < s.size(); ++b) {
        cost[b] = s[b].feasible ? s[b].cost : opt_.infeasible_cost;
        lg.infeasible += !s[b].feasible;
        if (s[b].feasible && (!res.best.feasible || s[b].cost < res.best.cost)) {
          res.best = s[b];
          res.best_choice = picks[b];
        }
      }
      res.evaluated += static_cast<std::int64_t>(s.size());
      res.infeasible += lg.infeasible;
      double mean = 0, var = 0;
      for (double c : cost) mean += c;
      mean /= static_cast<double>(cost.size());
      for (double c : cost) var += (c - mean) * (c - mean);
      const double sd = std::sqrt(var / static_cast<double>(cost.size()));
      // REINFORCE: d E[cost] = E[(cost - baseline) d log pi(a)], and d log pi(a) / d logits of
      // a head is onehot(a) - softmax.
      std::fill(dz.begin(), dz.end(), 0.0);
      if (sd > 1e-12) {
        for (std::size_t b = 0; b < picks.size(); ++b) {
          const double adv = (cost[b] - mean) / sd / static_cast<double>(picks.size());
          std::size_t off = 0;
          for (int h = 0; h < num_params; ++h) {
            const int n = heads_[static_cast<std::size_t>(h)];
            for (int k = 0; k < n; ++k) {
              const std::size_t i = off + static_cast<std::size_t>(k);
              const double onehot = k == picks[b].index[static_cast<std::size_t>(h)] ? 1.0 : 0.0;
              dz[i] += adv * (onehot - p[i]);
            }
            off += static_cast<std::size_t>(n);
          }
        }
      }
      if (opt_.entropy_weight > 0) {
        // d(-w H)/dz_k = w p_k (log p_k + H) per head, H = -sum p log p.
        std::size_t off = 0;
        for (int h = 0; h < num_params; ++h) {
          const int n = heads_[static_cast<std::size_t>(h)];
          double H = 0;
          for (int k = 0; k < n; ++k) {
            const double q = p[off + static_cast<std::size_t>(k)];
            if (q > 0) H -= q * std::log(q);
          }
          for (int k = 0; k < n; ++k) {
            const double q = p[off + static_cast<std::size_t>(k)];
            if (q > 0) dz[off + static_cast<std::size_t>(k)] += opt_.entropy_weight * q * (std::log(q) + H);
          }
          off += static_cast<std::size_t>(n);
        }
      }
      if (sd > 1e-12 || opt_.entropy_weight > 0) {
        adam_.zero_grad();
        net_->backward(x, dz);
        adam_.step();
      }
      lg.mean_cost = mean;
      lg.best_cost = res.best.feasible ? res.best.cost : std::numeric_limits<double>::infinity();
      for (double q : p)
        if (q > 0) lg.entropy -= q * std::log(q);
      res.history.push_back(lg);
      done_[0] += 1;
      if (log) *log << lg << std::endl;  // flushed: a long search shows its progress
    }
    return res;
  }

  /// Iterations run over every run() call (restored by state()).
  std::int64_t iterations_done() const { return static_cast<std::int64_t>(done_[0]); }
  const search_space& space() const { return space_; }
  const generator_options& options() const { return opt_; }
  const policy_mlp& policy() const { return *net_; }

  /// Everything needed to resume bit-exactly: the iteration count ("generator.iterations"), the
  /// policy's parameters ("policy.W1", ...), Adam's step count and moments ("adam.step",
  /// "adam.policy.W1.m", ...). The pointers stay valid while the generator lives; load a
  /// checkpoint into them to resume (the rng passed to run() is the caller's to keep).
  std::vector<named_tensor<double>> state() {
    std::vector<named_tensor<double>> st{{"generator.iterations", &done_}};
    for (parameter<double>* q : net_->parameters()) st.push_back({q->name, &q->value});
    for (named_tensor<double>& e : adam_.state()) st.push_back(std::move(e));
    return st;
  }

 private:
  static const search_space& checked(const search_space& space, const generator_options& opt) {
    validate(space);
    if (opt.iterations < 1) throw config_error("generator_options", "iterations", "must be >= 1");
    if (opt.batch < 2) throw config_error("generator_options", "batch", "must be >= 2");
    if (!(opt.learning_rate > 0)) throw config_error("generator_options", "learning_rate", "must be positive");
    return space;
  }
  static std::vector<int> head_sizes(const search_space& space) {
    const auto sizes = space.sizes();
    return {sizes.begin(), sizes.end()};
  }

  search_space space_;
  generator_options opt_;
  std::vector<int> heads_;
  std::unique_ptr<policy_mlp> net_;  // on the heap: adam_ points at its parameters
  optim::adam<double> adam_;
  tensor<double> done_;  // (1) iterations run, as a tensor so that checkpoints carry it
};

/// Runs the search once: generator(space, opt, gen).run(backend, eval, opt.iterations, gen, log).
/// Throws config_error for a malformed space or options.
template <class B>
requires batchtile::mapping_backend<B> generator_result generate(B backend, const search_space& space, const cost_evaluator& eval,
                                                                 const generator_options& opt, rng& gen, std::ostream* log = nullptr) {
  generator g(space, opt, gen);
  return g.run(backend, eval, opt.iterations, gen, log);
}

/// Scores every configuration of the space (for small spaces: the ground truth the generator
/// is tested against). Returns the best feasible one (the first in row-major order on ties)
/// and its choice; best.feasible is false if none is.
template <class B>
requires batchtile::mapping_backend<B> std::pair<config_score, choice> brute_force(B backend, const search_space& space,
                                                                                   const cost_evaluator& eval) {
  validate(space);
  const std::int64_t n = space.count();
  std::vector<hw::accel_config> configs;
  configs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) configs.push_back(space.decode(space.nth(k)));
  const std::vector<config_score> s = eval.score(backend, configs);
  std::pair<config_score, choice> best;
  for (std::int64_t k = 0; k < n; ++k) {
    const config_score& c = s[static_cast<std::size_t>(k)];
    if (c.feasible && (!best.first.feasible || c.cost < best.first.cost)) {
      best.first = c;
      best.second = space.nth(k);
    }
  }
  return best;
}

}  // namespace jaq::hwgen
