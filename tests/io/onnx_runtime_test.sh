#!/usr/bin/env bash
# The exported model against ONNX Runtime: a --quick search (with --separate-wa, so weights and
# activations have widths of their own) retrains a small network, writes model.onnx and jaq's
# own predictions; ONNX Runtime's predictions on the same test images must agree on >= 99.9% of
# them with accuracies within 0.1 points (tools/onnx_check.py). Without ONNX Runtime the test
# says so and checks what it can without it (the files exist, the model is ONNX's protobuf).
set -euo pipefail
BIN="$1"
CHECK="$2"
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

PY=""
for p in "${JAQ_ONNX_PYTHON:-}" /opt/jaq-onnx-venv/bin/python python3; do
  if [[ -n "$p" ]] && command -v "$p" > /dev/null && "$p" -c 'import onnxruntime, numpy' 2> /dev/null; then PY="$p"; break; fi
done
if [[ -z "$PY" ]]; then
  echo "ONNX Runtime is not installed: the runtime check did NOT run (tools/bootstrap.sh creates /opt/jaq-onnx-venv with it)"
  exit 0
fi
"$PY" "$CHECK" "$T/run/model.onnx" "$T/run/predictions.csv" > "$T/check.json" 2> "$T/check.err" || { cat "$T/check.json" "$T/check.err"; fail "ONNX Runtime disagrees with jaq"; }
cat "$T/check.json"
grep -q '"ok": true' "$T/check.json" || fail "the check did not report ok"
echo "ONNX Runtime agrees with jaq on $images images"
