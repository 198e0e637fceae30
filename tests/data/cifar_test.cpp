#include "jaq/data/cifar.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/data/test_files.hpp"

namespace fs = std::filesystem;

namespace {

// n records; record i has label i % 10 and pixel k = (i + k) % 251.
std::vector<std::uint8_t> records(int n, int first = 0) {
  std::vector<std::uint8_t> b;
  for (int i = first; i < first + n; ++i) {
    b.push_back(static_cast<std::uint8_t>(i % 10));
    for (int k = 0; k < 3072; ++k) b.push_back(static_cast<std::uint8_t>((i + k) % 251));
  }
  return b;
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const jaq::data_error& e) {
    return e.what();
  }
  return "(no data_error thrown)";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cifar10: records become (3, 32, 32) images in channel-major order, labels first byte") {
  const auto dir = jaq::test::temp_dir("cifar_one");
  jaq::test::write_raw(dir / "b.bin", records(3));
  const auto ds = jaq::data::load_cifar10_files({dir / "b.bin"}, "tiny");
  REQUIRE(ds.size() == 3);
  CHECK(ds.shape == jaq::data::image_shape{.channels = 3, .height = 32, .width = 32});
  CHECK(ds.labels == std::vector<std::int32_t>{0, 1, 2});
  // Image 2, green channel (c = 1), row 5, column 7: byte k = 1024 + 5 * 32 + 7.
  const int k = 1024 + 5 * 32 + 7;
  CHECK(ds.image(2)[k] == static_cast<float>((2 + k) % 251) / 255.0f);
  CHECK(ds.image(0)[0] == 0.0f);
}

TEST_CASE("cifar10: a directory of five train batches and a test batch loads in order") {
  const auto dir = jaq::test::temp_dir("cifar_dir");
  for (int b = 1; b <= 5; ++b) jaq::test::write_raw(dir / ("data_batch_" + std::to_string(b) + ".bin"), records(2, 2 * (b - 1)));
  jaq::test::write_gz(dir / "test_batch.bin", records(4, 100));  // gzip accepted too
  const auto c = jaq::data::load_cifar10(dir);
  CHECK(c.train.size() == 10);
  CHECK(c.test.size() == 4);
  for (int i = 0; i < 10; ++i) CHECK(c.train.labels[i] == i % 10);
  CHECK(c.train.image(9)[3] == static_cast<float>((9 + 3) % 251) / 255.0f);
  CHECK(c.test.labels[0] == 0);  // record 100
  CHECK(c.test.image(1)[0] == static_cast<float>(101 % 251) / 255.0f);
}

TEST_CASE("cifar10: a file whose size is not a multiple of 3073 names the size") {
  const auto dir = jaq::test::temp_dir("cifar_size");
  auto b = records(2);
  b.pop_back();
  jaq::test::write_raw(dir / "bad.bin", b);
  const auto m = message_of([&] { jaq::data::load_cifar10_files({dir / "bad.bin"}, "x"); });
  CHECK(contains(m, (dir / "bad.bin").string()));
  CHECK(contains(m, "size 6145 bytes is not a positive multiple of the CIFAR-10 record size 3073"));
  jaq::test::write_raw(dir / "empty.bin", {});
  CHECK(contains(message_of([&] { jaq::data::load_cifar10_files({dir / "empty.bin"}, "x"); }), "size 0 bytes"));
}

TEST_CASE("cifar10: a label byte above 9 is rejected with its record number") {
  const auto dir = jaq::test::temp_dir("cifar_label");
  auto b = records(3);
  b[2 * 3073] = 200;
  jaq::test::write_raw(dir / "bad.bin", b);
  const auto m = message_of([&] { jaq::data::load_cifar10_files({dir / "bad.bin"}, "x"); });
  CHECK(contains(m, "record 2: label out of range: expected 0..9, found 200"));
}

TEST_CASE("cifar10: a missing directory or batch file is named") {
  const auto dir = jaq::test::temp_dir("cifar_missing");
  CHECK(contains(message_of([&] { jaq::data::load_cifar10(dir / "absent"); }), "data directory not found"));
  for (int b = 1; b <= 4; ++b) jaq::test::write_raw(dir / ("data_batch_" + std::to_string(b) + ".bin"), records(1));
  const auto m = message_of([&] { jaq::data::load_cifar10(dir); });
  CHECK(contains(m, (dir / "data_batch_5.bin").string()));
  CHECK(contains(m, "file not found"));
}
