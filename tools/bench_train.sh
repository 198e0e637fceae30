#!/usr/bin/env bash
# Trains the small-cnn on Fashion-MNIST in jaq and in PyTorch, one after the other on the same
# machine, batch 128, 2 threads, and prints a table per PyTorch build of median step time,
# images/s, peak RSS and test accuracy with the jaq/PyTorch ratios (docs/benchmarks.md). The
# PyTorch builds: Debian's python3-torch (1.13) and the current 2.x from PyPI in
# /opt/jaq-bench-venv (both made by tools/bootstrap.sh --bench; TORCH_PYTHONS="py ..." overrides).
#
#   tools/bench_train.sh                   # the full comparison, fp32, one epoch (a few minutes)
#   tools/bench_train.sh --epochs 3        # three epochs (the cosine spans all three)
#   tools/bench_train.sh --quant lsq --bits 4   # LSQ 4-bit QAT on both sides (first, last layer 8-bit)
#   tools/bench_train.sh --max-steps 50    # quick look (accuracy then means nothing)
#   tools/bench_train.sh --torch-only      # only the PyTorch half
#   tools/bench_train.sh --self-test       # check the log parsing against fake lines
#   tools/bench_train.sh --wait-idle 600   # first wait up to 600 s for a 1-minute load < 0.3
#   tools/bench_train.sh --seeds 1,2,3     # one run per seed and side: mean accuracy, median timings
#   tools/bench_train.sh --priority        # on a busy machine: each run in its own session whose
#                                          # scheduler autogroup gets nice -19 (root only)
#
# Environment: BAZEL_STARTUP (e.g. "--output_base=/tmp/ob"), BAZEL_FLAGS (e.g. "--config=native"),
# OUT (log directory, default runs/bench_train). The jaq binary is built with `bazel build -c opt`
# and run directly, so /usr/bin/time measures the trainer and not the Bazel client.
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS=1 BATCH=128 THREADS=2 SEEDS=1 MAX_STEPS=0 TORCH_ONLY=0 WAIT_IDLE=0 PRIORITY=0 QUANT="" BITS=4
DATA_DIR=/usr/share/datasets/fashion-mnist
while [[ $# -gt 0 ]]; do
  case "$1" in
    --max-steps) MAX_STEPS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --quant) QUANT="$2"; shift 2 ;;
    --bits) BITS="$2"; shift 2 ;;
    --seed|--seeds) SEEDS="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --torch-only) TORCH_ONLY=1; shift ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --priority) PRIORITY=1; shift ;;
    --self-test) exec /usr/bin/python3 tools/bench_table.py --self-test ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench_train.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

tools/bootstrap.sh --bench
[[ -x /usr/bin/time ]] || { echo "bench_train.sh: /usr/bin/time missing (Debian package 'time')" >&2; exit 1; }

OUT=${OUT:-runs/bench_train}
mkdir -p "$OUT"
# shellcheck disable=SC2206
BAZEL=(bazel ${BAZEL_STARTUP:-})
# shellcheck disable=SC2206
FLAGS=(-c opt ${BAZEL_FLAGS:-})

COMMON=(--epochs "$EPOCHS" --batch "$BATCH" --threads "$THREADS" --data-dir "$DATA_DIR")
IFS=, read -r -a SEED_LIST <<< "$SEEDS"
[[ "$MAX_STEPS" != 0 ]] && COMMON+=(--max-steps "$MAX_STEPS")
if [[ -n "$QUANT" ]]; then
  [[ "$QUANT" == lsq ]] || { echo "bench_train.sh: --quant: only lsq has a PyTorch twin (tools/bench_train_torch.py)" >&2; exit 2; }
  COMMON+=(--quant "$QUANT" --bits "$BITS")
fi
if [[ -n "${TORCH_PYTHONS:-}" ]]; then
  read -r -a TORCH_PYTHONS <<< "$TORCH_PYTHONS"
else
  TORCH_PYTHONS=(/usr/bin/python3)
  [[ -x /opt/jaq-bench-venv/bin/python ]] && TORCH_PYTHONS+=(/opt/jaq-bench-venv/bin/python)
fi
# Both sides train with the same recipe: jaq's examples/train defaults (see docs/benchmarks.md).
TORCH_RECIPE=(--optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule cosine)

MACHINE="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores, $(uname -sr)"
echo "== machine: $MACHINE"
# Two threads on two cores: any other load distorts both sides (PyTorch's OpenMP threads spin-wait
# and slow down by 10x or more when a core is taken), so measure on an otherwise idle machine.
# check_load NAME: waits up to WAIT_IDLE seconds for a quiet machine, then records the load.
check_load() {
  local waited=0 load
  load=$(cut -d' ' -f1 /proc/loadavg)
  while awk -v l="$load" 'BEGIN { exit !(l >= 0.3) }' && [[ $waited -lt $WAIT_IDLE ]]; do
    sleep 10; waited=$((waited + 10)); load=$(cut -d' ' -f1 /proc/loadavg)
  done
  echo "$load" > "$OUT/$1.load"
  if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "== WARNING: load average $load before the $1 run; its timings will not be representative" >&2
  fi
}

