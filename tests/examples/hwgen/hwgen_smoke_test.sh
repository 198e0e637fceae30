#!/usr/bin/env bash
# Smoke run of //examples:hwgen: a short search on MobileNetV2-CIFAR writes a loadable JSON,
# passes its own check against the reference mapper, is reproducible, and bad input exits 2.
set -euo pipefail
BIN="$1"
T="${TEST_TMPDIR:-/tmp}/hwgen_smoke"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" --network mobilenetv2-cifar --iterations 4 --batch 6 --threads 2 --seed 3 \
  --area-budget 4 --out "$T/best.json" > "$T/out1" 2> "$T/err" || { cat "$T/out1" "$T/err"; fail "hwgen failed"; }
grep -q '^check: the reference mapper gives the same latency and energy$' "$T/out1" || fail "no check line"
grep -q '^iter 3: mean cost' "$T/out1" || fail "no last iteration line"
for f in N M wbuf_bytes ibuf_bytes obuf_bytes if_width frequency_hz; do
  grep -q "\"$f\"" "$T/best.json" || fail "best.json lacks $f"
done
[[ $(head -1 "$T/best.json.history.csv") == "iteration,mean_cost,best_cost,infeasible,entropy" ]] || fail "history csv header"
[[ $(wc -l < "$T/best.json.history.csv") == 5 ]] || fail "history csv rows"
[[ $(head -c 4 "$T/best.json.png" | od -An -tx1 | tr -d ' ') == "89504e47" ]] || fail "no PNG plot"
# Same seed, same output (wall time and cache counters aside: concurrent misses may race).
"$BIN" --network mobilenetv2-cifar --iterations 4 --batch 6 --threads 1 --seed 3 \
  --area-budget 4 > "$T/out2" 2> /dev/null
diff <(grep -v 'wall time\|^wrote\|cache_stats' "$T/out1") <(grep -v 'wall time\|cache_stats' "$T/out2") > /dev/null || fail "not reproducible"

set +e
"$BIN" --network nosuchnet --iterations 1 > /dev/null 2> "$T/err2"
rc=$?
set -e
[[ $rc == 2 ]] || fail "unknown network exit $rc"
grep -q "nosuchnet" "$T/err2" || fail "error does not name the network"

# --device auto: the same search wherever it scores (the GPU's scores are the CPU's), one line
# saying where; --device cuda without a GPU: a clear error naming the flag, exit 2.
"$BIN" --network mobilenetv2-cifar --iterations 4 --batch 6 --threads 1 --seed 3 \
  --area-budget 4 --device auto > "$T/out3" 2> /dev/null || fail "--device auto failed"
grep -Eq '^device: (cpu \(--device auto: no CUDA device: .+\)|cuda \(.+\))$' "$T/out3" || fail "no device line"
diff <(grep -v 'wall time\|cache_stats' "$T/out2") <(grep -v 'wall time\|cache_stats\|^device: ' "$T/out3") > /dev/null \
  || fail "--device auto changed the search"
set +e
"$BIN" --network mobilenetv2-cifar --iterations 1 --batch 2 --device cuda > "$T/out4" 2> "$T/err4"
rc=$?
set -e
if ! grep -q '^device: cuda' "$T/out4"; then
  [[ $rc == 2 ]] && grep -q "cuda was asked for, but no CUDA device: .*; use --device cpu or auto" "$T/err4" \
    || { cat "$T/err4"; fail "--device cuda without a GPU: exit $rc"; }
fi
echo "hwgen smoke test passed"
