#!/usr/bin/env bash
# Every C++ and CUDA file of the checkout is laid out as .clang-format says (clang-format 14,
# Debian's; tools/bootstrap.sh installs it). Fix with: clang-format -i FILE (or tools/format.sh).
# Tagged "local": it reads the checkout itself, found through the runfile of WORKSPACE.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
command -v clang-format > /dev/null || fail "clang-format is not installed (tools/bootstrap.sh installs it)"
JAQ=$(dirname "$(readlink -f WORKSPACE)")
[[ -f "$JAQ/.clang-format" ]] || fail "no .clang-format in $JAQ"
cd "$JAQ"
mapfile -t files < <(find jaq examples tests bench kernels tools \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) -type f | sort)
[[ ${#files[@]} -gt 100 ]] || fail "found only ${#files[@]} source files under $JAQ"
if ! clang-format --dry-run --Werror "${files[@]}" > "${TEST_TMPDIR:-/tmp}/format.log" 2>&1; then
  grep -E '^[^ ]+:[0-9]+:[0-9]+: error' "${TEST_TMPDIR:-/tmp}/format.log" | cut -d: -f1 | sort -u | head -20
  fail "the files above are not formatted (clang-format -i FILE; tools/format.sh does all)"
fi
echo "${#files[@]} files formatted as .clang-format says"
