#!/usr/bin/env bash
# Smoke runs of //examples:train with quantization and the mixed-precision search: a few steps
# of each mode, the result line with peak_backward_bytes, and the bad-input errors. (PACT and the
# naive supernet are covered by tests/quant/quantize_model_test and tests/nas/search_model_test.)
set -euo pipefail
BIN="$1"
OUT="${TEST_TMPDIR:-/tmp}/train_quant_smoke"
RESULT='^result: test_accuracy=(0|1)\.[0-9]+ median_step_ms=[0-9.]+ images_per_s=[0-9.]+ peak_backward_bytes=[0-9]+$'

run() {  # run NAME EXPECT ARGS...: a short training run whose log must contain EXPECT
  local name="$1" expect="$2"
  shift 2
  rm -rf "$OUT"
  "$BIN" --max-steps 3 --batch 16 --every 1 --threads 2 --out "$OUT" "$@" > "$OUT.log" 2>&1 || {
    cat "$OUT.log"; echo "FAIL: $name: run failed"; exit 1; }
  [[ "$(tail -1 "$OUT.log")" =~ $RESULT ]] || { cat "$OUT.log"; echo "FAIL: $name: no result line"; exit 1; }
  grep -q -- "$expect" "$OUT.log" || { cat "$OUT.log"; echo "FAIL: $name: '$expect' missing"; exit 1; }
}

run lsq "conv2: w4 a4 (lsq)" --quant lsq --bits 4
run minmax "conv2: w3 a4" --quant minmax --wbits 3 --abits 4
run dorefa "conv2: w4 a4" --quant dorefa --bits 4
run csq "CSQ K=20%" --mixed 2,3,4,8 --csq 20 --csq-every 2
[[ -s "$OUT/derived.json" ]] || { echo "FAIL: csq: no derived.json"; exit 1; }
cp "$OUT/derived.json" "$TEST_TMPDIR/derived.json"
derived=$(sed -n 's/^  \([a-z0-9_.]*\): \([0-9]\) bits$/\1 \2/p' "$OUT.log")
[[ -n "$derived" ]] || { cat "$OUT.log"; echo "FAIL: csq: no derived widths printed"; exit 1; }
# Retraining the derived network fully quantized: each searched layer at its derived width.
run retrain "(lsq)" --derived "$TEST_TMPDIR/derived.json"
while read -r name bits; do
  grep -q "$name: w$bits a$bits" "$OUT.log" || { cat "$OUT.log"; echo "FAIL: retrain: $name not at $bits bits"; exit 1; }
done <<< "$derived"
run csq-mbconv "derived precision:" --model mbconv-small --mixed 2,4,8 --csq 50

fails() {  # fails NAME MESSAGE ARGS...: the run must fail and print MESSAGE
  local name="$1" msg="$2"
  shift 2
  if "$BIN" --max-steps 1 --batch 8 --out "$OUT" "$@" > "$OUT.err" 2>&1; then echo "FAIL: $name accepted"; exit 1; fi
  grep -qF -- "$msg" "$OUT.err" || { cat "$OUT.err"; echo "FAIL: $name: message"; exit 1; }
}
fails bits9 "--wbits: bits: unsupported bit-width 9 (must be 1..8)" --quant lsq --bits 9
fails bits0 "--mixed: bits: unsupported bit-width 0" --mixed 0,4
fails k150 "csq K: keep percentage 150 is outside (0, 100]" --mixed 2,4 --csq 150
fails k0 "csq K: keep percentage 0 is outside (0, 100]" --mixed 2,4 --csq 0
fails csq-alone "give --mixed too" --csq 20
fails method "unknown quantizer 'xnor'" --quant xnor
fails derived-missing "/nonexistent/derived.json" --derived /nonexistent/derived.json
printf '{"model": "small-cnn", "layers": [{"name": "conv9", "bits": 4}]}' > "$TEST_TMPDIR/bad_layer.json"
fails derived-layer "layer conv9: no weighted layer of this name" --derived "$TEST_TMPDIR/bad_layer.json"
printf '{"model": "small-cnn", "layers": [{"name": "conv2", "bits": 9}]}' > "$TEST_TMPDIR/bad_bits.json"
fails derived-bits "layer conv2 bits" --derived "$TEST_TMPDIR/bad_bits.json"
printf '{"model": "small-cnn", "layers": [{"name": "conv2"}]}' > "$TEST_TMPDIR/no_bits.json"
fails derived-field "layers[0]: bits: missing" --derived "$TEST_TMPDIR/no_bits.json"
fails derived-mixed "--derived/--mixed" --derived "$TEST_TMPDIR/derived.json" --mixed 2,4
echo "PASS"
