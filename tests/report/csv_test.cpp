#include "jaq/report/csv.hpp"

#include <doctest/doctest.h>

#include <sstream>

using jaq::report::csv_quote;
using jaq::report::parse_csv;

TEST_CASE("csv: fields are quoted only when they must be") {
  CHECK(csv_quote("plain") == "plain");
  CHECK(csv_quote("") == "");
  CHECK(csv_quote("a,b") == "\"a,b\"");
  CHECK(csv_quote("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_quote("two\nlines") == "\"two\nlines\"");
  CHECK(csv_quote(" padded") == "\" padded\"");
  CHECK(csv_quote("#not a comment") == "\"#not a comment\"");
}

TEST_CASE("csv: the writer writes a header and typed rows; numbers round-trip") {
  std::ostringstream os;
  jaq::report::csv_writer w(os, {"layer", "bits", "energy_pj", "ok"});
  w.row("conv1", 4, 0.1, true);
  w.row(std::string("fc, last"), -2, 1e-300, false);
  CHECK(os.str() == "layer,bits,energy_pj,ok\nconv1,4,0.1,true\n\"fc, last\",-2,1e-300,false\n");
  CHECK(w.rows() == 2);
  CHECK_THROWS_WITH(w.row("x", 1), "csv_writer: row 3: expected 4 fields (as in the header), got 2");
}

TEST_CASE("csv: whatever the writer writes, the reader reads back unchanged") {
  const std::vector<std::string> nasty = {"", "a,b", "\"q\"", "line1\nline2", " sp ", "#hash", "crlf\r\nx", "é"};
  std::ostringstream os;
  jaq::report::csv_writer w(os, {"k", "v"});
  for (std::size_t i = 0; i < nasty.size(); ++i) w.row(static_cast<int>(i), nasty[i]);
  const auto t = parse_csv(os.str(), "mem.csv");
  REQUIRE(t.rows.size() == nasty.size());
  for (std::size_t i = 0; i < nasty.size(); ++i) {
    CHECK(t.get<int>(i, "k") == static_cast<int>(i));
    CHECK(t.get<std::string>(i, "v") == nasty[i]);
  }
}

TEST_CASE("csv: the reader skips blank and comment lines, trims, accepts CRLF, and records lines") {
  const auto t = parse_csv("# layers\r\nname, k ,stride\r\n\r\nconv1, 3, 1\r\n  \n# skip\nconv2,5,\"2\"\n", "l.csv");
  CHECK(t.header == std::vector<std::string>{"name", "k", "stride"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.lines == std::vector<std::int64_t>{4, 7});
  CHECK(t.cell(0, "k") == "3");
  CHECK(t.get<int>(1, "stride") == 2);
  CHECK(t.get<double>(1, "k") == 5.0);
  CHECK(t.where(1) == "l.csv:7");
}

TEST_CASE("csv: structural errors name the file and the line") {
  CHECK_THROWS_WITH(parse_csv("a,b\n1,2\n3\n", "t.csv"), "t.csv: line 3: expected 2 fields (as in the header), found 1");
  CHECK_THROWS_WITH(parse_csv("a,b\n1,\"open\n2,3\n", "t.csv"), "t.csv: line 2: unterminated quoted field (field 2)");
  CHECK_THROWS_WITH(parse_csv("a,b\n\"x\"y,2\n", "t.csv"), "t.csv: line 2: field 1: unexpected character 'y' after a closing quote");
  CHECK_THROWS_WITH(parse_csv("a,b\nx\"y,2\n", "t.csv"), doctest::Contains("t.csv: line 2: field 1: a quote inside an unquoted field"));
  CHECK_THROWS_WITH(parse_csv("a,a\n", "t.csv"), "t.csv: line 1: header names column 'a' twice");
  CHECK_THROWS_WITH(parse_csv("# only a comment\n", "t.csv"), "t.csv: empty: expected a header line");
  CHECK_THROWS_AS(parse_csv("a,b\n1\n", "t.csv"), jaq::data_error);
}

TEST_CASE("csv: a bad cell names file:line, the column and the text") {
  const auto t = parse_csv("name,k,scale,flag\nconv1,3x,1.5e,maybe\nconv2,99999999999,2,1\n", "layers.csv");
  CHECK_THROWS_WITH(t.get<int>(0, "k"), "layers.csv:2: k: expected an integer, got '3x'");
  CHECK_THROWS_WITH(t.get<double>(0, "scale"), "layers.csv:2: scale: expected a number, got '1.5e'");
  CHECK_THROWS_WITH(t.get<bool>(0, "flag"), "layers.csv:2: flag: expected true/false/1/0, got 'maybe'");
  CHECK_THROWS_WITH(t.get<int>(1, "k"), "layers.csv:3: k: expected an integer in range, got '99999999999'");
  CHECK(t.get<std::int64_t>(1, "k") == 99999999999LL);
  CHECK(t.get<bool>(1, "flag"));
  CHECK_THROWS_WITH(t.column("stride"), "layers.csv: stride: missing column (the header has: name, k, scale, flag)");
  CHECK_THROWS_AS(t.get<int>(0, "stride"), jaq::config_error);
}

TEST_CASE("csv: get<T> accepts only arithmetic and string types at compile time") {
  using table = jaq::report::csv_table;
  static_assert(requires(const table& t) { t.get<int>(0, "a"); });
  static_assert(requires(const table& t) { t.get<std::string>(0, "a"); });
  CHECK(true);
}
