#include "jaq/data/idx.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/data/test_files.hpp"

namespace fs = std::filesystem;
using jaq::test::idx_images;
using jaq::test::idx_labels;

namespace {

// 5 images of 3 rows x 4 cols with pixel (n, r, c) = 12n + 4r + c, labels 0..4.
std::vector<std::uint8_t> pixels5() {
  std::vector<std::uint8_t> p(5 * 12);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 4);
  return p;
}
const std::vector<std::uint8_t> labels5 = {3, 0, 9, 1, 4};

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

TEST_CASE("idx: gzip and plain files load to the same pixels, scaled to [0, 1], and labels") {
  const auto dir = jaq::test::temp_dir("idx_roundtrip");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  jaq::test::write_raw(dir / "img", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_raw(dir / "lab", idx_labels(labels5));

  const auto gz = jaq::data::load_idx(dir / "img.gz", dir / "lab.gz");
  const auto raw = jaq::data::load_idx(dir / "img", dir / "lab");
  for (const auto* ds : {&gz, &raw}) {
    CHECK(ds->size() == 5);
    CHECK(ds->shape == jaq::data::image_shape{.channels = 1, .height = 3, .width = 4});
    CHECK(ds->num_classes == 10);
    REQUIRE(ds->images.size() == 60);
    const auto p = pixels5();
    for (std::size_t i = 0; i < 60; ++i) CHECK(ds->images[i] == static_cast<float>(p[i]) / 255.0f);
    CHECK(ds->labels == std::vector<std::int32_t>{3, 0, 9, 1, 4});
  }
  CHECK(gz.image(2)[5] == raw.image(2)[5]);
  CHECK(gz.name == "img.gz");
}

TEST_CASE("idx: a multi-member gzip file is read whole (the size hint is short: buffer growth)") {
  // The gzip trailer of the last member gives only that member's size, so the loader's first
  // buffer is far too small and must grow.
  const auto dir = jaq::test::temp_dir("idx_large");
  const std::uint32_t n = 3000;
  std::vector<std::uint8_t> px(n * 28 * 28, 7), lab(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    px[i * 784 + i % 784] = static_cast<std::uint8_t>(i);
    lab[i] = static_cast<std::uint8_t>(i % 10);
  }
  const auto all = idx_images(n, 28, 28, px);
  const std::size_t cut = all.size() - 1000;
  jaq::test::write_gz(dir / "img.gz", {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut)});
  jaq::test::append_gz_member(dir / "img.gz", {all.begin() + static_cast<std::ptrdiff_t>(cut), all.end()});
  jaq::test::write_gz(dir / "lab.gz", idx_labels(lab));
  REQUIRE(jaq::data::detail::gzip_size_hint((dir / "img.gz").string(), fs::file_size(dir / "img.gz")) == 1000);
  const auto ds = jaq::data::load_idx(dir / "img.gz", dir / "lab.gz", {.rows = 28, .cols = 28});
  REQUIRE(ds.size() == n);
  for (std::uint32_t i = 0; i < n; i += 37) {
    CHECK(ds.image(i)[i % 784] == static_cast<float>(static_cast<std::uint8_t>(i)) / 255.0f);
    CHECK(ds.image(i)[(i + 1) % 784] == 7.0f / 255.0f);
    CHECK(ds.labels[i] == static_cast<std::int32_t>(i % 10));
  }
}

TEST_CASE("idx: a missing file names the file") {
  const auto dir = jaq::test::temp_dir("idx_missing");
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  const auto m = message_of([&] { jaq::data::load_idx(dir / "nope.gz", dir / "lab.gz"); });
  CHECK(contains(m, (dir / "nope.gz").string()));
  CHECK(contains(m, "not found"));
}

TEST_CASE("idx: a truncated gzip file is an error naming the file") {
  const auto dir = jaq::test::temp_dir("idx_trunc_gz");
  std::vector<std::uint8_t> px(200 * 100);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  jaq::test::write_gz(dir / "img.gz", idx_images(200, 10, 10, px));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(std::vector<std::uint8_t>(200, 1)));
  jaq::test::truncate_to(dir / "img.gz", fs::file_size(dir / "img.gz") / 2);
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz"); });
  CHECK(contains(m, (dir / "img.gz").string()));
  CHECK(contains(m, "truncated"));
}

TEST_CASE("idx: a gzip file missing only its trailer is still reported as truncated") {
  const auto dir = jaq::test::temp_dir("idx_trunc_trailer");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  jaq::test::truncate_to(dir / "img.gz", fs::file_size(dir / "img.gz") - 4);  // drop ISIZE
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz"); });
  CHECK(contains(m, (dir / "img.gz").string()));
  CHECK(contains(m, "truncated"));
}

TEST_CASE("idx: a gzip trailer claiming an impossible size does not mislead the reader") {
  const auto dir = jaq::test::temp_dir("idx_bad_isize");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  {
    std::fstream f(dir / "img.gz", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-4, std::ios::end);
    const char huge[4] = {'\xff', '\xff', '\xff', '\x7f'};  // ISIZE = 2 GiB
    f.write(huge, 4);
  }
  // zlib checks ISIZE at the end of the stream: the file is corrupt, and says so.
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz"); });
  CHECK(contains(m, (dir / "img.gz").string()));
  CHECK(contains(m, "corrupt"));
}

