#include "jaq/hw/layer_csv.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <string>

namespace hw = jaq::hw;

namespace {
std::vector<hw::layer> parse(const std::string& text) {
  std::istringstream in(text);
  return hw::read_layers_csv(in, "L.csv");
}
}  // namespace

TEST_CASE("columns may come in any order; groups is optional") {
  const auto ls = parse(
      "wprec,iprec,im2col,B,OC,IC,S,O,K,name\n"
      "8,8,0,1,8,1,1,7,3,hand\n"
      "\n"
      "2,4,1,16,64,3,2,112,7,conv1\n");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0] == hw::layer{.name = "hand", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1});
  CHECK(ls[1] == hw::layer{.name = "conv1", .K = 7, .O = 112, .S = 2, .IC = 3, .OC = 64, .B = 16, .im2col = true, .iprec = 4, .wprec = 2});
  const auto g = parse(
      "name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\ndw,3,8,1,32,32,1,0,8,8,32\n"
      "pw,1,8,1,32,64,1,0,8,8,\n");
  CHECK(g[0].groups == 32);
  CHECK(g[1].groups == 1);  // empty: default
}

TEST_CASE("bad rows name the line and the field") {
  const std::string h = "name,K,O,S,IC,OC,B,im2col,iprec,wprec\n";
  CHECK_THROWS_WITH_AS(parse("name,K,O,S,IC,OC,B,im2col,iprec\n"), "L.csv:1: wprec: required column missing from the header",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,8,8\nb,3,0,1,1,8,1,0,8,8\n"), "L.csv:3: O: must be positive, got 0", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,-4,8,1,0,8,8\n"), "L.csv:2: IC: must be positive, got -4", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,9,8\n"), "L.csv:2: iprec: precision must be in 1..8, got 9", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,8,0\n"), "L.csv:2: wprec: precision must be in 1..8, got 0", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,8\n"), "L.csv: line 2: expected 10 fields (as in the header), found 9", jaq::data_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,8,\n"), "L.csv:2: wprec: missing value", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3x,7,1,1,8,1,0,8,8\n"), "L.csv:2: K: expected an integer, got '3x'", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,2,8,8\n"), "L.csv:2: im2col: must be 0 or 1, got 2", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + ",3,7,1,1,8,1,0,8,8\n"), "L.csv:2: name: missing value", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(h + "a,3,7,1,1,8,1,0,8,8,5\n"), "L.csv: line 2: expected 10 fields (as in the header), found 11",
                       jaq::data_error);
  CHECK_THROWS_WITH_AS(parse("name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\na,3,7,1,4,6,1,0,8,8,4\n"),
                       "L.csv:2: groups: 4 does not divide IC=4 and OC=6", jaq::config_error);
  CHECK_THROWS_WITH_AS(parse(""), "L.csv: empty: expected a header line", jaq::data_error);
  CHECK_THROWS_AS(hw::read_layers_csv("no/such/layers.csv"), jaq::config_error);
}

