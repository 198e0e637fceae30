#include "jaq/autograd/checkpoint.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/autograd/helpers.hpp"

namespace fs = std::filesystem;

namespace {
struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("jaq_ckpt_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("a checkpoint round-trips names, shapes and values") {
  temp_dir d;
  jaq::rng gen(1);
  auto a = jaq::test::random_tensor<float>({2, 3}, gen);
  auto b = jaq::test::random_tensor<float>({4}, gen);
  jaq::save_checkpoint<float>(d.path / "c.jaqckpt", {{"a", &a}, {"b", &b}});
  auto a2 = jaq::tensor<float>::zeros({2, 3});
  auto b2 = jaq::tensor<float>::zeros({4});
  jaq::load_checkpoint<float>(d.path / "c.jaqckpt", {{"b", &b2}, {"a", &a2}});  // any order
  for (int i = 0; i < 6; ++i) CHECK(a2[i] == a[i]);
  for (int i = 0; i < 4; ++i) CHECK(b2[i] == b[i]);
  // no temporary file is left behind
  int files = 0;
  for (auto& e : fs::directory_iterator(d.path)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("loading a wrong, truncated or mismatched checkpoint fails clearly and changes nothing") {
  temp_dir d;
  auto a = jaq::tensor<float>::full({2, 3}, 1.0f);
  auto b = jaq::tensor<float>::full({4}, 2.0f);
  const fs::path f = d.path / "c.jaqckpt";
  jaq::save_checkpoint<float>(f, {{"a", &a}, {"b", &b}});
  auto a2 = jaq::tensor<float>::zeros({2, 3});
  auto b2 = jaq::tensor<float>::zeros({4});

  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(d.path / "none", {{"a", &a2}}), doctest::Contains("none: file not found"),
                         jaq::data_error);
  }
  SUBCASE("not a checkpoint") {
    std::ofstream(d.path / "junk") << "this is not a checkpoint file at all, just some text";
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(d.path / "junk", {{"a", &a2}}), doctest::Contains("wrong magic"), jaq::data_error);
  }
  SUBCASE("truncated") {
    fs::resize_file(f, fs::file_size(f) - 5);
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(f, {{"a", &a2}, {"b", &b2}}), doctest::Contains("truncated"), jaq::data_error);
  }
  SUBCASE("other shape") {
    auto a3 = jaq::tensor<float>::zeros({3, 2});
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(f, {{"a", &a3}, {"b", &b2}}),
                         doctest::Contains("entry 'a': expected shape (3, 2), found (2, 3)"), jaq::data_error);
  }
  SUBCASE("missing entry") {
    auto c = jaq::tensor<float>::zeros({1});
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(f, {{"a", &a2}, {"b", &b2}, {"c", &c}}), doctest::Contains("entry 'c' is missing"),
                         jaq::data_error);
  }
  SUBCASE("unexpected entry") {
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<float>(f, {{"a", &a2}}), doctest::Contains("entry 'b' is not part"), jaq::data_error);
  }
  SUBCASE("other scalar type") {
    auto ad = jaq::tensor<double>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(jaq::load_checkpoint<double>(f, {{"a", &ad}}), doctest::Contains("scalar size: expected 8 bytes, found 4"),
                         jaq::data_error);
  }
  CHECK(a2[0] == 0.0f);  // a failed load leaves the tensors alone
  CHECK(b2[0] == 0.0f);
}
