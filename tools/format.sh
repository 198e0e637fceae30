#!/usr/bin/env bash
# Formats every C++ and CUDA file with clang-format (.clang-format at the root); //tests/style:format_test checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
find jaq examples tests bench kernels tools \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) -type f -print0 |
  xargs -0 clang-format -i