TEST_CASE("an unknown column, a broken quote or a folder is an error, never ignored; a UTF-8 BOM is accepted") {
  // `group` for `groups` would map a depthwise layer as dense (issue 11: 19,713 cycles for 177,600)
  CHECK_THROWS_WITH_AS(parse("name,K,O,S,IC,OC,B,im2col,iprec,wprec,group\ndw,3,56,1,128,128,1,0,8,8,128\n"),
                       "L.csv:1: group: unknown column (the columns are name,K,O,S,IC,OC,B,im2col,iprec,wprec and "
                       "optionally groups)",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(parse("name,K,O,S,IC,OC,B,im2col,iprec,wprec\n\"a,3,7,1,1,8,1,0,8,8\n"),
                       "L.csv: line 2: unterminated quoted field (field 1)", jaq::data_error);
  CHECK_THROWS_WITH_AS(parse("name,K,O,S,IC,OC,B,im2col,iprec,wprec\na\"b,3,7,1,1,8,1,0,8,8\n"),
                       doctest::Contains("L.csv: line 2: field 1: a quote inside an unquoted field"), jaq::data_error);
  const auto bom = parse("\xEF\xBB\xBFname,K,O,S,IC,OC,B,im2col,iprec,wprec\na,3,7,1,1,8,1,0,8,8\n");
  REQUIRE(bom.size() == 1);
  CHECK(bom[0].name == "a");
  CHECK_THROWS_WITH_AS(hw::read_layers_csv("."), ".: file: is a folder, not a layer CSV file", jaq::config_error);
  CHECK_THROWS_WITH_AS(hw::read_layers_csv("no/such/layers.csv"), "no/such/layers.csv: file: not found", jaq::config_error);
}

TEST_CASE("a mapping row prints every column, energies round-trip") {
  hw::layer_mapping m;
  m.name = "x";
  m.tile = {.b = 1, .num_b = 2, .ow = 4, .num_ow = 2, .oh = 4, .num_oh = 2, .ic = 8, .num_ic = 1, .oc = 32, .num_oc = 3};
  m.order = *hw::loop_order::parse("OC>B>IC>OW>OH");
  m.total_cycles = 30;
  m.compute_cycles = 20;
  m.stall_cycles = 10;
  m.energy_nJ = 0.1 + 0.2;
  m.energy_core_nJ = 1.0 / 3.0;
  m.dram_rd_bits = 7;
  const std::string row = hw::mapping_csv_row(m, "x");
  CHECK(row ==
        "x,1,2,4,2,4,2,8,1,32,3,OC>B>IC>OW>OH,30,20,10,0.30000000000000004,0.33333333333333331,0,0,"
        "7,0,0,0,0,0,0,0,ok");
  CHECK(std::strtod("0.30000000000000004", nullptr) == 0.1 + 0.2);
  m.obuf_fit = hw::table_fit::extrapolated;
  CHECK(hw::mapping_csv_row(m, "x").find(",sram energies wbuf exact ibuf exact obuf extrapolated") != std::string::npos);
}

TEST_CASE("a no-fit row keeps the name, leaves numbers empty and carries the error") {
  const hw::mapping_result r(hw::mapping_error{.layer = "fc", .which = hw::buffer::wbuf, .required_bits = 4096, .capacity_bits = 256});
  const std::string row = hw::mapping_csv_row(r, "fc");
  // the message has a comma, so the cell is quoted
  CHECK(row ==
        "fc,,,,,,,,,,,,,,,,,,,,,,,,,,,\"layer 'fc': no tiling fits WBUF (smallest tile needs "
        "4096 bits, half the buffer holds 256)\"");
  std::ostringstream os;
  hw::write_mapping_csv(os, {r}, {"fc"});
  CHECK(os.str().rfind("name,b,num_b,ow,num_ow,oh,num_oh,ic,num_ic,oc,num_oc,order,total_cycles,", 0) == 0);
  CHECK(hw::mapping_csv_columns().size() == 28);
}

TEST_CASE("write_layers_csv writes what read_layers_csv reads back, whatever the names hold") {
  const std::vector<hw::layer> layers = {
      {.name = "stem", .K = 3, .O = 14, .S = 2, .IC = 1, .OC = 16, .B = 1, .im2col = true, .iprec = 8, .wprec = 8},
      {.name = "blocks.1.k5_e1.depthwise", .K = 5, .O = 7, .S = 2, .IC = 48, .OC = 48, .B = 2, .iprec = 3, .wprec = 2, .groups = 48}};
  std::ostringstream out;
  hw::write_layers_csv(out, layers);
  std::istringstream in(out.str());
  CHECK(hw::read_layers_csv(in, "written.csv") == layers);
  // names CSV must quote read back: a comma, a quote, a line break, a leading '#'
  const std::vector<hw::layer> odd = {{.name = "a,b"}, {.name = "say \"hi\""}, {.name = "two\nlines"}, {.name = "#not a comment"}};
  std::ostringstream o2;
  hw::write_layers_csv(o2, odd);
  std::istringstream i2(o2.str());
  CHECK(hw::read_layers_csv(i2, "odd.csv") == odd);
}

TEST_CASE("the layer CSV is read by the one CSV reader: quotes, comments, blank lines, CRLF") {
  const auto ls = parse(
      "# a comment line\r\nname,K,O,S,IC,OC,B,im2col,iprec,wprec\r\n\r\n"
      "\"conv, first\",3,7,1,1,8,1,0,8,8\r\n# another\r\n  b , 3 , 7 , 1 , 1 , 8 , 1 , 0 , 4 , 4 \r\n");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].name == "conv, first");
  CHECK(ls[1].name == "b");
  CHECK(ls[1].iprec == 4);
  // the header's own line is named for a header problem
  CHECK_THROWS_WITH_AS(parse("# first\nname,K,O,S,IC,OC,B,im2col,iprec,wprec,grups\n"), doctest::Contains("L.csv:2: grups: unknown column"),
                       jaq::config_error);
}
