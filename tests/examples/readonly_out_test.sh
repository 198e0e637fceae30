#!/usr/bin/env bash
# Issue 11: an output folder that has become read-only (here after a first part of a run) stops
# train with a clear error naming the folder and the cause, and changes nothing in it: the last
# good checkpoint stays, and once the folder is writable again the run resumes from it and ends
# with the bytes of an uninterrupted run. Args: train.
#
# Read-only for the test: chmod a-w, and as root (who ignores permission bits) the immutable
# attribute too (chattr +i, removed on exit whatever happens). Where neither refuses a write
# (a file system without the attribute), the test says so and checks nothing else.
set -euo pipefail
source "$(dirname "$0")/test_lib.sh"  # abs, fail, expect_error
TRAIN=$(abs "$1")
T="${TEST_TMPDIR:-/tmp}/readonly_out_test"
[[ -d "$T/full" ]] && { chattr -i "$T/full" 2> /dev/null || true; chmod u+w "$T/full"; }
rm -rf "$T" && mkdir -p "$T" && cd "$T"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Prescott}"
run=(--batch 64 --eval-images 200 --every 1000)

writable() { chattr -i "$T/full" 2> /dev/null || true; chmod u+w "$T/full"; }
trap writable EXIT

"$TRAIN" "${run[@]}" --max-steps 40 --out whole > whole.log
"$TRAIN" "${run[@]}" --max-steps 20 --out full > full1.log  # a good checkpoint at step 20
[[ -f full/train_state.json ]] || fail "no checkpoint after the first part"
(cd full && find . -type f | sort | xargs sha256sum) > before.sha

chmod a-w full
if touch full/.probe 2> /dev/null; then
  rm -f full/.probe
  chattr +i full 2> /dev/null || true
fi
if touch full/.probe 2> /dev/null; then
  rm -f full/.probe
  echo "readonly-out test: SKIPPED: this file system lets root write into a folder without write permission or the immutable attribute"
  exit 0
fi

if "$TRAIN" "${run[@]}" --max-steps 40 --checkpoint-every 20 --out full --resume > full2.log 2>&1; then
  fail "train ran into a read-only output folder without an error"
fi
grep -q "^train: error: .*full.*\(Permission denied\|Operation not permitted\|Read-only\|not writable\|cannot write\)" full2.log ||
  { cat full2.log; fail "the error does not name the folder and the cause"; }
(cd full && find . -type f | sort | xargs sha256sum) > after.sha
cmp before.sha after.sha || fail "the read-only folder's files changed"

writable
"$TRAIN" "${run[@]}" --max-steps 40 --checkpoint-every 20 --out full --resume > full3.log
grep -q "resumed full at step 20" full3.log || { cat full3.log; fail "did not resume from step 20"; }
cmp whole/checkpoint.jaqckpt full/checkpoint.jaqckpt || fail "resumed after the read-only folder: checkpoint differs"
echo "readonly-out test passed: $(grep -o 'train: error: .*' full2.log | head -1)"