TEST_CASE("idx: a truncated plain file says how many bytes were expected and found") {
  const auto dir = jaq::test::temp_dir("idx_trunc_raw");
  jaq::test::write_raw(dir / "img", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_raw(dir / "lab", idx_labels(labels5));
  jaq::test::truncate_to(dir / "img", 16 + 50);
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img", dir / "lab"); });
  CHECK(contains(m, (dir / "img").string()));
  CHECK(contains(m, "truncated"));
  CHECK(contains(m, "expected 76 bytes, found 66 bytes"));
  // Cut inside the header too.
  jaq::test::truncate_to(dir / "img", 6);
  CHECK(contains(message_of([&] { jaq::data::load_idx(dir / "img", dir / "lab"); }), "truncated"));
}

TEST_CASE("idx: extra bytes after the declared data are rejected") {
  const auto dir = jaq::test::temp_dir("idx_trailing");
  auto img = idx_images(5, 3, 4, pixels5());
  img.push_back(0);
  jaq::test::write_raw(dir / "img", img);
  jaq::test::write_raw(dir / "lab", idx_labels(labels5));
  CHECK(contains(message_of([&] { jaq::data::load_idx(dir / "img", dir / "lab"); }), "trailing data"));
}

TEST_CASE("idx: a wrong magic number names the file, the expected and the found number") {
  const auto dir = jaq::test::temp_dir("idx_magic");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  // Images and labels swapped.
  const auto m = message_of([&] { jaq::data::load_idx(dir / "lab.gz", dir / "img.gz"); });
  CHECK(contains(m, (dir / "lab.gz").string()));
  CHECK(contains(m, "expected 2051"));
  CHECK(contains(m, "found 2049"));
  jaq::test::write_gz(dir / "bad_lab.gz", idx_labels(labels5, 2050));
  const auto m2 = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "bad_lab.gz"); });
  CHECK(contains(m2, "bad_lab.gz"));
  CHECK(contains(m2, "expected 2049"));
  CHECK(contains(m2, "found 2050"));
}

TEST_CASE("idx: label and image counts must match") {
  const auto dir = jaq::test::temp_dir("idx_count");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels({1, 2, 3, 4}));
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz"); });
  CHECK(contains(m, (dir / "lab.gz").string()));
  CHECK(contains(m, "expected 5 labels"));
  CHECK(contains(m, "found 4"));
}

TEST_CASE("idx: wrong image dimensions against the spec are rejected") {
  const auto dir = jaq::test::temp_dir("idx_dims");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels(labels5));
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz", {.rows = 28, .cols = 28}); });
  CHECK(contains(m, (dir / "img.gz").string()));
  CHECK(contains(m, "expected 28x28, found 3x4"));
}

TEST_CASE("idx: a label beyond the class count is rejected") {
  const auto dir = jaq::test::temp_dir("idx_label_range");
  jaq::test::write_gz(dir / "img.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "lab.gz", idx_labels({1, 2, 10, 4, 0}));
  const auto m = message_of([&] { jaq::data::load_idx(dir / "img.gz", dir / "lab.gz"); });
  CHECK(contains(m, "label 2 out of range: expected 0..9, found 10"));
}

TEST_CASE("fashion-mnist loader: a missing directory or file is named") {
  const auto dir = jaq::test::temp_dir("fm_missing");
  const auto m = message_of([&] { jaq::data::load_fashion_mnist(dir / "absent"); });
  CHECK(contains(m, (dir / "absent").string()));
  CHECK(contains(m, "directory not found"));
  const auto m2 = message_of([&] { jaq::data::load_fashion_mnist(dir); });
  CHECK(contains(m2, (dir / "train-images-idx3-ubyte.gz").string()));
  CHECK(contains(m2, "not found"));
}

TEST_CASE("fashion-mnist loader: accepts uncompressed files and checks 28x28") {
  const auto dir = jaq::test::temp_dir("fm_small");
  std::vector<std::uint8_t> px(4 * 784, 128);
  jaq::test::write_raw(dir / "train-images-idx3-ubyte", idx_images(4, 28, 28, px));
  jaq::test::write_raw(dir / "train-labels-idx1-ubyte", idx_labels({0, 1, 2, 3}));
  jaq::test::write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 28, 28, std::vector<std::uint8_t>(2 * 784, 255)));
  jaq::test::write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels({9, 8}));
  const auto fm = jaq::data::load_fashion_mnist(dir);
  CHECK(fm.train.size() == 4);
  CHECK(fm.test.size() == 2);
  CHECK(fm.test.images.back() == 1.0f);
  CHECK(fm.train.name == "fashion-mnist/train");
  jaq::test::write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(5, 3, 4, pixels5()));
  jaq::test::write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels(labels5));
  CHECK(contains(message_of([&] { jaq::data::load_fashion_mnist(dir); }), "expected 28x28, found 3x4"));
}
