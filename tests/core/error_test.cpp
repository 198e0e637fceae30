#include "jaq/core/error.hpp"

#include <doctest/doctest.h>

TEST_CASE("config_error names the place, the field and the value") {
  const jaq::config_error e("accel.json", "wbuf_bytes", "must be positive, got -4");
  CHECK(std::string(e.what()) == "accel.json: wbuf_bytes: must be positive, got -4");
}

TEST_CASE("every jaq error is catchable as jaq::error") {
  CHECK_THROWS_AS(throw jaq::data_error("f.gz", "truncated"), jaq::error);
  CHECK_THROWS_AS(throw jaq::hardware_error("conv1: no tiling fits WBUF"), jaq::error);
}
