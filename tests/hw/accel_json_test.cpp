#include "jaq/hw/accel_json.hpp"

#include <doctest/doctest.h>

namespace hw = jaq::hw;

TEST_CASE("an empty object is the reference configuration") { CHECK(hw::parse_accel_json("{}", "a.json") == hw::reference_config()); }

TEST_CASE("fields override the reference values") {
  const hw::accel_config c = hw::parse_accel_json(
      R"({"N": 8, "M": 16, "wbuf_bytes": 16384, "ibuf_bytes": 8192, "obuf_bytes": 4096,
          "if_width": 64, "frequency_hz": 1e9})",
      "a.json");
  CHECK(c == hw::accel_config{
                 .N = 8, .M = 16, .wbuf_bytes = 16384, .ibuf_bytes = 8192, .obuf_bytes = 4096, .if_width = 64, .frequency_hz = 1e9});
}

TEST_CASE("bad JSON names the file and field") {
  CHECK_THROWS_WITH_AS(hw::parse_accel_json(R"({"N": 8, "wbuf": 1})", "a.json"), doctest::Contains("a.json: wbuf: unknown field"),
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::parse_accel_json(R"({"M": "32"})", "a.json"), "a.json: M: must be an integer, got \"32\"", jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::parse_accel_json(R"({"M": 2.5})", "a.json"), "a.json: M: must be an integer, got 2.5", jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::parse_accel_json(R"({"obuf_bytes": -1})", "a.json"), "a.json: obuf_bytes: must be positive, got -1",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::parse_accel_json("[1, 2]", "a.json"), "a.json: json: top level must be an object", jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::parse_accel_json("{\"N\": ", "a.json"), doctest::Contains("a.json: json:"), jaq::config_error);
  CHECK_THROWS_AS(hw::read_accel_json("no/such/accel.json"), jaq::config_error);
}

TEST_CASE("to_accel_json writes every field, and parse_accel_json reads it back") {
  const hw::accel_config c{
      .N = 8, .M = 64, .wbuf_bytes = 32768, .ibuf_bytes = 16384, .obuf_bytes = 8192, .if_width = 256, .frequency_hz = 4e8};
  const auto j = hw::to_accel_json(c);
  CHECK(j.size() == 7);
  CHECK(hw::parse_accel_json(j.dump(), "written.json") == c);
}
