#!/usr/bin/env bash
# libFuzzer on every parser target of tests/fuzz/targets.hpp, with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang from Debian's clang package; jaq is header-only, so each
# target is one clang++ command). A finding stops that target and leaves crash-* files in the
# work folder; the script ends with one line per target and exits non-zero if any found one.
#
#   tools/fuzz.sh [seconds per target, default 60] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(layer_csv accel_json preset csv bit_list checkpoint idx)
command -v clang++ > /dev/null || { echo "fuzz: needs clang++ (apt-get install clang)"; exit 1; }
work="${FUZZ_DIR:-/tmp/jaq_fuzz}"
mkdir -p "$work"
inc=(-I.)
status=0
summary=()
for t in "${targets[@]}"; do
  bin="$work/$t"
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DJAQ_FUZZ_TARGET="\"$t\"" "${inc[@]}" tests/fuzz/libfuzzer_main.cpp -o "$bin" -ltbb -lz -lopenblas
  mkdir -p "$work/corpus_$t"
  case "$t" in  # seeds: files of the kind each target reads
    preset) cp examples/presets/*.json "$work/corpus_$t/" ;;
    csv) cp jaq/hw/data/tech45/*.csv "$work/corpus_$t/" ;;
    layer_csv) printf 'name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\nconv1,3,56,1,64,64,1,0,8,8,1\ndw,3,28,2,32,32,1,0,2,2,32\n' \
      > "$work/corpus_$t/seed.csv" ;;
    accel_json) printf '{"N": 4, "M": 8, "wbuf_bytes": 16384, "ibuf_bytes": 8192, "obuf_bytes": 16384, "if_width": 384, "frequency_hz": 5e8}' \
      > "$work/corpus_$t/seed.json" ;;
    bit_list) printf '2,3,4,8' > "$work/corpus_$t/seed" ;;
  esac
  rc=0
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    "corpus_$t" 2> "$work/$t.log") || rc=$?
  if [[ $rc -eq 0 ]]; then
    summary+=("$t: no finding in ${secs} s ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | grep -o '[0-9]*$') inputs)")
  else
    summary+=("$t: FINDING (rc $rc), see $work/$t.log and $work/crash-*")
    status=1
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
