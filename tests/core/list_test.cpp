// Tests of jaq/core/list.hpp: the one comma-list parser.
#include "jaq/core/list.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

TEST_CASE("items are split at commas and trimmed") {
  CHECK(jaq::split_list("4/4,8/2", "w", "f") == std::vector<std::string>{"4/4", "8/2"});
  CHECK(jaq::split_list(" a ,\tb", "w", "f") == std::vector<std::string>{"a", "b"});
  CHECK(jaq::split_list("one", "w", "f") == std::vector<std::string>{"one"});
}

TEST_CASE("integers and numbers, strictly") {
  CHECK(jaq::parse_int_list("2,3, 4", "w", "--bits") == std::vector<std::int64_t>{2, 3, 4});
  CHECK(jaq::parse_int_list("-1", "w", "--bits") == std::vector<std::int64_t>{-1});
  CHECK(jaq::parse_number_list("0.1,1,+1e1", "w", "--sweep") == std::vector<double>{0.1, 1, 10});
  CHECK_THROWS_WITH_AS(jaq::parse_int_list("2,3.5", "command line", "--bits"), "command line: --bits: '3.5' in '2,3.5' is not an integer",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::parse_int_list("2,x", "command line", "--bits"), "command line: --bits: 'x' in '2,x' is not an integer",
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::parse_number_list("1,1e", "c", "--l"), "c: --l: '1e' in '1,1e' is not a number", jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::parse_int_list("99999999999999999999", "c", "--n"), doctest::Contains("is not an integer"), jaq::config_error);
}

TEST_CASE("an empty list or item is an error naming the field") {
  CHECK_THROWS_WITH_AS(jaq::split_list("", "command line", "--prec"), "command line: --prec: empty list", jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::split_list("2,,3", "p.json", "bits"), "p.json: bits: empty item in '2,,3'", jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::split_list("2,", "p.json", "bits"), "p.json: bits: empty item in '2,'", jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::split_list(" , ", "p.json", "bits"), doctest::Contains("empty item"), jaq::config_error);
}
