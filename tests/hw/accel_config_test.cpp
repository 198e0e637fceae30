#include "jaq/hw/accel_config.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

namespace hw = jaq::hw;

static_assert(hw::accel_config_like<hw::accel_config>);
static_assert(hw::accel_config_like<hw::reference_fixed_config>);
static_assert(!hw::accel_config_like<int>);
static_assert(hw::to_runtime(hw::reference_fixed_config{}) == hw::reference_config());
// The fixed configuration's capacities are compile-time constants.
static_assert(hw::wbuf_cap_bits(hw::reference_fixed_config{}) == 65536 * 4);
template <std::int64_t N, std::int64_t IfWidth>
concept fixed_config_ok = requires {
  typename hw::fixed_accel_config<N, 32, 1, 1, 1, IfWidth>;
};
static_assert(fixed_config_ok<16, 192>);
static_assert(!fixed_config_ok<0, 192>);
static_assert(!fixed_config_ok<16, 0>);

TEST_CASE("the reference configuration is the spec's") {
  const hw::accel_config c = hw::reference_config();
  CHECK(c.N == 16);
  CHECK(c.M == 32);
  CHECK(c.wbuf_bytes == 64 * 1024);
  CHECK(c.ibuf_bytes == 32 * 1024);
  CHECK(c.obuf_bytes == 16 * 1024);
  CHECK(c.if_width == 192);
  CHECK(c.frequency_hz == 500e6);
}

TEST_CASE("capacities are half of each buffer, in bits") {
  const hw::accel_config c = hw::reference_config();
  CHECK(hw::wbuf_cap_bits(c) == 262144);
  CHECK(hw::ibuf_cap_bits(c) == 131072);
  CHECK(hw::obuf_cap_bits(c) == 65536);
}

TEST_CASE("validate names the field and value of a bad configuration") {
  hw::accel_config c = hw::reference_config();
  CHECK_NOTHROW(hw::validate(c));
  c.obuf_bytes = 0;
  CHECK_THROWS_WITH_AS(hw::validate(c, "a.json"), "a.json: obuf_bytes: must be positive, got 0", jaq::config_error);
  c = hw::reference_config();
  c.N = -4;
  CHECK_THROWS_WITH_AS(hw::validate(c, "a.json"), "a.json: N: must be positive, got -4", jaq::config_error);
  c = hw::reference_config();
  c.frequency_hz = 0;
  CHECK_THROWS_AS(hw::validate(c), jaq::config_error);
}

TEST_CASE("a configuration prints its named fields") {
  std::ostringstream os;
  os << hw::reference_config();
  CHECK(os.str() ==
        "accel_config{N=16, M=32, wbuf_bytes=65536, ibuf_bytes=32768, obuf_bytes=16384, "
        "if_width=192, frequency_hz=5e+08}");
}
