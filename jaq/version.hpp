// jaq/version.hpp: jaq's version, the one place it is written (the root CMakeLists.txt reads it
// from here for the CMake package's version file; outputs name it).
//
//   std::cout << jaq::version_string;   // "0.1.0"
#pragma once

namespace jaq {

inline constexpr int version_major = 0;
inline constexpr int version_minor = 1;
inline constexpr int version_patch = 0;
inline constexpr const char* version_string = "0.1.0";

}  // namespace jaq
