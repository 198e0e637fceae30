// examples/caller_dir.hpp: `bazel run` starts a binary in its runfiles tree, so a relative path
// on its command line means the caller's folder (BUILD_WORKING_DIRECTORY); run directly, it
// means the current folder, as usual.
#pragma once

#include <cstdlib>
#include <string>

namespace jaq_examples {

inline std::string from_caller_dir(const std::string& path) {
  const char* wd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path.front() == '/' || wd == nullptr || *wd == '\0') return path;
  return std::string(wd) + "/" + path;
}

}  // namespace jaq_examples
