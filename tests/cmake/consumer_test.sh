#!/usr/bin/env bash
# jaq as a CMake package: `cmake --install` puts the headers, jaqConfig.cmake and its version
# file under a prefix; examples/consumer finds it with find_package(jaq 0.1 CONFIG REQUIRED),
# builds against the INTERFACE target jaq::jaq (its dependencies through their own packages),
# and maps ResNet-18 on its fixed accelerator exactly as //examples:map does. A version the
# package does not have is refused at configure time.
set -euo pipefail
MAP="$1"
T="${TEST_TMPDIR:-/tmp}/consumer"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
command -v cmake > /dev/null || fail "cmake is not installed (tools/bootstrap.sh installs it)"

cmake -S . -B "$T/build" > "$T/configure.log" 2>&1 || { cat "$T/configure.log"; fail "configuring jaq"; }
cmake --install "$T/build" --prefix "$T/prefix" > "$T/install.log" 2>&1 || { cat "$T/install.log"; fail "installing jaq"; }
config=$(find "$T/prefix" -name jaqConfig.cmake)
[[ -n "$config" && -f "$(dirname "$config")/jaqConfigVersion.cmake" ]] || fail "no jaqConfig.cmake / jaqConfigVersion.cmake under the prefix"
[[ -f "$T/prefix/include/jaq/jaq.hpp" && -f "$T/prefix/include/jaq/batchtile/detail/score_body.inc" ]] || fail "headers not installed"

cmake -S examples/consumer -B "$T/consumer" -DCMAKE_PREFIX_PATH="$T/prefix" -DCMAKE_BUILD_TYPE=Release > "$T/cconfigure.log" 2>&1 ||
  { cat "$T/cconfigure.log"; fail "configuring the consumer"; }
cmake --build "$T/consumer" > "$T/build.log" 2>&1 || { tail -30 "$T/build.log"; fail "building the consumer"; }
"$T/consumer/map_resnet18" > "$T/consumer.csv" || fail "the consumer failed"
echo '{"N": 16, "M": 32, "wbuf_bytes": 65536, "ibuf_bytes": 32768, "obuf_bytes": 16384, "if_width": 256}' > "$T/accel.json"
"$MAP" --network resnet18 --accel "$T/accel.json" --out "$T/map.csv" 2> "$T/map.err" || { cat "$T/map.err"; fail "map failed"; }
[[ $(wc -l < "$T/consumer.csv") == 22 ]] || fail "expected a header and ResNet-18's 21 layers"
diff "$T/map.csv" "$T/consumer.csv" > "$T/diff" || { head "$T/diff"; fail "the consumer's mapping differs from map's"; }

# the ONNX export's target, with ONNX's library (libonnx-dev is installed here)
mkdir -p "$T/ox"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(o LANGUAGES CXX)\nfind_package(jaq 0.1 CONFIG REQUIRED)\nif(NOT TARGET jaq::onnx)\n  message(FATAL_ERROR "no jaq::onnx")\nendif()\n' > "$T/ox/CMakeLists.txt"
cmake -S "$T/ox" -B "$T/ox/build" -DCMAKE_PREFIX_PATH="$T/prefix" > "$T/ox.log" 2>&1 || { cat "$T/ox.log"; fail "jaq::onnx is not defined though ONNX is installed"; }
[[ -f "$T/prefix/include/jaq/io/onnx.hpp" ]] || fail "jaq/io/onnx.hpp not installed"

# a version the package does not have
mkdir -p "$T/v9"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(v LANGUAGES CXX)\nfind_package(jaq 9.0 CONFIG REQUIRED)\n' > "$T/v9/CMakeLists.txt"
if cmake -S "$T/v9" -B "$T/v9/build" -DCMAKE_PREFIX_PATH="$T/prefix" > "$T/v9.log" 2>&1; then fail "find_package(jaq 9.0) succeeded"; fi
grep -q "0.1.0" "$T/v9.log" || { cat "$T/v9.log"; fail "the version refusal does not name the version found"; }
echo "consumer test passed"
