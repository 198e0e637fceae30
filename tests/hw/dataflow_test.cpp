#include "jaq/hw/dataflow.hpp"

#include <doctest/doctest.h>

#include <sstream>

namespace hw = jaq::hw;

static_assert(hw::dataflow<hw::proxy_stationary>);
static_assert(hw::dataflow<hw::input_stationary>);
static_assert(hw::dataflow<hw::output_stationary>);
static_assert(hw::dataflow<hw::weight_stationary>);
struct not_a_dataflow {};
static_assert(!hw::dataflow<int>);
static_assert(!hw::dataflow<not_a_dataflow>);
static_assert(!hw::dataflow<hw::stationary>);

TEST_CASE("the proxy policy picks the smallest proxy, ties IS then OS then WS") {
  using df = hw::dataflow_traits<hw::proxy_stationary>;
  CHECK(df::choose(1, 2, 3) == hw::stationary::input);
  CHECK(df::choose(3, 2, 3) == hw::stationary::output);
  CHECK(df::choose(3, 4, 2) == hw::stationary::weight);
  CHECK(df::choose(2, 2, 2) == hw::stationary::input);   // three-way tie: IS
  CHECK(df::choose(3, 2, 2) == hw::stationary::output);  // OS == WS: OS
  CHECK(df::choose(2, 3, 2) == hw::stationary::input);   // IS == WS: IS
}

TEST_CASE_TEMPLATE("a fixed policy ignores the proxies", Df, hw::input_stationary, hw::output_stationary, hw::weight_stationary) {
  const hw::stationary a = hw::dataflow_traits<Df>::choose(1, 2, 3);
  const hw::stationary b = hw::dataflow_traits<Df>::choose(3, 2, 1);
  CHECK(a == b);
  CHECK(std::string(hw::to_string(a)) == hw::dataflow_traits<Df>::name);
}

TEST_CASE("stationary schemes print as IS, OS, WS") {
  std::ostringstream os;
  os << hw::stationary::input << hw::stationary::output << hw::stationary::weight;
  CHECK(os.str() == "ISOSWS");
}
