#!/usr/bin/env bash
# Issue 11: train checkpoints as it goes and --resume continues a killed run. A run killed with
# SIGKILL at an arbitrary moment and resumed ends with the bytes of the uninterrupted run's
# checkpoint; a run stopped by --max-steps and resumed equals one that ran through; a missing,
# foreign or corrupt checkpoint and a --mixed search are refused with a message; quantization-aware
# runs resume exactly too. Args: train.
set -euo pipefail
source "$(dirname "$0")/test_lib.sh"  # abs, fail, expect_error
TRAIN=$(abs "$1")
T="${TEST_TMPDIR:-/tmp}/train_resume_test"
rm -rf "$T" && mkdir -p "$T" && cd "$T"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Prescott}"
run=(--batch 64 --eval-images 200 --every 1000)

# the uninterrupted reference
"$TRAIN" "${run[@]}" --max-steps 150 --out whole > whole.log

# stopped by --max-steps, then resumed to the same end
"$TRAIN" "${run[@]}" --max-steps 25 --out parts > parts1.log
"$TRAIN" "${run[@]}" --max-steps 150 --out parts --resume > parts2.log
grep -q "resumed parts at step 25" parts2.log || { cat parts2.log; fail "no resume line"; }
cmp whole/checkpoint.jaqckpt parts/checkpoint.jaqckpt || fail "resumed after --max-steps: checkpoint differs"

# killed with SIGKILL once a checkpoint exists (every 5 steps), at whatever moment that is
"$TRAIN" "${run[@]}" --max-steps 150 --checkpoint-every 5 --out killed > killed1.log 2>&1 &
pid=$!
for _ in $(seq 600); do [[ -f killed/train_state.json ]] && break; sleep 0.05; done
[[ -f killed/train_state.json ]] || { kill -9 $pid; fail "no checkpoint within 30 s"; }
sleep 0.$((RANDOM % 10))
kill -9 $pid 2> /dev/null || true
wait $pid 2> /dev/null || true
grep -q "^result:" killed1.log && fail "the run finished before the kill (the test needs a longer run)"
echo "killed at: $(python3 -c 'import json; print("step", json.load(open("killed/train_state.json"))["step"])')"
ls killed/*.tmp* 2> /dev/null && echo "note: a temporary file survived the kill (ignored by --resume)"
"$TRAIN" "${run[@]}" --max-steps 150 --checkpoint-every 5 --out killed --resume > killed2.log
cmp whole/checkpoint.jaqckpt killed/checkpoint.jaqckpt || fail "resumed after SIGKILL: checkpoint differs"
python3 - <<'PY' || fail "metrics after resume differ"
import json
a = json.load(open("whole/metrics.json")); b = json.load(open("killed/metrics.json"))
for k in ("train_loss", "train_accuracy", "test_accuracy", "steps"):
    assert a["epochs"][-1][k] == b["epochs"][-1][k], (k, a["epochs"][-1][k], b["epochs"][-1][k])
assert a["result"]["test_accuracy"] == b["result"]["test_accuracy"]
PY

# killed again and again at random moments while checkpointing every step, so that kills land
# in and around checkpoint writes: each start resumes from whatever the last kill left (or starts
# afresh when no checkpoint was written yet), and the end has the uninterrupted run's bytes
kills=0 resumes=0
for k in 1 2 3 4 5 6 7 8; do
  resume=()
  [[ -f many/train_state.json ]] && resume=(--resume) && resumes=$((resumes + 1))
  "$TRAIN" "${run[@]}" --max-steps 150 --checkpoint-every 1 --out many "${resume[@]}" > "many$k.log" 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.6 + (r % 150) / 100 }')"
  kill -9 $pid 2> /dev/null && kills=$((kills + 1))
  wait $pid 2> /dev/null || true
  grep -q "^result:" "many$k.log" && break
done
resume=()
[[ -f many/train_state.json ]] && resume=(--resume)
"$TRAIN" "${run[@]}" --max-steps 150 --checkpoint-every 1 --out many "${resume[@]}" > many_end.log 2>&1 || { tail many_end.log; fail "the last resume after $kills kills failed"; }
echo "killed $kills times; $resumes of the starts resumed a checkpoint"
cmp whole/checkpoint.jaqckpt many/checkpoint.jaqckpt || fail "after $kills kills at random moments: checkpoint differs"

# refusals
expect_error "train_state.json: no checkpoint here" "$TRAIN" "${run[@]}" --max-steps 150 --out empty --resume
expect_error "checkpoint of another run" "$TRAIN" "${run[@]}" --lr 0.05 --max-steps 150 --out whole --resume
expect_error "--checkpoint-every" "$TRAIN" "${run[@]}" --checkpoint-every -5 --out neg
expect_error "checkpoint of another run" "$TRAIN" "${run[@]}" --mixed 2,4 --max-steps 150 --out whole --resume
expect_error "checkpoint of another run" "$TRAIN" "${run[@]}" --quant lsq --bits 4 --max-steps 150 --out whole --resume

# a --mixed search with CSQ (logits, per-width steps, flags, masks, the architecture optimizer)
# resumes to the same end: the same checkpoint bytes and the same derived precision
mixed=(--mixed 2,4 --csq 20 --epochs 2)
"$TRAIN" "${run[@]}" "${mixed[@]}" --max-steps 40 --out m_whole > /dev/null
"$TRAIN" "${run[@]}" "${mixed[@]}" --max-steps 15 --out m_parts > /dev/null
"$TRAIN" "${run[@]}" "${mixed[@]}" --max-steps 40 --out m_parts --resume > m_parts2.log
grep -q "resumed m_parts at step 15" m_parts2.log || { cat m_parts2.log; fail "--mixed: no resume line"; }
cmp m_whole/checkpoint.jaqckpt m_parts/checkpoint.jaqckpt || fail "--mixed --csq resumed: checkpoint differs"
cmp m_whole/derived.json m_parts/derived.json || fail "--mixed --csq resumed: derived precision differs"

# quantization-aware training (LSQ steps, PACT clips, activation grids) resumes exactly too
for q in lsq pact; do
  "$TRAIN" "${run[@]}" --quant $q --bits 3 --max-steps 40 --out q_whole_$q > /dev/null
  "$TRAIN" "${run[@]}" --quant $q --bits 3 --max-steps 15 --out q_parts_$q > /dev/null
  "$TRAIN" "${run[@]}" --quant $q --bits 3 --max-steps 40 --out q_parts_$q --resume > /dev/null
  cmp q_whole_$q/checkpoint.jaqckpt q_parts_$q/checkpoint.jaqckpt || fail "--quant $q resumed: checkpoint differs"
done
cp -r whole corrupt && head -c 40 whole/train_state.json > corrupt/train_state.json
expect_error "corrupt checkpoint manifest" "$TRAIN" "${run[@]}" --max-steps 150 --out corrupt --resume
[[ $(ls killed/checkpoint-step*.jaqckpt | wc -l) -eq 1 ]] || fail "older checkpoints not removed: $(ls killed)"
cp -r whole trunc && f=$(ls trunc/checkpoint-step*.jaqckpt) && head -c 100 "$f" > trunc/tmp && mv trunc/tmp "$f"
expect_error "$(basename "$f")" "$TRAIN" "${run[@]}" --max-steps 150 --out trunc --resume
echo "train resume: OK"
