// examples/cli_checks.hpp: CLI11 validators whose messages a person can read. CLI11's own
// PositiveNumber/NonNegativeNumber print their upper bound, DBL_MAX, as a 309-digit number
// ("Value 0 not in range 0.000000 to 179769313486231570814527423731704356798070567525844996...").
//
//   app.add_option("--epochs", epochs, "training epochs")->check(jaq_examples::positive);
//   app.add_option("--threads", threads, "worker threads")->check(jaq_examples::in_range(1, 256));
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <sstream>
#include <string>

namespace jaq_examples {

namespace detail {
inline bool number(const std::string& s, double& v) {
  std::istringstream in(s);
  in >> v;
  return in && (in >> std::ws).eof();
}
inline std::string text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace detail

/// > 0 (and a number).
inline const CLI::Validator positive(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!detail::number(s, v)) return "'" + s + "' is not a number";
      return v > 0 && std::isfinite(v) ? std::string() : "must be > 0, got " + s;
    },
    "> 0", "positive");

/// >= 0 (and a number).
inline const CLI::Validator non_negative(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!detail::number(s, v)) return "'" + s + "' is not a number";
      return v >= 0 && std::isfinite(v) ? std::string() : "must be >= 0, got " + s;
    },
    ">= 0", "non-negative");

/// lo <= v <= hi.
inline CLI::Validator in_range(double lo, double hi) {
  const std::string range = detail::text(lo) + " to " + detail::text(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        double v = 0;
        if (!detail::number(s, v)) return "'" + s + "' is not a number";
        return v >= lo && v <= hi ? std::string() : "must be in " + range + ", got " + s;
      },
      range, "in range");
}

}  // namespace jaq_examples
