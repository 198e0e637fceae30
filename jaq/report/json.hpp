// jaq/report/json.hpp: results and configurations as JSON files (nlohmann::json).
//
// write_json writes atomically (jaq/core/atomic_file.hpp); read_json turns a parse error into a
// data_error naming the file and the byte; json_get reads one field of an object and turns a
// missing field or a wrong type into a config_error naming the file, the field and the value.
//
//   nlohmann::json r = {{"test_accuracy", 0.88}, {"median_step_ms", 41.5}};
//   jaq::report::write_json("runs/result.json", r);
//   const auto cfg = jaq::report::read_json("accel.json");
//   auto rows = jaq::report::json_get<int>(cfg, "pe_rows", "accel.json");
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"

namespace jaq::report {

/// Writes `j` to `path` atomically, pretty-printed with `indent` spaces (-1: one line).
inline void write_json(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2) {
  std::string text;
  try {
    text = j.dump(indent);
  } catch (const nlohmann::json::exception& e) {  // e.g. invalid UTF-8 in a string
    throw data_error(path.string(), std::string("cannot serialise JSON: ") + e.what());
  }
  text += '\n';
  write_file_atomic(path, text);
}

/// Parses JSON text; `source` names it in errors.
inline nlohmann::json parse_json(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw data_error(source, "invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond double's range (1e309)
    throw data_error(source, std::string("invalid JSON: ") + e.what());
  }
}

/// Reads and parses a JSON file.
inline nlohmann::json read_json(const std::filesystem::path& path) { return parse_json(read_file(path), path.string()); }

namespace detail {
template <class T>
struct is_std_vector : std::false_type {};
template <class U, class A>
struct is_std_vector<std::vector<U, A>> : std::true_type {};
}  // namespace detail

/// Whether `v` holds a T exactly, with nothing lost in the conversion: an integer T takes an
/// integer within its range (nlohmann would truncate 2.5, wrap -1 and, for 1e63, convert a double
/// out of range: undefined behaviour), a floating-point T any number, a bool only a boolean, a
/// string only a string, a std::vector an array whose every element holds its element type.
template <class T>
bool json_holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    const auto x = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>)
      return x >= 0 && static_cast<std::uint64_t>(x) <= std::numeric_limits<T>::max();
    else
      return x >= std::numeric_limits<T>::min() && x <= std::numeric_limits<T>::max();
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else if constexpr (detail::is_std_vector<T>::value) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!json_holds<typename T::value_type>(e)) return false;
    return true;
  } else {
    return true;  // other types: nlohmann's own checks
  }
}

/// What json_holds<T> requires, for messages.
template <class T>
std::string json_expected() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return std::is_unsigned_v<T> ? "a non-negative integer" : "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (detail::is_std_vector<T>::value)
    return "an array each of whose items is " + json_expected<typename T::value_type>();
  else
    return "a value of another type";
}

/// The field `key` of object `j` as T; config_error(source, key, ...) if `j` is not an object,
/// the field is missing, or its value has another type (an integer T takes only an integer
/// value, an unsigned one only a non-negative one; a floating-point T any number).
template <class T>
T json_get(const nlohmann::json& j, std::string_view key, const std::string& source) {
  const std::string k(key);
  if (!j.is_object()) throw config_error(source, k, std::string("expected an object holding it, found ") + j.type_name());
  const auto it = j.find(k);
  if (it == j.end()) throw config_error(source, k, "missing");
  if (!json_holds<T>(*it)) {
    // an integer of the right sign that does not fit T (a negative one for an unsigned T is no range question)
    const bool out_of_range =
        std::is_integral_v<T> && !std::is_same_v<T, bool> && it->is_number_integer() && (std::is_signed_v<T> || it->is_number_unsigned());
    throw config_error(source, k, "must be " + json_expected<T>() + (out_of_range ? " in range" : "") + ", got " + it->dump());
  }
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    throw config_error(source, k, std::string("wrong type: found ") + it->type_name() + " " + it->dump());
  }
}

/// Like json_get, but `fallback` when the field is absent.
template <class T>
T json_get_or(const nlohmann::json& j, std::string_view key, const std::string& source, T fallback) {
  if (j.is_object() && !j.contains(std::string(key))) return fallback;
  return json_get<T>(j, key, source);
}

}  // namespace jaq::report
