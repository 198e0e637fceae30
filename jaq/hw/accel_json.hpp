// jaq/hw/accel_json.hpp: an accelerator configuration from and to JSON (the map tool's --accel
// file; to_accel_json writes what parse_accel_json reads).
//
// Fields `N, M, wbuf_bytes, ibuf_bytes, obuf_bytes, if_width, frequency_hz`, each optional
// (default: the reference configuration). An unknown field, a wrong type or a non-positive value
// is a config_error naming the file and field.
//
//   jaq::hw::accel_config c = jaq::hw::read_accel_json("accel.json");
//   // {"N": 8, "M": 16, "obuf_bytes": 32768}
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/report/json.hpp"

namespace jaq::hw {

/// The fields an accelerator file may hold.
inline const std::vector<std::string>& accel_json_fields() {
  static const std::vector<std::string> f = {"N", "M", "wbuf_bytes", "ibuf_bytes", "obuf_bytes", "if_width", "frequency_hz"};
  return f;
}

/// An accelerator configuration from parsed JSON; `file` names it in errors.
inline accel_config accel_from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw config_error(file, "json", "top level must be an object");
  const auto& known = accel_json_fields();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      throw config_error(file, it.key(), "unknown field (expected N, M, wbuf_bytes, ibuf_bytes, obuf_bytes, if_width, frequency_hz)");
  accel_config c = reference_config();
  c.N = report::json_get_or(j, "N", file, c.N);
  c.M = report::json_get_or(j, "M", file, c.M);
  c.wbuf_bytes = report::json_get_or(j, "wbuf_bytes", file, c.wbuf_bytes);
  c.ibuf_bytes = report::json_get_or(j, "ibuf_bytes", file, c.ibuf_bytes);
  c.obuf_bytes = report::json_get_or(j, "obuf_bytes", file, c.obuf_bytes);
  c.if_width = report::json_get_or(j, "if_width", file, c.if_width);
  c.frequency_hz = report::json_get_or(j, "frequency_hz", file, c.frequency_hz);
  validate(c, file);
  return c;
}

/// Parses JSON text; `file` names it in errors.
inline accel_config parse_accel_json(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = report::parse_json(text, file);
  } catch (const data_error& e) {  // the field is the file's JSON itself
    throw config_error(file, "json", e.what());
  }
  return accel_from_json(j, file);
}

/// The configuration with every field, in the format parse_accel_json reads.
inline nlohmann::json to_accel_json(const accel_config& c) {
  return {{"N", c.N},
          {"M", c.M},
          {"wbuf_bytes", c.wbuf_bytes},
          {"ibuf_bytes", c.ibuf_bytes},
          {"obuf_bytes", c.obuf_bytes},
          {"if_width", c.if_width},
          {"frequency_hz", c.frequency_hz}};
}

/// Reads a JSON file.
inline accel_config read_accel_json(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const data_error& e) {
    throw config_error(path, "file", e.what());
  }
  return parse_accel_json(text, path);
}

}  // namespace jaq::hw
