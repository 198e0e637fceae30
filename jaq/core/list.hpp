// jaq/core/list.hpp: comma-separated lists ("2,3,4", "4/4,8/2", "0.1,1,10"), the one parser
// that command lines and presets use. Spaces around an item are dropped; an empty item or an
// empty list is a config_error naming where the list came from and its field.
//
//   auto bits = jaq::parse_int_list("2,3,4", "command line", "--bits");        // {2, 3, 4}
//   auto ls = jaq::parse_number_list("0.1, 1, 10", "command line", "--sweep-lambda");
//   auto items = jaq::split_list("4/4,8/2", "command line", "--prec");          // {"4/4", "8/2"}
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq {

/// The items of `s`, split at commas, each without surrounding spaces and tabs.
inline std::vector<std::string> split_list(std::string_view s, const std::string& where, const std::string& field) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    const std::size_t j = std::min(s.find(',', i), s.size());
    std::string_view item = s.substr(i, j - i);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) throw config_error(where, field, s.empty() ? std::string("empty list") : "empty item in '" + std::string(s) + "'");
    out.emplace_back(item);
    i = j + 1;
  }
  return out;
}

/// Each item of `s` as an integer (decimal, no sign but '-').
inline std::vector<std::int64_t> parse_int_list(std::string_view s, const std::string& where, const std::string& field) {
  std::vector<std::int64_t> out;
  for (const std::string& item : split_list(s, where, field)) {
    std::int64_t v = 0;
    const auto r = std::from_chars(item.data(), item.data() + item.size(), v);
    if (r.ec != std::errc() || r.ptr != item.data() + item.size())
      throw config_error(where, field, "'" + item + "' in '" + std::string(s) + "' is not an integer");
    out.push_back(v);
  }
  return out;
}

/// Each item of `s` as a number.
inline std::vector<double> parse_number_list(std::string_view s, const std::string& where, const std::string& field) {
  std::vector<double> out;
  for (const std::string& item : split_list(s, where, field)) {
    double v = 0;
    const char* b = item.data() + (item[0] == '+' ? 1 : 0);  // from_chars takes no leading '+'
    const auto r = std::from_chars(b, item.data() + item.size(), v);
    if (r.ec != std::errc() || r.ptr != item.data() + item.size())
      throw config_error(where, field, "'" + item + "' in '" + std::string(s) + "' is not a number");
    out.push_back(v);
  }
  return out;
}

}  // namespace jaq
