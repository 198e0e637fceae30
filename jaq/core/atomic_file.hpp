// jaq/core/atomic_file.hpp: atomic file writes and checked binary files (checkpoints).
//
// write_file_atomic writes to a temporary file in the same directory, fsyncs it, renames it over
// the target and fsyncs the directory: a reader sees the old file or the new one, never half of
// one, even if the process dies mid-write. A checked file adds a header (magic, version, payload
// size, FNV-1a checksum) that read_checked_file verifies, so a wrong, truncated or corrupt file
// is a jaq::data_error naming the file and what was expected and found. byte_writer and
// byte_reader (de)serialise trivially copyable values in host byte order.
//
//   const jaq::file_format fmt{.magic = "JAQPARAM", .version = 1};
//   jaq::byte_writer w;
//   w.put<std::int64_t>(step);
//   w.put_vector<float>(weights);
//   jaq::write_checked_file("run/params.bin", fmt, w.bytes());
//
//   jaq::byte_reader r = jaq::read_checked_file("run/params.bin", fmt);
//   auto step = r.get<std::int64_t>("step");
//   auto weights = r.get_vector<float>("weights");
//   r.expect_end();
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq {

namespace detail {

inline std::string errno_text(int e) { return std::string(std::strerror(e)); }

/// FNV-1a, 64 bits: a cheap checksum that catches flipped or shifted bytes.
inline std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// Magic and sizes of a checked file's header, in host byte order.
struct checked_header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t reserved;
  std::uint64_t payload_bytes;
  std::uint64_t checksum;
};
static_assert(sizeof(checked_header) == 32, "checked file header must be 32 bytes");

inline std::string printable_magic(const char* m) {
  std::string s;
  for (int i = 0; i < 8 && m[i] != '\0'; ++i) {
    const unsigned char c = static_cast<unsigned char>(m[i]);
    if (c >= 32 && c < 127) {
      s += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    }
  }
  return s;
}

/// The file a path names once symbolic links are followed (the last link's target, which may
/// not exist yet); the path itself when it is no link. data_error on a loop.
inline std::filesystem::path link_target(const std::filesystem::path& given) {
  std::filesystem::path p = given;
  std::error_code ec;
  for (int hops = 0; std::filesystem::is_symlink(std::filesystem::symlink_status(p, ec)); ++hops) {
    if (hops == 40) throw data_error(given.string(), "too many levels of symbolic links");
    const std::filesystem::path t = std::filesystem::read_symlink(p, ec);
    if (ec) throw data_error(given.string(), "cannot read the symbolic link: " + ec.message());
    p = t.is_absolute() ? t : p.parent_path() / t;
  }
  return p;
}

/// The file that writing `given` replaces (its link target when it is a symbolic link); a
/// data_error naming `given` when something other than a regular file is there.
inline std::filesystem::path replaceable_file(const std::filesystem::path& given) {
  std::filesystem::path p = link_target(given);
  std::error_code ec;
  const auto st = std::filesystem::status(p, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    throw data_error(given.string(), "exists and is not a regular file (a folder, device, FIFO or socket): not replaced");
  return p;
}

}  // namespace detail

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
/// A symbolic link at `path` is written through: its target is replaced, the link stays. A path
/// that exists and is not a regular file (a folder, a device, a FIFO, a socket) is refused, never
/// replaced. Throws data_error naming the file if any step fails; the temporary file is removed then.
inline void write_file_atomic(const std::filesystem::path& given, std::string_view bytes) {
  const std::string name = given.string();
  const std::filesystem::path path = detail::replaceable_file(given);
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  const std::string target = path.string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw data_error(name, "cannot create a temporary file in " + dir.string() + ": " + detail::errno_text(errno));
  auto fail = [&](const std::string& step) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw data_error(name, step + ": " + detail::errno_text(e));
  };
  ::fchmod(fd, 0644);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ::ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw data_error(name, "cannot close: " + detail::errno_text(e));
  }
  if (::rename(tmpl.c_str(), target.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw data_error(name, "cannot rename the temporary file into place: " + detail::errno_text(e));
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir.string().c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// Makes sure `dir` is a folder this process can write into, creating it (and its parents) if
/// needed, before a program spends any time on work whose results go there. data_error naming
/// the folder otherwise (empty name, a file in the way, no permission, a read-only or pseudo
/// file system).
inline void prepare_output_dir(const std::filesystem::path& dir) {
  const std::string name = dir.string();
  if (name.empty()) throw data_error("output folder", "empty path");
  std::error_code ec;
  const auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) throw data_error(name, "exists and is not a folder");
  if (!std::filesystem::exists(st)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) throw data_error(name, "cannot create the output folder: " + ec.message());
  }
  std::string probe = (dir / ".jaq-write-test.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) throw data_error(name, "cannot write into the output folder: " + detail::errno_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

/// Checks, before the work, that write_file_atomic(path, ...) will be able to write the result:
/// its folder is prepared (prepare_output_dir) and what is at `path` now, if anything, is a
/// regular file or a link to one (or to nothing yet). data_error naming the file otherwise.
inline void check_output_file(const std::filesystem::path& path) {
  if (path.empty()) throw data_error("output file", "empty path");
  const std::filesystem::path real = detail::replaceable_file(path);
  prepare_output_dir(real.has_parent_path() ? real.parent_path() : std::filesystem::path("."));
}

/// Reads a whole file into a string; data_error if it is missing or unreadable.
inline std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw data_error(path.string(), "file not found");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw data_error(path.string(), "cannot open for reading");
  std::string s;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) s.reserve(static_cast<std::size_t>(size));
  s.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) throw data_error(path.string(), "read error");
  return s;
}

