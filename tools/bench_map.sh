#!/usr/bin/env bash
# The exhaustive scalar reference mapper vs BatchTile, side by side in one run: ResNet-18 (batch
# 1 and 16) and MobileNetV2-CIFAR at 8/8, 4/4, 2/2, 4/2, 8/2 on the reference configuration, and
# one hardware-search iteration on the 22-block network, then ResNet-18 on a compile-time
# configuration against the same run-time one. Prints wall times, their ratio and
# candidate evaluations per second (see bench/map_bench.cpp for the definitions), checks that
# both agree on every row (mismatches printed, exit status 1) (docs/benchmarks.md).
#
#   tools/bench_map.sh                 # default: portable build (SSE2), 2 threads, 21 reps
#   tools/bench_map.sh --reps 51       # more repetitions for the medians
#   BAZEL_FLAGS=--config=native tools/bench_map.sh   # this machine's SIMD (AVX2/AVX-512)
#
# Environment: BAZEL_STARTUP (e.g. "--output_base=/tmp/ob"), BAZEL_FLAGS. The binary is built
# with `bazel build -c opt` and run directly, so the Bazel client is not timed.
set -euo pipefail
cd "$(dirname "$0")/.."

ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps|--threads) ARGS+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench_map.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# shellcheck disable=SC2206
BAZEL=(bazel ${BAZEL_STARTUP:-})
# shellcheck disable=SC2206
FLAGS=(-c opt ${BAZEL_FLAGS:-})

echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== building: ${BAZEL[*]} build ${FLAGS[*]} //bench:map_bench"
"${BAZEL[@]}" build "${FLAGS[@]}" //bench:map_bench
BIN="$("${BAZEL[@]}" info "${FLAGS[@]}" bazel-bin 2>/dev/null)/bench/map_bench"
echo "== bench/map_bench ${ARGS[*]:-}"
"$BIN" "${ARGS[@]}"
