#!/usr/bin/env bash
# kill -9 in the middle of a search, then --resume: the results equal an uninterrupted run's.
set -euo pipefail
BIN="$1"
T="${TEST_TMPDIR:-/tmp}/search_resume"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
ARGS=(--quick --no-retrain --epochs 2 --seed 5 --threads 2)

"$BIN" "${ARGS[@]}" --out "$T/whole" > "$T/whole.out" 2>&1 || { tail "$T/whole.out"; fail "uninterrupted run failed"; }

"$BIN" "${ARGS[@]}" --out "$T/killed" > "$T/killed.out" 2>&1 &
pid=$!
# wait for the first epoch's checkpoint, then kill during the next epoch
for _ in $(seq 1 600); do
  [[ -f "$T/killed/checkpoint/state.json" ]] && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.2
done
[[ -f "$T/killed/checkpoint/state.json" ]] || fail "no checkpoint appeared"
sleep 1
kill -9 "$pid" 2> /dev/null || fail "the run ended before it could be killed"
wait "$pid" 2> /dev/null || true
[[ ! -f "$T/killed/result.json" ]] || fail "the killed run finished anyway"

"$BIN" "${ARGS[@]}" --out "$T/killed" --resume > "$T/resumed.out" 2>&1 || { tail "$T/resumed.out"; fail "--resume failed"; }
grep -q '^resumed from .* after epoch [12]/3' "$T/resumed.out" || fail "no resume line"
for f in derived.json accel.json mapping.csv layers.csv; do
  cmp "$T/whole/$f" "$T/killed/$f" || fail "$f differs after resume"
done
# the per-epoch figures, time columns aside (seconds_train, seconds_hw are columns 13 and 14)
diff <(cut -d, -f1-12,15- "$T/whole/search_log.csv") <(cut -d, -f1-12,15- "$T/killed/search_log.csv") \
  || fail "search_log.csv differs after resume"
# resuming a finished run changes nothing
"$BIN" "${ARGS[@]}" --out "$T/killed" --resume > "$T/again.out" 2>&1 || fail "second --resume failed"
cmp "$T/whole/derived.json" "$T/killed/derived.json" || fail "derived.json changed on a second resume"
echo "search resume test passed"
