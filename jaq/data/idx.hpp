// jaq/data/idx.hpp: the idx format (MNIST, Fashion-MNIST), gzip-compressed or plain.
//
// An idx file is a big-endian header (magic number, then one 32-bit size per dimension) and
// unsigned bytes. Images have magic 2051 and dimensions (N, rows, cols); labels have magic 2049
// and dimension (N). Pixels come out scaled to [0, 1] as floats, (N, 1, rows, cols).
//
//   auto fm = jaq::data::load_fashion_mnist();          // /usr/share/datasets/fashion-mnist
//   auto ds = jaq::data::load_idx("imgs.gz", "labels.gz", {.rows = 28, .cols = 28});
//
// Every problem with the files is a jaq::data_error naming the file, what was expected and
// what was found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/data/dataset.hpp"
#include "jaq/data/detail/read_file.hpp"

namespace jaq::data {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

inline constexpr std::uint32_t idx_images_magic = 2051;  // 0x00000803: ubyte, 3 dimensions
inline constexpr std::uint32_t idx_labels_magic = 2049;  // 0x00000801: ubyte, 1 dimension

/// What load_idx expects; zero rows/cols accept any image size.
struct idx_spec {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  int num_classes = 10;   // labels must lie in [0, num_classes)
  std::string name = {};  // the dataset's name; defaults to the images file name
};

namespace detail {

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

/// An idx file's dimensions and the offset of its data.
struct idx_header {
  std::vector<std::int64_t> dims;
  std::size_t data_offset = 0;
  std::int64_t elements() const {
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

/// Checks the magic number and that the byte count matches the header exactly.
inline idx_header parse_idx(const std::string& file, std::span<const std::uint8_t> b, std::uint32_t magic, const char* what) {
  const int ndims = static_cast<int>(magic & 0xffu);
  const std::size_t header_bytes = 4 + 4 * static_cast<std::size_t>(ndims);
  if (b.size() < 4) {
    throw data_error(file, std::string("truncated: expected an idx ") + what + " header of " + std::to_string(header_bytes) +
                               " bytes, found " + std::to_string(b.size()) + " bytes");
  }
  const std::uint32_t found = read_be32(b.data());
  if (found != magic) {
    throw data_error(
        file, std::string("wrong magic number: expected ") + std::to_string(magic) + " (idx " + what + "), found " + std::to_string(found));
  }
  if (b.size() < header_bytes) {
    throw data_error(file, std::string("truncated: expected an idx ") + what + " header of " + std::to_string(header_bytes) +
                               " bytes, found " + std::to_string(b.size()) + " bytes");
  }
  idx_header h;
  h.data_offset = header_bytes;
  for (int d = 0; d < ndims; ++d) h.dims.push_back(read_be32(b.data() + 4 + 4 * d));
  std::string dims;
  for (auto d : h.dims) dims += (dims.empty() ? "" : "x") + std::to_string(d);
  // the element count, checked against the file before it can overflow (dims are < 2^32 each)
  std::uint64_t count = 1;
  for (auto d : h.dims) {
    if (d != 0 && count > (std::uint64_t(b.size()) + 1) / std::uint64_t(d) + 1) {
      throw data_error(file, std::string("truncated: header declares ") + what + " " + dims + ", more bytes than the file's " +
                                 std::to_string(b.size()));
    }
    count *= std::uint64_t(d);
  }
  const auto expected = static_cast<std::size_t>(count) + header_bytes;
  if (b.size() != expected) {
    throw data_error(file, std::string(b.size() < expected ? "truncated" : "trailing data") + ": header declares " + what + " " + dims +
                               ", expected " + std::to_string(expected) + " bytes, found " + std::to_string(b.size()) + " bytes");
  }
  return h;
}

/// `dir/base.gz`, else the uncompressed `dir/base`; data_error naming both if neither exists.
inline std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& base) {
  std::error_code ec;
  auto gz = dir / (base + ".gz");
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  auto raw = dir / base;
  if (std::filesystem::is_regular_file(raw, ec)) return raw;
  throw data_error(gz.string(), "file not found (nor the uncompressed " + raw.string() + ")");
}

}  // namespace detail

/// Loads an idx image file and its label file into a dataset; pixels scaled to [0, 1].
inline dataset load_idx(const std::filesystem::path& images_file, const std::filesystem::path& labels_file, const idx_spec& spec = {}) {
  const std::string ifile = images_file.string(), lfile = labels_file.string();
  const auto ib = detail::read_all(images_file);
  const auto ih = detail::parse_idx(ifile, ib.bytes(), idx_images_magic, "images");
  const std::int64_t n = ih.dims[0], rows = ih.dims[1], cols = ih.dims[2];
  if ((spec.rows != 0 && rows != spec.rows) || (spec.cols != 0 && cols != spec.cols)) {
    throw data_error(ifile, "wrong image size: expected " + std::to_string(spec.rows) + "x" + std::to_string(spec.cols) + ", found " +
                                std::to_string(rows) + "x" + std::to_string(cols));
  }
  const auto lb = detail::read_all(labels_file);
  const auto lh = detail::parse_idx(lfile, lb.bytes(), idx_labels_magic, "labels");
  if (lh.dims[0] != n) {
    throw data_error(lfile, "label count does not match: expected " + std::to_string(n) + " labels (the image count of " + ifile +
                                "), found " + std::to_string(lh.dims[0]));
  }

  dataset ds;
  ds.name = spec.name.empty() ? images_file.filename().string() : spec.name;
  ds.shape = {.channels = 1, .height = rows, .width = cols};
  ds.num_classes = spec.num_classes;
  ds.labels.resize(static_cast<std::size_t>(n));
  const std::uint8_t* lab = lb.data.get() + lh.data_offset;
  for (std::int64_t i = 0; i < n; ++i) {
    if (lab[i] >= spec.num_classes) {
      throw data_error(lfile, "label " + std::to_string(i) + " out of range: expected 0.." + std::to_string(spec.num_classes - 1) +
                                  ", found " + std::to_string(lab[i]));
    }
    ds.labels[static_cast<std::size_t>(i)] = lab[i];
  }
  const std::size_t total = static_cast<std::size_t>(n * rows * cols);
  ds.images.resize(total);
  const std::uint8_t* px = ib.data.get() + ih.data_offset;
  detail::bytes_to_unit_float(px, total, ds.images.data());
  return ds;
}

/// Loads Fashion-MNIST (train 60000, test 10000, 28x28, 10 classes) from `dir`, which holds
/// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
/// t10k-labels-idx1-ubyte.gz (or the same names uncompressed).
inline split load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw data_error(dir.string(), "is a file, not a folder (give the folder holding the Fashion-MNIST idx files)");
  if (!std::filesystem::is_directory(dir, ec)) {
    throw data_error(dir.string(),
                     "data directory not found (expected the Fashion-MNIST idx files, e.g. "
                     "train-images-idx3-ubyte.gz; Debian package dataset-fashion-mnist)");
  }
  const idx_spec train_spec{.rows = 28, .cols = 28, .num_classes = 10, .name = "fashion-mnist/train"};
  const idx_spec test_spec{.rows = 28, .cols = 28, .num_classes = 10, .name = "fashion-mnist/test"};
  // Look for all four files first (in a fixed order), so a missing one is reported before
  // any large file is read.
  const auto train_images = detail::find_idx_file(dir, "train-images-idx3-ubyte");
  const auto train_labels = detail::find_idx_file(dir, "train-labels-idx1-ubyte");
  const auto test_images = detail::find_idx_file(dir, "t10k-images-idx3-ubyte");
  const auto test_labels = detail::find_idx_file(dir, "t10k-labels-idx1-ubyte");
  split s;
  s.train = load_idx(train_images, train_labels, train_spec);
  s.test = load_idx(test_images, test_labels, test_spec);
  return s;
}

}  // namespace jaq::data
