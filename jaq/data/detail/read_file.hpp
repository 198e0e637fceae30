// jaq/data/detail/read_file.hpp: read a whole file, gzip-compressed or not, into memory.
//
// zlib's gzread reads plain files transparently, so one path serves both. The buffer is sized
// from the gzip trailer (ISIZE: the uncompressed size mod 2^32) or the file size, is not
// zero-filled, and gzread inflates straight into it in one large call; it grows geometrically if
// the hint was short (multi-member or > 4 GiB files). A gzip stream that ends early (truncated
// download) is reported as a data_error naming the file.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "jaq/core/error.hpp"

namespace jaq::data::detail {

/// What read_all found: the (decompressed) bytes and whether the file was gzip-compressed.
struct file_bytes {
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t size = 0;
  bool compressed = false;

  std::span<const std::uint8_t> bytes() const { return {data.get(), size}; }
};

/// The uncompressed size a gzip file declares in its last four bytes; 0 if not gzip or unknown.
inline std::size_t gzip_size_hint(const std::string& name, std::uintmax_t on_disk) {
  if (on_disk < 18) return 0;  // smaller than an empty gzip member
  std::FILE* f = std::fopen(name.c_str(), "rb");
  if (f == nullptr) return 0;
  unsigned char head[2] = {}, tail[4] = {};
  const bool ok = std::fread(head, 1, 2, f) == 2 && std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4;
  std::fclose(f);
  if (!ok || head[0] != 0x1f || head[1] != 0x8b) return 0;
  return std::size_t{tail[0]} | (std::size_t{tail[1]} << 8) | (std::size_t{tail[2]} << 16) | (std::size_t{tail[3]} << 24);
}

/// dst[i] = src[i] / 255 (exactly, as a float division would give), through a 256-entry table.
inline void bytes_to_unit_float(const std::uint8_t* src, std::size_t n, float* dst) {
  float lut[256];
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<float>(v) / 255.0f;
  for (std::size_t i = 0; i < n; ++i) dst[i] = lut[src[i]];
}

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

  // One byte more than the hint, so that reading exactly the hint proves the end was reached.
  std::size_t cap = ec ? std::size_t{1} << 20 : gzip_size_hint(name, on_disk);
  // deflate expands at most about 1032:1, so a larger hint comes from a corrupt trailer.
  if (!ec && cap > static_cast<std::size_t>(on_disk) * 1040) cap = static_cast<std::size_t>(on_disk) * 4;
  if (cap == 0 && !ec) cap = static_cast<std::size_t>(on_disk);
  cap += 1;
  file_bytes out;
  out.data.reset(new std::uint8_t[cap]);  // default-initialised: no zero-fill
  std::size_t used = 0;
  constexpr unsigned chunk_max = 1u << 30;  // gzread takes an unsigned count
  for (;;) {
    if (used == cap) {
      const std::size_t bigger = cap * 2;
      std::unique_ptr<std::uint8_t[]> grown(new std::uint8_t[bigger]);
      std::memcpy(grown.get(), out.data.get(), used);
      out.data = std::move(grown);
      cap = bigger;
    }
    const std::size_t room = cap - used;
    const unsigned want = room > chunk_max ? chunk_max : static_cast<unsigned>(room);
    const int got = gzread(f, out.data.get() + used, want);
    if (got < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw data_error(name, "truncated or corrupt gzip data (" + msg + ")");
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
    throw data_error(name, "truncated or corrupt gzip file after " + std::to_string(used) + " decompressed bytes (" + msg + ")");
  }
  out.size = used;
  return out;
}

}  // namespace jaq::data::detail
