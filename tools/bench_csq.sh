#!/usr/bin/env bash
# The CSQ benchmark (docs/benchmarks.md, "Quantization-aware training and CSQ memory"): on
# small-cnn and mbconv-small, batch 128 and 512, 2 threads, side by side in one run: training
# step time, bytes held for backward (jaq's tape accounting) and peak RSS for fp32, LSQ 4-bit,
# the naive all-channel supernet over {2,3,4,8}, and CSQ over {2,3,4,8} with K = 10, 20, 50 %;
# then PyTorch (tools/bench_csq_torch.py: fp32, LSQ 4-bit, its naive supernet) for reference,
# and the target ratios. With --accuracy E it also trains small-cnn on Fashion-MNIST for E epochs
# (fp32, LSQ 4-bit, LSQ 2-bit) with //examples:train and reports the test accuracies.
#
#   tools/bench_csq.sh                          # the full table (about 10 minutes)
#   tools/bench_csq.sh --steps 5 --batches 128  # a quick look
#   tools/bench_csq.sh --accuracy 3             # plus the 3-epoch accuracy runs
#   tools/bench_csq.sh --no-torch               # jaq only
#
# Environment: BAZEL_STARTUP (e.g. "--output_base=/tmp/ob"), OUT (logs, default runs/bench_csq).
# Timings need an otherwise idle machine (2 threads on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=20 WARMUP=3 BATCHES=128,512 MODELS=small-cnn,mbconv-small TORCH=1 ACCURACY=0
MODES=fp32,lsq4,naive,csq10,csq20,csq50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --batches) BATCHES="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --no-torch) TORCH=0; shift ;;
    --accuracy) ACCURACY="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench_csq.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

OUT=${OUT:-runs/bench_csq}
# The PyTorch builds compared: Debian's 1.13 and, when tools/bootstrap.sh --bench made it, the
# current 2.x from PyPI (TORCH_PYTHONS="interpreter ..." overrides).
if [[ -n "${TORCH_PYTHONS:-}" ]]; then
  read -r -a TORCH_PYTHONS <<< "$TORCH_PYTHONS"
else
  TORCH_PYTHONS=(/usr/bin/python3)
  [[ -x /opt/jaq-bench-venv/bin/python ]] && TORCH_PYTHONS+=(/opt/jaq-bench-venv/bin/python)
fi
mkdir -p "$OUT"
# shellcheck disable=SC2206
BAZEL=(bazel ${BAZEL_STARTUP:-})
"${BAZEL[@]}" build -c opt //tests/nas:csq_bench //examples:train >/dev/null 2>&1 || {
  "${BAZEL[@]}" build -c opt //tests/nas:csq_bench //examples:train; exit 1; }
BIN_DIR=$("${BAZEL[@]}" info -c opt bazel-bin 2>/dev/null)
echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== command: tools/bench_csq.sh --steps $STEPS --warmup $WARMUP --batches $BATCHES --models $MODELS"

LOG="$OUT/results.txt"
: > "$LOG"
IFS=, read -r -a MODEL_LIST <<< "$MODELS"
IFS=, read -r -a BATCH_LIST <<< "$BATCHES"
IFS=, read -r -a MODE_LIST <<< "$MODES"
for model in "${MODEL_LIST[@]}"; do
  for batch in "${BATCH_LIST[@]}"; do
    for mode in "${MODE_LIST[@]}"; do
      "$BIN_DIR/tests/nas/csq_bench" --model "$model" --batch "$batch" --mode "$mode" --steps "$STEPS" \
        --warmup "$WARMUP" --threads 2 | tee -a "$LOG"
    done
    if [[ $TORCH == 1 ]]; then
      for py in "${TORCH_PYTHONS[@]}"; do  # each PyTorch labelled with its version: torch-1.13.0a0 ...
        ver=$("$py" -c 'import torch; print(torch.__version__.split("+")[0])')
        "$py" tools/bench_csq_torch.py --models "$model" --batches "$batch" --modes fp32,lsq4,csq \
          --steps "$STEPS" --warmup "$WARMUP" --threads 2 | grep '^torch ' | sed "s/^torch /torch-$ver /" | tee -a "$LOG"
      done
    fi
  done
