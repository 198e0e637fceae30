#include "jaq/hw/mapping.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace hw = jaq::hw;

TEST_CASE("a mapping error names the layer and the overflowing buffer") {
  const hw::mapping_error e{.layer = "fc", .which = hw::buffer::ibuf, .required_bits = 4096, .capacity_bits = 256};
  CHECK(e.message() == "layer 'fc': no tiling fits IBUF (smallest tile needs 4096 bits, half the buffer holds 256)");
}

TEST_CASE("a mapping result holds a mapping or an error") {
  hw::layer_mapping m;
  m.name = "c";
  m.total_cycles = 10;
  const hw::mapping_result ok(m);
  CHECK(ok.ok());
  CHECK(ok.value().total_cycles == 10);
  const hw::mapping_result bad(hw::mapping_error{.layer = "c", .which = hw::buffer::obuf});
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().which == hw::buffer::obuf);
  CHECK_THROWS_AS(bad.value(), jaq::hardware_error);
}

TEST_CASE("a mapping prints every field and flags inexact SRAM energies") {
  hw::layer_mapping m;
  m.name = "c";
  std::ostringstream os;
  os << hw::mapping_result(m);
  CHECK(os.str().find("layer_mapping{c: tiling{") == 0);
  CHECK(os.str().find("interpolated") == std::string::npos);
  m.ibuf_fit = hw::table_fit::interpolated;
  std::ostringstream os2;
  os2 << m;
  CHECK(os2.str().find("sram energies wbuf/ibuf/obuf exact/interpolated/exact") != std::string::npos);
}
