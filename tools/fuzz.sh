#!/usr/bin/env bash
# libFuzzer on every parser target of tests/fuzz/targets.hpp, with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang from Debian's clang package; jaq is header-only, so each
# target is one clang++ command). Each target starts from its checked-in corpus,
# tests/fuzz/corpus/<target>/ (the docs' examples, the presets, the tests' bad inputs, and what
# earlier runs kept), which //tests/fuzz:fuzz_regression_test replays on every build.
# A finding stops that target and leaves crash-*/leak-*/timeout-* files in the work folder;
# the script ends with one line per target (inputs run, executions per second, coverage) and
# exits non-zero if any found one.
#
#   tools/fuzz.sh [seconds per target, default 60] [target ...]
#   FUZZ_JOBS=2 tools/fuzz.sh 600                 # two targets at a time
#   FUZZ_UPDATE_CORPUS=1 tools/fuzz.sh 600        # then merge the new coverage into tests/fuzz/corpus/
#
# Targets: layer_csv accel_json preset csv bit_list checkpoint idx cifar derived.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(layer_csv accel_json preset csv bit_list checkpoint idx cifar derived)
command -v clang++ > /dev/null || { echo "fuzz: needs clang++ (apt-get install clang)"; exit 1; }
work="${FUZZ_DIR:-/tmp/jaq_fuzz}"
jobs="${FUZZ_JOBS:-1}"
mkdir -p "$work"
repo=$(pwd)

run_one() {
  local t="$1" bin="$work/$1" corpus="$work/corpus_$1" rc=0
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DJAQ_FUZZ_TARGET="\"$t\"" -I. -I/usr/include/x86_64-linux-gnu/openblas-pthread tests/fuzz/libfuzzer_main.cpp \
    -o "$bin" -ltbb -lz -lopenblas
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp "$repo/tests/fuzz/corpus/$t/"* "$corpus/" 2> /dev/null || true
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$work/$t-" "$corpus" > "$work/$t.log" 2>&1) || rc=$?
  local runs eps cov ft rss
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/$t.log" | grep -o '[0-9]*$' || echo "?")
  eps=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$work/$t.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$work/$t.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  rss=$(grep -oE 'stat::peak_rss_mb: *[0-9]+' "$work/$t.log" | grep -oE '[0-9]+$' || echo "?")
  if [[ $rc -eq 0 ]]; then
    echo "$t: no finding in ${secs} s: $runs inputs, $eps exec/s, coverage $cov edges, $ft features, peak RSS $rss MB" > "$work/$t.summary"
    if [[ "${FUZZ_UPDATE_CORPUS:-0}" == 1 ]]; then  # keep only inputs that add coverage
      mkdir -p "$work/merged_$t"
      rm -rf "${work:?}/merged_$t/"*
      (cd "$work" && "$bin" -merge=1 -max_len=8192 "$work/merged_$t" "$repo/tests/fuzz/corpus/$t" "$corpus" > "$work/$t.merge.log" 2>&1)
      cp -n "$work/merged_$t/"* "$repo/tests/fuzz/corpus/$t/" 2> /dev/null || true
      echo "$t: corpus now $(ls "$repo/tests/fuzz/corpus/$t" | wc -l) files" >> "$work/$t.summary"
    fi
  else
    echo "$t: FINDING (rc $rc), see $work/$t.log and $work/$t-*" > "$work/$t.summary"
  fi
}

pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do sleep 1; done
done
wait
status=0
for t in "${targets[@]}"; do
  cat "$work/$t.summary"
  grep -q FINDING "$work/$t.summary" && status=1
done
exit $status
