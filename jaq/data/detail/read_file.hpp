// jaq/data/detail/read_file.hpp: read a whole file, gzip-compressed or not, into memory.
//
// zlib's gzread reads plain files transparently, so one path serves both; the file is read in
// large chunks into a buffer sized from the first guess and grown geometrically. A gzip stream
// that ends early (truncated download) is reported as a data_error naming the file.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq::data::detail {

/// What read_all found: the decompressed bytes and whether the file was gzip-compressed.
struct file_bytes {
  std::vector<std::uint8_t> bytes;
  bool compressed = false;
};

/// Reads all of `path` (gzip or plain). Throws data_error if it is missing, unreadable, or a
/// gzip stream that is truncated or corrupt.
inline file_bytes read_all(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw data_error(name, "file not found");
  if (std::filesystem::is_directory(path, ec)) throw data_error(name, "expected a file, found a directory");
  const auto on_disk = std::filesystem::file_size(path, ec);

  gzFile f = gzopen(name.c_str(), "rb");
  if (f == nullptr) throw data_error(name, "cannot open for reading");
  gzbuffer(f, 1u << 20);

  file_bytes out;
  // A guess at the decompressed size: gzip idx files compress about 2-6x.
  std::size_t cap = ec ? std::size_t{1} << 20 : static_cast<std::size_t>(on_disk) * 4 + 4096;
  out.bytes.resize(cap);
  std::size_t used = 0;
  constexpr unsigned chunk_max = 1u << 30;  // gzread takes an unsigned count
  for (;;) {
    if (used == out.bytes.size()) out.bytes.resize(out.bytes.size() * 2);
    const std::size_t room = out.bytes.size() - used;
    const unsigned want = room > chunk_max ? chunk_max : static_cast<unsigned>(room);
    const int got = gzread(f, out.bytes.data() + used, want);
    if (got < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw data_error(name, "corrupt or truncated gzip data (" + msg + ")");
    }
    used += static_cast<std::size_t>(got);
    if (static_cast<unsigned>(got) < want) break;
  }
  // A stream cut short inside the deflate data or its trailer ends with Z_BUF_ERROR.
  int code = Z_OK;
  const std::string msg = gzerror(f, &code);
  out.compressed = gzdirect(f) == 0;
  gzclose(f);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw data_error(name, "truncated or corrupt gzip file after " + std::to_string(used) +
                               " decompressed bytes (" + msg + ")");
  }
  out.bytes.resize(used);
  return out;
}

}  // namespace jaq::data::detail
