#!/usr/bin/env bash
# clang-tidy (.clang-tidy at the root) on translation units of the tree; the headers they include
# are checked through them (HeaderFilterRegex). Prints each finding and exits 1 on any.
#
#   tools/tidy.sh                  # the programs: examples/*.cpp and the CMake consumer (every module)
#   tools/tidy.sh --all            # every .cpp of examples, tests and bench (slow: minutes per dozen)
#   TIDY_JOBS=2 tools/tidy.sh      # parallel
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-tidy > /dev/null || { echo "tidy: needs clang-tidy (apt-get install clang-tidy)"; exit 1; }
if [[ "${1:-}" == "--all" ]]; then
  mapfile -t units < <(find examples tests bench -name '*.cpp' -type f | sort)
else
  mapfile -t units < <(ls examples/*.cpp examples/consumer/*.cpp)
fi
flags=(-std=c++20 -I. -isystem /usr/include/x86_64-linux-gnu/openblas-pthread -DONNX_ML=1 -DONNX_NAMESPACE=onnx)
out="${TIDY_DIR:-${TEST_TMPDIR:-/tmp}/jaq_tidy}"
mkdir -p "$out"
export out
printf '%s\n' "${units[@]}" | xargs -P "${TIDY_JOBS:-2}" -I{} sh -c \
  'f="{}"; clang-tidy --quiet "$f" -- '"${flags[*]}"' > "$out/$(echo "$f" | tr / _).log" 2>&1 || echo "$f" >> "$out/failed"'
status=0
if [[ -s "$out/failed" ]]; then
  for f in $(sort -u "$out/failed"); do grep -E "(warning|error):" "$out/$(echo "$f" | tr / _).log" | sort -u; done
  status=1
fi
rm -f "$out/failed"
echo "tidy: ${#units[@]} translation units, $([[ $status == 0 ]] && echo clean || echo "findings above")"
exit $status
