// jaq/search/preset.hpp: a joint-search preset: one JSON file holding the space, the search
// settings and the retraining settings (every field documented in docs/search.md), with
// `quick` and `long` sections that override fields for short smoke runs and long runs.
//
// Every field is optional (the defaults of space_config, search_settings and retrain_settings
// apply); an unknown field, a wrong type or a bad value is a config_error naming the file and the
// field ("presets/fmnist.json: space.stage_channels[1]: must be >= 1, got -4").
//
//   jaq::search::preset p = jaq::search::read_preset("examples/presets/fmnist.json", jaq::search::variant::quick);
//   jaq::search::joint_search js(p.space, p.search, &train);
#pragma once

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "jaq/core/error.hpp"
#include "jaq/nas/space.hpp"
#include "jaq/report/json.hpp"
#include "jaq/search/joint_search.hpp"
#include "jaq/search/retrain.hpp"

namespace jaq::search {

struct preset {
  std::string name;
  std::string description;
  std::string dataset = "fashion-mnist";  ///< fashion-mnist | cifar10 | imagenet
  nas::space_config space;
  search_settings search;
  retrain_settings retrain;
};

enum class variant { normal, quick, long_run };

namespace detail {

/// Reads the fields of one JSON object into targets, refusing unknown names.
class field_reader {
 public:
  field_reader(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw config_error(where_, "", "expected a JSON object, got " + std::string(j_.type_name()));
  }
  template <class T>
  void get(const char* name, T& out) {
    seen_.insert(name);
    const auto it = j_.find(name);
    if (it == j_.end()) return;
    out = report::json_get<T>(j_, name, where_);  // the one typed read: a value that does not fit T is refused
  }
  /// A number where "inf" (or a missing field) means no limit.
  void get_limit(const char* name, double& out) {
    seen_.insert(name);
    const auto it = j_.find(name);
    if (it == j_.end()) return;
    if (it->is_string() && it->get<std::string>() == "inf") {
      out = std::numeric_limits<double>::infinity();
      return;
    }
    get(name, out);
  }
  const nlohmann::json* object(const char* name) {
    seen_.insert(name);
    const auto it = j_.find(name);
    return it == j_.end() ? nullptr : &*it;
  }
  /// Throws for a field no get() asked for.
  void finish() const {
    for (const auto& [k, v] : j_.items())
      if (!seen_.count(k)) throw config_error(where_, k, "unknown field (a typo?)");
  }
  std::string where(const std::string& sub) const { return where_ + ": " + sub; }

