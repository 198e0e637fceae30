#include "jaq/report/json.hpp"

#include <doctest/doctest.h>

#include <cstdint>

#include <unistd.h>
#include <cstdlib>

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
}  // namespace

TEST_CASE("json: written results read back equal") {
  const auto dir = temp_dir("json_rt");
  const nlohmann::json r = {{"test_accuracy", 0.8812}, {"median_step_ms", 41.5}, {"model", "small-cnn"}, {"bits", {2, 3, 4, 8}}};
  jaq::report::write_json(dir / "r.json", r);
  CHECK(jaq::report::read_json(dir / "r.json") == r);
}

TEST_CASE("json: invalid JSON is a data_error naming the file and the byte") {
  const auto dir = temp_dir("json_bad");
  jaq::write_file_atomic(dir / "bad.json", "{\"a\": 1,, }");
  const std::string expected = (dir / "bad.json").string() + ": invalid JSON at byte 9";
  CHECK_THROWS_WITH(jaq::report::read_json(dir / "bad.json"), doctest::Contains(expected.c_str()));
  CHECK_THROWS_AS(jaq::report::read_json(dir / "none.json"), jaq::data_error);
}

TEST_CASE("json: json_get names the field for a missing field or a wrong type") {
  const auto j = nlohmann::json::parse(R"({"pe_rows": 16, "name": "bitfusion", "freq": "fast"})");
  CHECK(jaq::report::json_get<int>(j, "pe_rows", "accel.json") == 16);
  CHECK(jaq::report::json_get<std::string>(j, "name", "accel.json") == "bitfusion");
  CHECK_THROWS_WITH(jaq::report::json_get<int>(j, "pe_cols", "accel.json"), "accel.json: pe_cols: missing");
  CHECK_THROWS_WITH(jaq::report::json_get<double>(j, "freq", "accel.json"), "accel.json: freq: must be a number, got \"fast\"");
  CHECK(jaq::report::json_get_or<int>(j, "pe_cols", "accel.json", 8) == 8);
  CHECK_THROWS_WITH(jaq::report::json_get<int>(nlohmann::json::array(), "x", "a.json"),
                    "a.json: x: expected an object holding it, found array");
}

TEST_CASE("json: an integer field takes an integer, not a fraction or (unsigned) a negative number") {
  const auto j = nlohmann::json::parse(R"({"n": 2.5, "m": -1, "k": 7, "f": 3})");
  CHECK_THROWS_WITH_AS(jaq::report::json_get<int>(j, "n", "a.json"), "a.json: n: must be an integer, got 2.5", jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::report::json_get<std::uint64_t>(j, "m", "a.json"), "a.json: m: must be a non-negative integer, got -1",
                       jaq::config_error);
  CHECK(jaq::report::json_get<std::int64_t>(j, "m", "a.json") == -1);
  CHECK(jaq::report::json_get<std::uint64_t>(j, "k", "a.json") == 7);
  CHECK(jaq::report::json_get<double>(j, "f", "a.json") == 3.0);  // an integer is a number
  CHECK_THROWS_AS(jaq::report::json_get<bool>(j, "k", "a.json"), jaq::config_error);
}
