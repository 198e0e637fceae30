#!/usr/bin/env bash
# kill -9 in the middle of a search, then --resume: the results equal an uninterrupted run's; the
# same after many kills at random moments, each start resuming what the last one left.
set -euo pipefail
BIN="$1"
T="${TEST_TMPDIR:-/tmp}/search_resume"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
ARGS=(--quick --no-retrain --epochs 2 --seed 5 --threads 2)

t0=$(date +%s.%N)
"$BIN" "${ARGS[@]}" --out "$T/whole" > "$T/whole.out" 2>&1 || { tail "$T/whole.out"; fail "uninterrupted run failed"; }
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')  # seconds of a whole run, for the kill times below

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
# killed again and again at random moments (so that kills land in and around checkpoint writes):
# each start resumes what the last kill left, or starts afresh before the first checkpoint; the
# end has the uninterrupted run's results
kills=0 resumes=0
for k in 1 2 3 4 5 6 7 8; do
  resume=()
  [[ -f "$T/many/checkpoint/state.json" ]] && resume=(--resume) && resumes=$((resumes + 1))
  "$BIN" "${ARGS[@]}" --out "$T/many" "${resume[@]}" > "$T/many$k.out" 2>&1 &
  pid=$!
  if [[ ${#resume[@]} -eq 0 ]]; then  # a fresh start: let it write its first checkpoint, so that the next one resumes
    for _ in $(seq 1 600); do
      [[ -f "$T/many/checkpoint/state.json" ]] && break
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.1
    done
  fi
  sleep "$(awk -v r=$RANDOM -v w="$wall" 'BEGIN { printf "%.2f", w * (0.05 + (r % 400) / 1000) }')"  # 5-45% of a whole run
  kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
  wait "$pid" 2> /dev/null || true
  [[ -f "$T/many/result.json" ]] && break
done
resume=()
[[ -f "$T/many/checkpoint/state.json" ]] && resume=(--resume)
"$BIN" "${ARGS[@]}" --out "$T/many" "${resume[@]}" > "$T/many_end.out" 2>&1 || { tail "$T/many_end.out"; fail "the last start after $kills kills failed"; }
echo "killed $kills times; $resumes of the starts resumed a checkpoint (a whole run: $wall s)"
[[ $resumes -gt 0 ]] || fail "no start found a checkpoint to resume (the kills came too early to test resuming)"
for f in derived.json accel.json mapping.csv layers.csv; do
  cmp "$T/whole/$f" "$T/many/$f" || fail "$f differs after $kills kills"
done
diff <(cut -d, -f1-12,15- "$T/whole/search_log.csv") <(cut -d, -f1-12,15- "$T/many/search_log.csv") \
  || fail "search_log.csv differs after $kills kills"

# resuming a finished run changes nothing
"$BIN" "${ARGS[@]}" --out "$T/killed" --resume > "$T/again.out" 2>&1 || fail "second --resume failed"
cmp "$T/whole/derived.json" "$T/killed/derived.json" || fail "derived.json changed on a second resume"
echo "search resume test passed"