 private:
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> seen_;
};

inline void read_space(const nlohmann::json& j, const std::string& where, nas::space_config& s) {
  field_reader r(j, where);
  r.get("in_channels", s.in_channels);
  r.get("image_size", s.image_size);
  r.get("classes", s.classes);
  r.get("stem_channels", s.stem_channels);
  r.get("stem_stride", s.stem_stride);
  r.get("stage_channels", s.stage_channels);
  r.get("stage_blocks", s.stage_blocks);
  r.get("stage_strides", s.stage_strides);
  r.get("head_channels", s.head_channels);
  r.get("ops", s.ops);
  r.get("bits", s.bits);
  r.get("fixed_bits", s.fixed_bits);
  r.get("separate_wa", s.separate_wa);
  r.finish();
}

inline void read_search(const nlohmann::json& j, const std::string& where, search_settings& s) {
  field_reader r(j, where);
  std::string mode = mode_name(s.mode);
  r.get("mode", mode);
  s.mode = parse_mode(mode, where);
  r.get("lambda_flops", s.lambda_flops);
  r.get("uniform_bits", s.uniform_bits);
  r.get("warmup_epochs", s.warmup_epochs);
  r.get("epochs", s.epochs);
  r.get("batch", s.batch);
  r.get("search_images", s.search_images);
  r.get("lr", s.lr);
  r.get("momentum", s.momentum);
  r.get("weight_decay", s.weight_decay);
  r.get("arch_lr", s.arch_lr);
  r.get("arch_beta1", s.arch_beta1);
  r.get("arch_beta2", s.arch_beta2);
  r.get("csq", s.csq_percent);
  if (const auto* t = r.object("tau")) {
    field_reader tr(*t, r.where("tau"));
    tr.get("initial", s.tau.initial);
    tr.get("decay", s.tau.decay);
    tr.get("minimum", s.tau.minimum);
    tr.finish();
  }
  r.get("lambda_latency", s.lambdas.lambda_latency);
  r.get("lambda_energy", s.lambdas.lambda_energy);
  r.get("lambda_area", s.lambdas.lambda_area);
  r.get("latency_budget_ms", s.latency_budget_ms);
  r.get_limit("area_budget_mm2", s.area_budget_mm2);
  r.get("hw_batch", s.hw_batch);
  r.get("hw_every", s.hw_every);
  r.get("hwgen_iterations", s.hwgen_iterations);
  r.get("final_hwgen_iterations", s.final_hwgen_iterations);
  r.get("hwgen_batch", s.hwgen.batch);
  r.get("hwgen_lr", s.hwgen.learning_rate);
  r.get("eval_images", s.eval_images);
  r.get("report_every", s.report_every);
  r.finish();
}

inline void read_retrain(const nlohmann::json& j, const std::string& where, retrain_settings& s) {
  field_reader r(j, where);
  r.get("epochs", s.epochs);
  r.get("fp_epochs", s.fp_epochs);
  r.get("batch", s.batch);
  r.get("lr", s.lr);
  r.get("momentum", s.momentum);
  r.get("weight_decay", s.weight_decay);
  r.get("report_every", s.report_every);
  r.get("train_images", s.train_images);
  r.get("test_images", s.test_images);
  r.get("epoch_test_images", s.epoch_test_images);
  r.get("augment_pad", s.augment.pad);
  r.get("augment_flip", s.augment.horizontal_flip);
  r.finish();
}

inline void read_sections(const nlohmann::json& j, const std::string& where, preset& p, bool top) {
  field_reader r(j, where);
  if (top) {
    r.get("name", p.name);
    r.get("description", p.description);
    r.get("dataset", p.dataset);
    r.object("quick");
    r.object("long");
  }
  if (const auto* s = r.object("space")) read_space(*s, r.where("space"), p.space);
  if (const auto* s = r.object("search")) read_search(*s, r.where("search"), p.search);
  if (const auto* s = r.object("retrain")) read_retrain(*s, r.where("retrain"), p.retrain);
  r.finish();
}

}  // namespace detail

/// Parses a preset's text; `source` names it in errors.
inline preset parse_preset(const nlohmann::json& j, const std::string& source, variant v = variant::normal) {
  preset p;
  detail::read_sections(j, source, p, true);
  if (v != variant::normal) {
    const char* key = v == variant::quick ? "quick" : "long";
    if (const auto it = j.find(key); it != j.end()) detail::read_sections(*it, source + ": " + key, p, false);
  }
  if (p.name.empty()) throw config_error(source, "name", "missing (every preset names itself)");
  if (p.dataset != "fashion-mnist" && p.dataset != "cifar10" && p.dataset != "imagenet")
    throw config_error(source, "dataset", "'" + p.dataset + "' (fashion-mnist, cifar10 or imagenet)");
  p.space.name = p.name;
  p.space.validate(source + ": space");
  p.search.validate(source + ": search");
  p.retrain.validate(source + ": retrain");
  return p;
}

/// Reads a preset file (errors name the file).
inline preset read_preset(const std::filesystem::path& path, variant v = variant::normal) {
  return parse_preset(report::read_json(path), path.string(), v);
}

/// The space as JSON (result.json, checkpoints' identity).
inline nlohmann::json to_json(const nas::space_config& s) {
  return {{"name", s.name},
          {"in_channels", s.in_channels},
          {"image_size", s.image_size},
          {"classes", s.classes},
          {"stem_channels", s.stem_channels},
          {"stem_stride", s.stem_stride},
          {"stage_channels", s.stage_channels},
          {"stage_blocks", s.stage_blocks},
          {"stage_strides", s.stage_strides},
          {"head_channels", s.head_channels},
          {"ops", s.ops},
          {"bits", s.bits},
          {"fixed_bits", s.fixed_bits},
          {"separate_wa", s.separate_wa}};
}

/// A derived network as derived.json: {"space": ..., "blocks": [{"op": ..., "bits": ...}]}, each
/// block with "act_bits" too when weights and activations chose their widths apart.
inline nlohmann::json to_json(const nas::space_config& s, const nas::derived_arch& d) {
  nlohmann::json j{{"space", to_json(s)}, {"blocks", nlohmann::json::array()}};
  for (std::size_t i = 0; i < d.ops.size(); ++i) {
    nlohmann::json b{{"op", d.ops[i]}, {"bits", d.bits[i]}};
    if (!d.act_bits.empty()) b["act_bits"] = d.act_bits[i];
    j["blocks"].push_back(b);
  }
  return j;
}

/// Reads derived.json back (errors name the file and the field); checks it against `s`.
inline nas::derived_arch read_derived_arch(const std::filesystem::path& path, const nas::space_config& s) {
  const nlohmann::json j = report::read_json(path);
  const std::string src = path.string();
  const auto blocks = report::json_get<nlohmann::json>(j, "blocks", src);
  if (!blocks.is_array()) throw config_error(src, "blocks", "expected an array");
  nas::derived_arch d;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string where = src + ": blocks[" + std::to_string(i) + "]";
    d.ops.push_back(report::json_get<std::string>(blocks[i], "op", where));
    d.bits.push_back(report::json_get<int>(blocks[i], "bits", where));
    const bool act = blocks[i].is_object() && blocks[i].contains("act_bits");
    if (i > 0 && act != !d.act_bits.empty())  // all blocks or none
      throw config_error(where, "act_bits", "given for some blocks and not others");
    if (act) d.act_bits.push_back(report::json_get<int>(blocks[i], "act_bits", where));
  }
  d.validate(s, src);
  return d;
}

}  // namespace jaq::search
