// examples/out_flag.hpp: the check every program makes of its --out before any work, so that a
// finished run is never lost to an output path it cannot write (issue 11). Errors name the flag.
//
//   jaq_examples::check_out_dir(o.out);    // a folder of results (train, search)
//   jaq_examples::check_out_file(out);     // one result file (hwgen)
#pragma once

#include <filesystem>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"

namespace jaq_examples {

/// --out names a folder that exists or can be made, and can be written into.
inline void check_out_dir(const std::filesystem::path& dir) {
  try {
    jaq::prepare_output_dir(dir);
  } catch (const jaq::error& e) {
    throw jaq::config_error("command line", "--out", e.what());
  }
}

/// --out names a file that write_file_atomic can write (see jaq::check_output_file).
inline void check_out_file(const std::filesystem::path& file) {
  try {
    jaq::check_output_file(file);
  } catch (const jaq::error& e) {
    throw jaq::config_error("command line", "--out", e.what());
  }
}

}  // namespace jaq_examples
