// jaq/core/error.hpp: the typed exceptions for bad user input at run time.
//
// Every error raised because of something a user gave (a file, a config field, a flag value)
// is one of these, and its message names the file, field and value. Internal invariants use
// JAQ_ASSERT (jaq/config.hpp) instead; compile-time misuse is a static_assert or a concept.
//
//   throw jaq::data_error(path, "magic number", "expected 2051, got 2049");
#pragma once

#include <stdexcept>
#include <string>

namespace jaq {

/// Base of every jaq run-time error.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A malformed or inconsistent configuration value (flag, JSON field, CSV cell).
class config_error : public error {
 public:
  config_error(const std::string& where, const std::string& field, const std::string& what) : error(where + ": " + field + ": " + what) {}
};

/// A missing, truncated or corrupt data file (data set, checkpoint, table).
class data_error : public error {
 public:
  data_error(const std::string& file, const std::string& what) : error(file + ": " + what) {}
};

/// A model or training failure a user must act on (NaN loss, shape mismatch in a user model).
class model_error : public error {
 public:
  using error::error;
};

/// Hardware that cannot run a layer (no tiling fits a buffer).
class hardware_error : public error {
 public:
  using error::error;
};

}  // namespace jaq
