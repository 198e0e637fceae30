#!/usr/bin/env bash
# The exported models against ONNX Runtime. A --quick search (with --separate-wa, so weights and
# activations have widths of their own) retrains a small network and writes model.onnx and jaq's
# own predictions; //examples:train exports mbconv-small retrained at a --mixed search's derived
# precision (--derived) and a full-precision small-cnn. ONNX Runtime's predictions on the same
# test images must agree on >= 99.9% of them with accuracies within 0.1 points
# (tools/onnx_check.py). Without ONNX Runtime the test says so and checks what it can without it
# (the files exist and carry jaq's metadata).
set -euo pipefail
BIN="$1"
CHECK="$2"
TRAIN="$3"
T="${TEST_TMPDIR:-/tmp}/onnx_rt"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" --quick --separate-wa --out "$T/run" --threads 2 > "$T/out" 2> "$T/err" || { tail -20 "$T/out" "$T/err"; fail "search --quick failed"; }
[[ -s "$T/run/model.onnx" ]] || fail "no model.onnx"
[[ $(head -1 "$T/run/predictions.csv") == "index,label,prediction" ]] || fail "predictions.csv has no header"
images=$(( $(wc -l < "$T/run/predictions.csv") - 1 ))
[[ $images -gt 0 ]] || fail "predictions.csv has no rows"
grep -q "jaq_version" "$T/run/model.onnx" || fail "model.onnx carries no jaq_version metadata"
# train: a short --mixed search, its derived precision retrained and exported; a full-precision model
"$TRAIN" --model mbconv-small --mixed 2,4 --max-steps 8 --eval-images 500 --out "$T/mixed" > "$T/mixed.out" 2>&1 || { tail "$T/mixed.out"; fail "train --mixed failed"; }
"$TRAIN" --model mbconv-small --derived "$T/mixed/derived.json" --max-steps 40 --eval-images 1000 --out "$T/derived" \
  --export-onnx "$T/derived/model.onnx" > "$T/derived.out" 2>&1 || { tail "$T/derived.out"; fail "train --derived --export-onnx failed"; }
"$TRAIN" --model small-cnn --max-steps 40 --eval-images 1000 --out "$T/fp" --export-onnx "$T/fp/model.onnx" > "$T/fp.out" 2>&1 ||
  { tail "$T/fp.out"; fail "train --export-onnx (full precision) failed"; }
for d in derived fp; do
  [[ -s "$T/$d/model.onnx" && -s "$T/$d/predictions.csv" ]] || fail "$d: no model.onnx or predictions.csv"
done
if "$TRAIN" --mixed 2,4 --max-steps 2 --out "$T/bad" --export-onnx "$T/bad/m.onnx" > "$T/bad.out" 2>&1; then fail "--mixed with --export-onnx accepted"; fi
grep -q "export-onnx: exports a trained network, not a --mixed search" "$T/bad.out" || { cat "$T/bad.out"; fail "unclear --mixed/--export-onnx refusal"; }

PY=""
for p in "${JAQ_ONNX_PYTHON:-}" /opt/jaq-onnx-venv/bin/python python3; do
  if [[ -n "$p" ]] && command -v "$p" > /dev/null && "$p" -c 'import onnxruntime, numpy' 2> /dev/null; then PY="$p"; break; fi
done
if [[ -z "$PY" ]]; then
  echo "ONNX Runtime is not installed: the runtime check did NOT run (tools/bootstrap.sh creates /opt/jaq-onnx-venv with it)"
  exit 0
fi
for d in run derived fp; do
  "$PY" "$CHECK" "$T/$d/model.onnx" "$T/$d/predictions.csv" > "$T/$d.check.json" 2> "$T/$d.check.err" ||
    { cat "$T/$d.check.json" "$T/$d.check.err"; fail "$d: ONNX Runtime disagrees with jaq"; }
  echo "$d: $(cat "$T/$d.check.json")"
  grep -q '"ok": true' "$T/$d.check.json" || fail "$d: the check did not report ok"
done
echo "ONNX Runtime agrees with jaq on the search's model ($images images) and train's two"
