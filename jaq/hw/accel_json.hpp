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

#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"

namespace jaq::hw {

/// Parses JSON text; `file` names it in errors.
inline accel_config parse_accel_json(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw config_error(file, "json", e.what());
  }
  if (!j.is_object()) throw config_error(file, "json", "top level must be an object");
  accel_config c = reference_config();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    std::int64_t* field = k == "N"            ? &c.N
                          : k == "M"          ? &c.M
                          : k == "wbuf_bytes" ? &c.wbuf_bytes
                          : k == "ibuf_bytes" ? &c.ibuf_bytes
                          : k == "obuf_bytes" ? &c.obuf_bytes
                          : k == "if_width"   ? &c.if_width
                                              : nullptr;
    if (field) {
      if (!v.is_number_integer())
        throw config_error(file, k, "must be an integer, got " + v.dump());
      *field = v.get<std::int64_t>();
    } else if (k == "frequency_hz") {
      if (!v.is_number()) throw config_error(file, k, "must be a number, got " + v.dump());
      c.frequency_hz = v.get<double>();
    } else {
      throw config_error(file, k,
                         "unknown field (expected N, M, wbuf_bytes, ibuf_bytes, obuf_bytes, "
                         "if_width, frequency_hz)");
    }
  }
  validate(c, file);
  return c;
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
  std::ifstream in(path);
  if (!in) throw config_error(path, "file", "cannot open");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_accel_json(text, path);
}

}  // namespace jaq::hw