/// Appends trivially copyable values to a byte string.
class byte_writer {
 public:
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& v) { put_bytes(&v, sizeof(T)); }
  void put_bytes(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  /// A length (u64) then the characters.
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    put_bytes(s.data(), s.size());
  }
  /// A count (u64) then the elements.
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(std::span<const T> v) {
    put<std::uint64_t>(v.size());
    put_bytes(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(const std::vector<T>& v) { put_vector(std::span<const T>(v)); }

  const std::string& bytes() const { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

/// Reads back what a byte_writer wrote; running past the end is a data_error naming the file,
/// the item and the offset ("truncated").
class byte_reader {
 public:
  byte_reader(std::string file, std::string bytes) : file_(std::move(file)), bytes_(std::move(bytes)) {}

  template <class T>
  requires std::is_trivially_copyable_v<T> T get(std::string_view what) {
    T v;
    get_bytes(&v, sizeof(T), what);
    return v;
  }
  void get_bytes(void* p, std::size_t n, std::string_view what) {
    need(n, what);
    if (n != 0) std::memcpy(p, bytes_.data() + pos_, n);  // p may be null for n == 0 (an empty tensor)
    pos_ += n;
  }
  std::string get_string(std::string_view what) {
    const auto n = get<std::uint64_t>(what);
    need(n, what);
    std::string s = bytes_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  template <class T>
  requires std::is_trivially_copyable_v<T> std::vector<T> get_vector(std::string_view what) {
    const auto n = get<std::uint64_t>(what);
    if (n > remaining() / sizeof(T)) {
      throw data_error(file_, "truncated: reading " + std::string(what) + " at offset " + std::to_string(pos_) + " needs " +
                                  std::to_string(n) + " elements of " + std::to_string(sizeof(T)) + " bytes, only " +
                                  std::to_string(remaining()) + " bytes left");
    }
    std::vector<T> v(static_cast<std::size_t>(n));
    get_bytes(v.data(), v.size() * sizeof(T), what);
    return v;
  }
  /// Reads a vector and checks it has exactly `count` elements (e.g. a parameter's size).
  template <class T>
  requires std::is_trivially_copyable_v<T> std::vector<T> get_vector(std::string_view what, std::size_t count) {
    const std::size_t at = pos_;
    auto v = get_vector<T>(what);
    if (v.size() != count) {
      throw data_error(file_, std::string(what) + " at offset " + std::to_string(at) + ": expected " + std::to_string(count) +
                                  " elements, found " + std::to_string(v.size()));
    }
    return v;
  }
  /// data_error if bytes are left over (a file of a different layout).
  void expect_end() const {
    if (pos_ != bytes_.size()) {
      throw data_error(file_,
                       "unexpected trailing data: " + std::to_string(bytes_.size() - pos_) + " bytes after offset " + std::to_string(pos_));
    }
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t offset() const { return pos_; }
  const std::string& file() const { return file_; }

 private:
  void need(std::uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      throw data_error(file_, "truncated: reading " + std::string(what) + " at offset " + std::to_string(pos_) + " needs " +
                                  std::to_string(n) + " bytes, only " + std::to_string(remaining()) + " left");
    }
  }

  std::string file_;
  std::string bytes_;
  std::size_t pos_ = 0;
};

/// What a checked file must start with: up to 8 magic characters and a format version.
struct file_format {
  std::string_view magic = {};
  std::uint32_t version = 1;
};

/// Writes header + payload atomically.
inline void write_checked_file(const std::filesystem::path& path, const file_format& fmt, std::string_view payload) {
  if (fmt.magic.empty() || fmt.magic.size() > 8) {
    throw config_error(path.string(), "file_format.magic", "must be 1 to 8 characters, got '" + std::string(fmt.magic) + "'");
  }
  detail::checked_header h{};
  std::memcpy(h.magic, fmt.magic.data(), fmt.magic.size());
  h.version = fmt.version;
  h.payload_bytes = payload.size();
  h.checksum = detail::fnv1a64(payload);
  std::string all(reinterpret_cast<const char*>(&h), sizeof h);
  all.append(payload);
  write_file_atomic(path, all);
}

/// Reads a checked file, verifying magic, version, size and checksum; returns a reader over the
/// payload. Every failure is a data_error naming the file and the expected and found values.
inline byte_reader read_checked_file(const std::filesystem::path& path, const file_format& fmt) {
  const std::string name = path.string();
  std::string all = read_file(path);
  detail::checked_header h{};
  if (all.size() < sizeof h) {
    throw data_error(name,
                     "truncated: expected a " + std::to_string(sizeof h) + "-byte header, found " + std::to_string(all.size()) + " bytes");
  }
  std::memcpy(&h, all.data(), sizeof h);
  char want[8] = {};
  std::memcpy(want, fmt.magic.data(), fmt.magic.size() < 8 ? fmt.magic.size() : 8);
  if (std::memcmp(want, h.magic, 8) != 0) {
    throw data_error(name,
                     "wrong magic: expected '" + detail::printable_magic(want) + "', found '" + detail::printable_magic(h.magic) + "'");
  }
  if (h.version != fmt.version) {
    throw data_error(name, "unsupported version: expected " + std::to_string(fmt.version) + ", found " + std::to_string(h.version));
  }
  const std::uint64_t found = all.size() - sizeof h;
  if (found != h.payload_bytes) {
    throw data_error(name, std::string(found < h.payload_bytes ? "truncated" : "trailing data") + ": header declares " +
                               std::to_string(h.payload_bytes) + " payload bytes, found " + std::to_string(found));
  }
  all.erase(0, sizeof h);
  const std::uint64_t sum = detail::fnv1a64(all);
  if (sum != h.checksum) throw data_error(name, "corrupt: payload checksum does not match the header");
  return byte_reader(name, std::move(all));
}

}  // namespace jaq
