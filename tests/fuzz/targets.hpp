// tests/fuzz/targets.hpp: one entry per parser of what users write (layer CSV, accelerator JSON,
// presets, derived-arch JSON, CSV, bit lists, checkpoints, idx files, CIFAR-10 batches). Each takes arbitrary
// bytes and must end in one of two ways: the input parses (and what it gives is then used the
// way the programs use it), or a jaq::error (config_error, data_error, ...) naming the input.
// Anything else (another exception type, a crash, a sanitizer report) is a bug: the libFuzzer
// driver (tools/fuzz.sh) and the mutation test (fuzz_regression_test) both call these.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "jaq/autograd/checkpoint.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/data/cifar.hpp"
#include "jaq/data/idx.hpp"
#include "jaq/hw/accel_json.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer_csv.hpp"
#include "jaq/nas/search_model.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/report/json.hpp"
#include "jaq/search/preset.hpp"

namespace jaq_fuzz {

/// Runs `f`; a jaq::error is the expected answer to bad input, anything else propagates.
template <class F>
void expect_jaq_errors(F&& f) {
  try {
    f();
  } catch (const jaq::error&) {
  }
}

inline void layer_csv(std::string_view bytes) {
  expect_jaq_errors([&] {
    std::istringstream in{std::string(bytes)};
    const auto layers = jaq::hw::read_layers_csv(in, "fuzz.csv");
    for (const auto& l : layers) jaq::hw::validate(l, "fuzz.csv");
  });
}

inline void accel_json(std::string_view bytes) {
  expect_jaq_errors([&] {
    const jaq::hw::accel_config c = jaq::hw::parse_accel_json(std::string(bytes), "fuzz.json");
    (void)jaq::hw::area_of(c);
    (void)jaq::hw::to_accel_json(c).dump();
  });
}

inline void preset(std::string_view bytes) {
  expect_jaq_errors([&] {
    const nlohmann::json j = jaq::report::parse_json(bytes, "fuzz.json");
    for (auto v : {jaq::search::variant::normal, jaq::search::variant::quick, jaq::search::variant::long_run}) {
      const jaq::search::preset p = jaq::search::parse_preset(j, "fuzz.json", v);
      (void)p.space.blocks();
    }
  });
}

inline void csv(std::string_view bytes) {
  expect_jaq_errors([&] {
    const auto t = jaq::report::parse_csv(bytes, "fuzz.csv");
    (void)t;
  });
}

inline void bit_list(std::string_view bytes) {
  expect_jaq_errors([&] { (void)jaq::nas::parse_bits(std::string(bytes), "fuzz"); });
}

/// The readers that take a path get each input as this process's file for `tag`, rewritten per
/// input from `parts` (one file per target and process: no growth, no clash between workers).
inline std::filesystem::path input_file(const char* tag, std::initializer_list<std::string_view> parts) {
  static std::map<std::string, std::filesystem::path> paths;
  auto& path = paths[tag];
  if (path.empty()) path = std::filesystem::temp_directory_path() / ("jaq_fuzz_" + std::string(tag) + "_" + std::to_string(::getpid()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (std::string_view p : parts) out.write(p.data(), std::streamsize(p.size()));
  return path;
}

/// The checkpoint reader behind a valid checked-file header (magic, size, checksum), so the
/// bytes reach the entry parser rather than stopping at the checksum. The header is built here
/// rather than by write_checked_file, whose fsync and rename would cost more than the parse.
inline void checkpoint(std::string_view bytes) {
  jaq::detail::checked_header h{};
  std::memcpy(h.magic, jaq::checkpoint_format.magic.data(), jaq::checkpoint_format.magic.size());
  h.version = jaq::checkpoint_format.version;
  h.payload_bytes = bytes.size();
  h.checksum = jaq::detail::fnv1a64(bytes);
  const auto path = input_file("checkpoint", {std::string_view(reinterpret_cast<const char*>(&h), sizeof h), bytes});
  jaq::tensor<float> a(jaq::shape{2, 3}), b(jaq::shape{4});
  const std::vector<jaq::named_tensor<float>> entries{{"a", &a}, {"b", &b}};
  expect_jaq_errors([&] { jaq::load_checkpoint(path, entries); });
}

/// What the checkpoint target's bytes look like when valid: the payload save_checkpoint writes.
inline std::string checkpoint_seed() {
  const auto path = std::filesystem::temp_directory_path() / ("jaq_fuzz_seed_" + std::to_string(::getpid()) + ".jaqckpt");
  jaq::tensor<float> a(jaq::shape{2, 3}), b(jaq::shape{4});
  for (std::int64_t i = 0; i < a.size(); ++i) a[i] = float(i) - 2.5f;
  for (std::int64_t i = 0; i < b.size(); ++i) b[i] = float(i * i);
  jaq::save_checkpoint(path, std::vector<jaq::named_tensor<float>>{{"a", &a}, {"b", &b}});
  std::string all = jaq::read_file(path);
  std::filesystem::remove(path);
  return all.substr(sizeof(jaq::detail::checked_header));
}

inline void idx(std::string_view bytes) {
  const std::span<const std::uint8_t> b(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  expect_jaq_errors([&] { (void)jaq::data::detail::parse_idx("fuzz-images", b, 0x00000803u, "images"); });
  expect_jaq_errors([&] { (void)jaq::data::detail::parse_idx("fuzz-labels", b, 0x00000801u, "labels"); });
}

/// A CIFAR-10 binary batch (raw or gzip-compressed: the reader decompresses what starts with gzip's magic).
inline void cifar(std::string_view bytes) {
  const auto path = input_file("cifar", {bytes});
  expect_jaq_errors([&] {
    const auto ds = jaq::data::load_cifar10_files({path}, "fuzz-cifar");
    (void)ds.size();
  });
}

/// derived.json, read against the default preset's space (what `search` and `train --derived` read).
inline void derived(std::string_view bytes) {
  static const jaq::nas::space_config space = [] {
    jaq::search::preset p;
    p.space.name = "fuzz";
    return p.space;
  }();
  const auto path = input_file("derived", {bytes});
  expect_jaq_errors([&] { (void)jaq::search::read_derived_arch(path, space); });
}

/// Every target by name (the libFuzzer driver takes one with -DJAQ_FUZZ_TARGET).
inline const std::map<std::string, std::function<void(std::string_view)>>& all_targets() {
  static const std::map<std::string, std::function<void(std::string_view)>> t{
      {"layer_csv", layer_csv}, {"accel_json", accel_json}, {"preset", preset}, {"csv", csv},
      {"bit_list", bit_list},   {"checkpoint", checkpoint}, {"idx", idx},       {"cifar", cifar},
      {"derived", derived}};
  return t;
}

}  // namespace jaq_fuzz