done

/usr/bin/python3 - "$LOG" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if not kv: continue
    side = line.split()[0]
    rows[(side, kv["model"], int(kv["batch"]), kv["mode"])] = kv
print()
print("| model | batch | run | step ms | held for backward MiB | peak RSS MiB (training adds) |")
print("|---|---|---|---|---|---|")
for (side, model, batch, mode), kv in rows.items():
    held = f'{int(kv["peak_backward_bytes"]) / 2**20:.1f}' if "peak_backward_bytes" in kv else "-"
    rss = float(kv["peak_rss_mb"]); base = float(kv["base_rss_mb"])
    print(f"| {model} | {batch} | {side} {mode} | {float(kv['step_ms']):.1f} | {held} | {rss:.1f} ({rss - base:.1f}) |")
print()
print("| model | batch | CSQ20 / LSQ4 held | CSQ20 / naive held | CSQ20 / LSQ4 RSS | CSQ20 / naive RSS | CSQ20 / LSQ4 step |")
print("|---|---|---|---|---|---|---|")
for (side, model, batch, mode) in [k for k in rows if k[0] == "jaq" and k[3] == "csq20"]:
    g = lambda s, m: rows.get((s, model, batch, m))
    c, l, n = g("jaq", "csq20"), g("jaq", "lsq4"), g("jaq", "naive")
    if not (c and l and n): continue
    held = lambda r: int(r["peak_backward_bytes"])
    rss = lambda r: float(r["peak_rss_mb"]) - float(r["base_rss_mb"])
    print(f"| {model} | {batch} | {held(c)/held(l):.2f} (target <= 1.3) | {held(c)/held(n):.2f} (<= 0.4) | "
          f"{rss(c)/rss(l):.2f} | {rss(c)/rss(n):.2f} | {float(c['step_ms'])/float(l['step_ms']):.2f} (<= 1.3) |")
print()
print("| model | batch | PyTorch | jaq/torch fp32 step | jaq/torch LSQ4 step | jaq CSQ20 / torch naive step | jaq/torch peak RSS (fp32, LSQ4) |")
print("|---|---|---|---|---|---|---|")
for (side, model, batch, mode) in sorted({(k[0], k[1], k[2], "") for k in rows if k[0].startswith("torch")}):
    g = lambda s, m: rows.get((s, model, batch, m))
    step = lambda a, b: f'{float(a["step_ms"]) / float(b["step_ms"]):.2f}' if a and b else "-"
    mem = lambda a, b: f'{float(a["peak_rss_mb"]) / float(b["peak_rss_mb"]):.2f}' if a and b else "-"
    print(f"| {model} | {batch} | {side[6:]} | {step(g('jaq', 'fp32'), g(side, 'fp32'))} (<= 0.67) | "
          f"{step(g('jaq', 'lsq4'), g(side, 'lsq4'))} (<= 0.67) | {step(g('jaq', 'csq20'), g(side, 'csq'))} (<= 0.5) | "
          f"{mem(g('jaq', 'fp32'), g(side, 'fp32'))}, {mem(g('jaq', 'lsq4'), g(side, 'lsq4'))} (<= 0.5) |")
PY

if [[ "$ACCURACY" != 0 ]]; then
  echo
  echo "== accuracy: small-cnn, Fashion-MNIST, $ACCURACY epochs, batch 128, 2 threads (examples/train defaults)"
  for args in "" "--quant lsq --bits 4" "--quant lsq --bits 2"; do
    # shellcheck disable=SC2086
    line=$("$BIN_DIR/examples/train" --epochs "$ACCURACY" --threads 2 --every 100000 --out "$OUT/acc" $args | tail -1)
    echo "${args:-fp32}: $line" | tee -a "$OUT/accuracy.txt"
  done
fi