# measure CMD...: runs CMD under /usr/bin/time -v; with --priority, in a new session whose
# autogroup (Linux groups a session's processes for CPU sharing, so plain `nice` does not beat
# other sessions) gets nice -19.
measure() {
  local time_file="$1"; shift
  if [[ $PRIORITY == 1 ]]; then
    setsid bash -c 'echo -19 > /proc/self/autogroup || echo "== WARNING: cannot raise the priority" >&2
                    exec "$@"' _ /usr/bin/time -v -o "$time_file" "$@" < /dev/null
  else
    /usr/bin/time -v -o "$time_file" "$@"
  fi
}

if [[ $TORCH_ONLY == 0 ]]; then
  echo "== building jaq: ${BAZEL[*]} build ${FLAGS[*]} //examples:train"
  "${BAZEL[@]}" build "${FLAGS[@]}" //examples:train
  BIN="$("${BAZEL[@]}" info "${FLAGS[@]}" bazel-bin 2>/dev/null)/examples/train"
fi

# Each interpreter's PyTorch version, without a local suffix, asked once: TORCH_VERSIONS[i] for TORCH_PYTHONS[i]
TORCH_VERSIONS=()
for py in "${TORCH_PYTHONS[@]}"; do TORCH_VERSIONS+=("$("$py" -c 'import torch; print(torch.__version__.split("+")[0])')"); done
JAQ_LOGS=() JAQ_TIMES=()
declare -A TORCH_LOGS TORCH_TIMES
for seed in "${SEED_LIST[@]}"; do
  if [[ $TORCH_ONLY == 0 ]]; then
    check_load jaq
    echo "== jaq: examples/train ${COMMON[*]} --seed $seed"
    grep '^cpu ' /proc/stat > "$OUT/jaq.$seed.stat"
    measure "$OUT/jaq.$seed.time" "$BIN" "${COMMON[@]}" --seed "$seed" --out "$OUT/jaq_run" 2>&1 \
      | tee "$OUT/jaq.$seed.log"
    grep '^cpu ' /proc/stat >> "$OUT/jaq.$seed.stat"
    JAQ_LOGS+=("$OUT/jaq.$seed.log") JAQ_TIMES+=("$OUT/jaq.$seed.time")
  fi
  for i in "${!TORCH_PYTHONS[@]}"; do
    py=${TORCH_PYTHONS[$i]} ver=${TORCH_VERSIONS[$i]}
    check_load "torch-$ver"
    echo "== PyTorch $ver ($py): tools/bench_train_torch.py ${COMMON[*]} --seed $seed ${TORCH_RECIPE[*]}"
    base="$OUT/torch-$ver.$seed"
    grep '^cpu ' /proc/stat > "$base.stat"
    measure "$base.time" "$py" tools/bench_train_torch.py "${COMMON[@]}" --seed "$seed" \
      "${TORCH_RECIPE[@]}" 2>&1 | tee "$base.log"
    grep '^cpu ' /proc/stat >> "$base.stat"
    TORCH_LOGS[$ver]+="$base.log " TORCH_TIMES[$ver]+="$base.time "
  done
done

if [[ $TORCH_ONLY == 1 ]]; then
  for ver in "${!TORCH_TIMES[@]}"; do
    # shellcheck disable=SC2086
    sed -n "s/.*Maximum resident set size (kbytes): *\([0-9]*\).*/== PyTorch $ver peak RSS: \1 KiB/p" ${TORCH_TIMES[$ver]}
  done
  exit 0
fi

ARGS=""
[[ "$EPOCHS" != 1 ]] && ARGS+=" --epochs $EPOCHS"
[[ -n "$QUANT" ]] && ARGS+=" --quant $QUANT --bits $BITS"
[[ "$SEEDS" != 1 ]] && ARGS+=" --seeds $SEEDS"
[[ "$PRIORITY" == 1 ]] && ARGS+=" --priority"
[[ "$MAX_STEPS" != 0 ]] && ARGS+=" --max-steps $MAX_STEPS"
: > "$OUT/table.md"
LABEL=fp32
[[ -n "$QUANT" ]] && LABEL="${QUANT^^}-$BITS"
for ver in "${TORCH_VERSIONS[@]}"; do
  echo
  # shellcheck disable=SC2086
  /usr/bin/python3 tools/bench_table.py --jaq-log "${JAQ_LOGS[@]}" --jaq-time "${JAQ_TIMES[@]}" \
    --torch-log ${TORCH_LOGS[$ver]} --torch-time ${TORCH_TIMES[$ver]} --torch-label "PyTorch $ver" \
    --run "small-cnn $LABEL, $EPOCHS epoch$([[ $EPOCHS == 1 ]] || echo s)" \
    --machine "$MACHINE; load average before jaq $(cat "$OUT/jaq.load"), before PyTorch $(cat "$OUT/torch-$ver.load") (last run)" \
    --command "${BAZEL_FLAGS:+BAZEL_FLAGS=\"$BAZEL_FLAGS\" }tools/bench_train.sh$ARGS" \
    | tee -a "$OUT/table.md"
done
