#!/usr/bin/env bash
# Issue 11: a write that fails (the disk full, here a file size limit: ulimit -f, with SIGXFSZ
# ignored so write() returns EFBIG as on a full disk) stops train with an error naming the file,
# and leaves the last good checkpoint in place: resuming from it ends with the bytes of an
# uninterrupted run. Args: train.
set -euo pipefail
source "$(dirname "$0")/test_lib.sh"  # abs, fail, expect_error
TRAIN=$(abs "$1")
T="${TEST_TMPDIR:-/tmp}/disk_full_test"
rm -rf "$T" && mkdir -p "$T" && cd "$T"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Prescott}"
run=(--batch 64 --eval-images 200 --every 1000)

"$TRAIN" "${run[@]}" --max-steps 60 --out whole > whole.log
"$TRAIN" "${run[@]}" --max-steps 20 --out full > full1.log  # a good checkpoint at step 20
[[ -f full/train_state.json ]] || fail "no checkpoint after the first part"
cp full/train_state.json state_before.json
ckpt=$(python3 -c 'import json; print(json.load(open("full/train_state.json"))["checkpoint"])')
[[ -f "full/$ckpt" ]] || fail "the manifest names '$ckpt', which is not there"
cp "full/$ckpt" ckpt_before

# the next checkpoint (step 40) is larger than the limit: its write fails
if (trap '' XFSZ; ulimit -f 24; exec "$TRAIN" "${run[@]}" --max-steps 60 --checkpoint-every 20 --out full --resume) > full2.log 2>&1; then
  fail "train went on past a checkpoint it could not write"
fi
grep -q "^train: error: .*full/.*\(File too large\|No space\|cannot write\)" full2.log || { cat full2.log; fail "the error does not name the file and the cause"; }
cmp state_before.json full/train_state.json || fail "the failed write changed the manifest"
cmp ckpt_before "full/$ckpt" || fail "the failed write changed the last good checkpoint"
leftover=$(find full -name '*.tmp*' | wc -l)
[[ $leftover -eq 0 ]] || fail "$leftover temporary file(s) left after the failed write"

# room again: the run resumes from the last good checkpoint and ends where the whole run ends
"$TRAIN" "${run[@]}" --max-steps 60 --checkpoint-every 20 --out full --resume > full3.log
grep -q "resumed full at step 20" full3.log || { cat full3.log; fail "did not resume from step 20"; }
cmp whole/checkpoint.jaqckpt full/checkpoint.jaqckpt || fail "resumed after the failed write: checkpoint differs"
echo "disk-full test passed: $(grep -o 'train: error: .*' full2.log | head -1)"
