// libFuzzer entry for one target of tests/fuzz/targets.hpp, chosen at compile time:
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -DJAQ_FUZZ_TARGET='"layer_csv"' ...
// (tools/fuzz.sh builds and runs every target).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/targets.hpp"

#if !defined(JAQ_FUZZ_TARGET) && defined(__clang_analyzer__)
#define JAQ_FUZZ_TARGET "layer_csv"  // clang-tidy (tools/tidy.sh --all) reads the file without fuzz.sh's -D
#endif
#ifndef JAQ_FUZZ_TARGET
#error "define JAQ_FUZZ_TARGET as a target name of tests/fuzz/targets.hpp"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto& f = jaq_fuzz::all_targets().at(JAQ_FUZZ_TARGET);
  f(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
