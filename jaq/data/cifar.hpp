// jaq/data/cifar.hpp: the CIFAR-10 binary format (data_batch_1..5.bin, test_batch.bin).
//
// Each file is a run of 3073-byte records: one label byte (0..9), then 3072 pixel bytes in
// channel-major order (1024 red, 1024 green, 1024 blue; each 32x32 row-major), which is exactly
// (C, H, W). Pixels come out scaled to [0, 1]. Files may also be gzip-compressed.
//
//   auto c = jaq::data::load_cifar10("/data/cifar-10-batches-bin");  // c.train: 50000, c.test: 10000
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/data/detail/read_file.hpp"

namespace jaq::data {

inline constexpr std::int64_t cifar10_record_bytes = 1 + 3 * 32 * 32;  // 3073

/// Loads one or more CIFAR-10 binary files, in order, into one dataset named `name`.
inline dataset load_cifar10_files(const std::vector<std::filesystem::path>& files, const std::string& name) {
  dataset ds;
  ds.name = name;
  ds.shape = {.channels = 3, .height = 32, .width = 32};
  ds.num_classes = 10;
  constexpr auto rec = static_cast<std::size_t>(cifar10_record_bytes);
  for (const auto& path : files) {
    const std::string file = path.string();
    const auto file_data = detail::read_all(path);
    const auto b = file_data.bytes();
    if (b.empty() || b.size() % rec != 0) {
      throw data_error(file, "size " + std::to_string(b.size()) + " bytes is not a positive multiple of the CIFAR-10 record size " +
                                 std::to_string(rec) + " (1 label byte + 3072 pixel bytes)");
    }
    const std::size_t n = b.size() / rec;
    const std::size_t first = ds.labels.size();
    ds.labels.resize(first + n);
    ds.images.resize((first + n) * (rec - 1));
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* r = b.data() + i * rec;
      if (r[0] >= 10) {
        throw data_error(file, "record " + std::to_string(i) + ": label out of range: expected 0..9, found " + std::to_string(r[0]));
      }
      ds.labels[first + i] = r[0];
      float* dst = ds.images.data() + (first + i) * (rec - 1);
      detail::bytes_to_unit_float(r + 1, rec - 1, dst);
    }
  }
  return ds;
}

/// Loads CIFAR-10 from `dir`: data_batch_1..5.bin as train, test_batch.bin as test.
inline split load_cifar10(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw data_error(dir.string(),
                     "data directory not found (expected the CIFAR-10 binary files "
                     "data_batch_1.bin .. data_batch_5.bin and test_batch.bin)");
  }
  auto need = [&](const std::string& base) {
    auto p = dir / base;
    if (!std::filesystem::is_regular_file(p, ec)) throw data_error(p.string(), "file not found");
    return p;
  };
  std::vector<std::filesystem::path> train;
  for (int i = 1; i <= 5; ++i) train.push_back(need("data_batch_" + std::to_string(i) + ".bin"));
  const auto test = need("test_batch.bin");
  return {.train = load_cifar10_files(train, "cifar10/train"), .test = load_cifar10_files({test}, "cifar10/test")};
}

}  // namespace jaq::data
