// jaq/autograd/checkpoint.hpp: saving and loading named tensors (model parameters, BatchNorm
// statistics, optimizer state) atomically, with clear errors for wrong or truncated files.
//
//   auto st = model.state();                       // std::vector<named_tensor<float>>
//   auto os = optimizer.state();
//   st.insert(st.end(), os.begin(), os.end());
//   jaq::save_checkpoint("runs/train/last.jaqckpt", st);
//   jaq::load_checkpoint("runs/train/last.jaqckpt", st);   // fills the same tensors
//
// The file is a jaq checked file (magic "JAQCKPT", version 1; header with size and checksum;
// temp file + rename): then the scalar size, the entry count, and per entry its name, shape and
// values. Loading requires exactly the same names and shapes, in any order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"

namespace jaq {

template <scalar T>
struct named_tensor {
  std::string name;
  tensor<T>* value = nullptr;
};

inline constexpr file_format checkpoint_format{.magic = "JAQCKPT", .version = 1};

template <scalar T>
void save_checkpoint(const std::filesystem::path& path, const std::vector<named_tensor<T>>& entries) {
  byte_writer w;
  w.put<std::uint32_t>(sizeof(T));
  w.put<std::uint64_t>(entries.size());
  for (const auto& e : entries) {
    w.put_string(e.name);
    const jaq::shape& s = e.value->shape();
    w.put<std::int32_t>(s.rank);
    for (int i = 0; i < s.rank; ++i) w.put<std::int64_t>(s[i]);
    w.put_vector(std::span<const T>(e.value->data(), static_cast<std::size_t>(e.value->size())));
  }
  write_checked_file(path, checkpoint_format, w.bytes());
}

/// Fills every entry's tensor from the file. data_error (naming the file and the entry) if the
/// file is not a checkpoint, is truncated or corrupt, has another scalar type, lacks an entry,
/// has an entry the caller did not ask for, or an entry's shape differs.
template <scalar T>
void load_checkpoint(const std::filesystem::path& path, const std::vector<named_tensor<T>>& entries) {
  byte_reader r = read_checked_file(path, checkpoint_format);
  const std::string file = path.string();
  const auto scalar_size = r.get<std::uint32_t>("scalar size");
  if (scalar_size != sizeof(T))
    throw data_error(file, "scalar size: expected " + std::to_string(sizeof(T)) + " bytes, found " + std::to_string(scalar_size));
  const auto count = r.get<std::uint64_t>("entry count");
  std::map<std::string, tensor<T>*> want;
  for (const auto& e : entries) want[e.name] = e.value;
  std::map<std::string, bool> seen;
  std::vector<std::pair<tensor<T>*, std::vector<T>>> staged;
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::string name = r.get_string("entry name");
    auto it = want.find(name);
    if (it == want.end()) throw data_error(file, "entry '" + name + "' is not part of this model/optimizer (wrong checkpoint?)");
    const auto rank = r.get<std::int32_t>("rank of " + name);
    if (rank < 0 || rank > jaq::shape::max_rank)
      throw data_error(file, "entry '" + name + "': rank " + std::to_string(rank) + " is invalid");
    jaq::shape s;
    s.rank = rank;
    for (int i = 0; i < rank; ++i) s[i] = r.get<std::int64_t>("shape of " + name);
    tensor<T>& dst = *it->second;
    if (!(s == dst.shape())) throw data_error(file, "entry '" + name + "': expected shape " + dst.shape().str() + ", found " + s.str());
    if (seen.count(name)) throw data_error(file, "entry '" + name + "' appears twice");
    seen[name] = true;
    staged.emplace_back(&dst, r.get_vector<T>("values of " + name, static_cast<std::size_t>(s.numel())));
  }
  r.expect_end();
  for (const auto& e : entries)
    if (!seen.count(e.name)) throw data_error(file, "entry '" + e.name + "' is missing");
  // Only a fully valid file changes anything.
  for (auto& [dst, values] : staged) std::copy(values.begin(), values.end(), dst->data());
}

}  // namespace jaq
