#include "jaq/core/atomic_file.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  fs::path base = t ? fs::path(t) : fs::temp_directory_path();
  auto dir = base / ("jaq_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
std::string message_of(auto&& f) {
  try {
    f();
  } catch (const jaq::error& e) {
    return e.what();
  }
  return "(no jaq::error thrown)";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const jaq::file_format fmt{.magic = "JAQTEST", .version = 3};

std::string sample_payload() {
  jaq::byte_writer w;
  w.put<std::int64_t>(-42);
  w.put<double>(2.5);
  w.put_string("conv1.weight");
  w.put_vector(std::vector<float>{1.0f, -2.0f, 3.5f});
  return w.take();
}
}  // namespace

TEST_CASE("atomic_file: write_file_atomic replaces the file and leaves no temporary behind") {
  const auto dir = temp_dir("atomic_replace");
  const auto p = dir / "out.txt";
  jaq::write_file_atomic(p, "first");
  CHECK(jaq::read_file(p) == "first");
  jaq::write_file_atomic(p, std::string(100000, 'x'));
  CHECK(jaq::read_file(p) == std::string(100000, 'x'));
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("atomic_file: writing into a missing directory is a data_error naming the file") {
  const auto dir = temp_dir("atomic_nodir");
  const auto p = dir / "absent" / "out.bin";
  const auto m = message_of([&] { jaq::write_file_atomic(p, "x"); });
  CHECK(contains(m, p.string()));
  CHECK(contains(m, "cannot create a temporary file"));
}

TEST_CASE("atomic_file: a checked file round-trips values, strings and vectors") {
  const auto dir = temp_dir("atomic_roundtrip");
  const auto p = dir / "ckpt.bin";
  jaq::write_checked_file(p, fmt, sample_payload());
  auto r = jaq::read_checked_file(p, fmt);
  CHECK(r.get<std::int64_t>("step") == -42);
  CHECK(r.get<double>("lr") == 2.5);
  CHECK(r.get_string("name") == "conv1.weight");
  CHECK(r.get_vector<float>("weights", 3) == std::vector<float>{1.0f, -2.0f, 3.5f});
  CHECK(r.remaining() == 0);
  r.expect_end();
}

TEST_CASE("atomic_file: a truncated checked file says how many bytes were declared and found") {
  const auto dir = temp_dir("atomic_trunc");
  const auto p = dir / "ckpt.bin";
  jaq::write_checked_file(p, fmt, sample_payload());
  const auto full = fs::file_size(p);
  fs::resize_file(p, full - 5);
  const auto m = message_of([&] { jaq::read_checked_file(p, fmt); });
  CHECK(contains(m, p.string()));
  CHECK(contains(m, "truncated: header declares " + std::to_string(full - 32) + " payload bytes, found " + std::to_string(full - 37)));
  fs::resize_file(p, 10);
  CHECK(contains(message_of([&] { jaq::read_checked_file(p, fmt); }), "truncated: expected a 32-byte header, found 10 bytes"));
}

TEST_CASE("atomic_file: wrong magic, wrong version and a flipped byte are each reported") {
  const auto dir = temp_dir("atomic_bad");
  const auto p = dir / "ckpt.bin";
  jaq::write_checked_file(p, fmt, sample_payload());
  CHECK(contains(message_of([&] { jaq::read_checked_file(p, {.magic = "JAQOPT", .version = 3}); }),
                 "wrong magic: expected 'JAQOPT', found 'JAQTEST'"));
  CHECK(contains(message_of([&] { jaq::read_checked_file(p, {.magic = "JAQTEST", .version = 4}); }),
                 "unsupported version: expected 4, found 3"));
  auto bytes = jaq::read_file(p);
  bytes[40] ^= 0x10;
  jaq::write_file_atomic(p, bytes);
  CHECK(contains(message_of([&] { jaq::read_checked_file(p, fmt); }), "corrupt: payload checksum"));
  CHECK(contains(message_of([&] { jaq::read_checked_file(dir / "none.bin", fmt); }), "file not found"));
}

TEST_CASE("atomic_file: byte_reader names the item it could not read, and leftover bytes") {
  jaq::byte_reader r("f.bin", sample_payload());
  r.get<std::int64_t>("step");
  CHECK_THROWS_WITH(r.get_vector<float>("lr as vector"), doctest::Contains("f.bin: truncated: reading lr as vector at offset 16"));
  jaq::byte_reader r2("f.bin", sample_payload());
  r2.get<std::int64_t>("step");
  r2.get<double>("lr");
  r2.get_string("name");
  CHECK_THROWS_WITH(r2.get_vector<float>("weights", 4), "f.bin: weights at offset 36: expected 4 elements, found 3");
  jaq::byte_reader r3("f.bin", sample_payload());
  r3.get<std::int64_t>("step");
  CHECK_THROWS_WITH(r3.expect_end(), doctest::Contains("unexpected trailing data"));
}

TEST_CASE("atomic_file: a magic longer than 8 characters is a config_error") {
  const auto dir = temp_dir("atomic_magic");
  CHECK_THROWS_AS(jaq::write_checked_file(dir / "x", {.magic = "TOO_LONG_MAGIC"}, "p"), jaq::config_error);
}

TEST_CASE("atomic_file: a symbolic link is written through; a folder, FIFO or device is refused, not replaced") {
  const auto dir = temp_dir("atomic_kinds");
  const auto target = dir / "real.json";
  jaq::write_file_atomic(target, "old");
  const auto link = dir / "link.json";
  fs::create_symlink("real.json", link);  // relative, as users make them
  jaq::write_file_atomic(link, "new");
  CHECK(fs::is_symlink(fs::symlink_status(link)));  // the link stays a link
  CHECK(jaq::read_file(target) == "new");           // its target got the bytes
  const auto dangling = dir / "dangling.json";
  fs::create_symlink(dir / "made_later.json", dangling);
  jaq::write_file_atomic(dangling, "born");
  CHECK(fs::is_symlink(fs::symlink_status(dangling)));
  CHECK(jaq::read_file(dir / "made_later.json") == "born");

  const auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  CHECK(contains(message_of([&] { jaq::write_file_atomic(fifo, "x"); }), "is not a regular file"));
  CHECK(fs::is_fifo(fifo));
  CHECK(contains(message_of([&] { jaq::write_file_atomic(dir, "x"); }), "is not a regular file"));
  CHECK(contains(message_of([&] { jaq::write_file_atomic("/dev/null", "x"); }), "is not a regular file"));
  CHECK(fs::is_character_file("/dev/null"));
  CHECK(contains(message_of([&] { jaq::check_output_file(fifo); }), "is not a regular file"));
  jaq::check_output_file(link);  // a link to a regular file is fine
}

TEST_CASE("atomic_file: prepare_output_dir creates the folder, or names why it cannot") {
  const auto dir = temp_dir("atomic_outdir");
  jaq::prepare_output_dir(dir / "a" / "b");
  CHECK(fs::is_directory(dir / "a" / "b"));
  CHECK(fs::is_empty(dir / "a" / "b"));  // the write probe is gone
  jaq::write_file_atomic(dir / "file", "x");
  CHECK(contains(message_of([&] { jaq::prepare_output_dir(dir / "file"); }), "exists and is not a folder"));
  CHECK(contains(message_of([&] { jaq::prepare_output_dir(dir / "file" / "sub"); }), "cannot create the output folder"));
  CHECK(contains(message_of([&] { jaq::prepare_output_dir(""); }), "empty path"));
  CHECK(contains(message_of([&] { jaq::prepare_output_dir("/proc/jaq_no_such_dir"); }), "/proc/jaq_no_such_dir"));
}
