// Tests of jaq/hwgen/search_space.hpp.
#include "jaq/hwgen/search_space.hpp"

#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <tuple>

namespace hg = jaq::hwgen;

TEST_CASE("nth enumerates every configuration once, N slowest, and decode reads the lists") {
  hg::search_space s{
      .N = {8, 16}, .M = {16, 32, 64}, .wbuf_bytes = {32768}, .ibuf_bytes = {16384, 32768}, .obuf_bytes = {8192}, .if_width = {64, 192}};
  CHECK(s.count() == 24);
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> seen;
  for (std::int64_t k = 0; k < s.count(); ++k) {
    const auto c = s.decode(s.nth(k));
    seen.insert({c.N, c.M, c.ibuf_bytes, c.if_width});
    CHECK(c.wbuf_bytes == 32768);
    CHECK(c.frequency_hz == 500e6);
  }
  CHECK(seen.size() == 24);
  CHECK(s.decode(s.nth(0)).N == 8);
  CHECK(s.decode(s.nth(23)).N == 16);
  CHECK(s.decode(s.nth(1)).if_width == 192);  // the last parameter varies fastest
  hg::validate(s);
  std::ostringstream os;
  os << s;
  CHECK(os.str().find("24 configurations") != std::string::npos);
}

TEST_CASE("the default space holds the reference configuration") {
  const hg::search_space s = hg::default_space();
  hg::validate(s);
  bool found = false;
  for (std::int64_t k = 0; k < s.count(); ++k) found = found || s.decode(s.nth(k)) == jaq::hw::reference_config();
  CHECK(found);
}

TEST_CASE("a malformed space is a config_error naming the parameter") {
  hg::search_space s = hg::default_space();
  s.M = {};
  CHECK_THROWS_WITH_AS(hg::validate(s), doctest::Contains("M"), jaq::config_error);
  s = hg::default_space();
  s.N = {12};
  CHECK_THROWS_WITH_AS(hg::validate(s), doctest::Contains("power of two"), jaq::config_error);
  s = hg::default_space();
  s.if_width = {0};
  CHECK_THROWS_WITH_AS(hg::validate(s), doctest::Contains("if_width"), jaq::config_error);
}
