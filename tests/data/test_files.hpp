// tests/data/test_files.hpp: writes small idx / CIFAR files for the loader tests.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace jaq::test {

/// A fresh directory under $TEST_TMPDIR (Bazel) or the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  std::filesystem::path base = t ? std::filesystem::path(t) : std::filesystem::temp_directory_path();
  auto dir = base / ("jaq_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 24));
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

/// idx image bytes: magic 2051, (n, rows, cols), then pixels.
inline std::vector<std::uint8_t> idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                                            const std::vector<std::uint8_t>& pixels, std::uint32_t magic = 2051) {
  std::vector<std::uint8_t> b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

/// idx label bytes: magic 2049, (n), then labels.
inline std::vector<std::uint8_t> idx_labels(const std::vector<std::uint8_t>& labels, std::uint32_t magic = 2049) {
  std::vector<std::uint8_t> b;
  put_be32(b, magic);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

inline void write_raw(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline void write_gz(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  if (!b.empty()) gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

/// Appends a second gzip member (gzip readers concatenate members).
inline void append_gz_member(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  gzFile f = gzopen(p.string().c_str(), "ab");
  if (!b.empty()) gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

/// Cuts a file down to its first `keep` bytes.
inline void truncate_to(const std::filesystem::path& p, std::uintmax_t keep) { std::filesystem::resize_file(p, keep); }

}  // namespace jaq::test
