#!/usr/bin/env bash
# Issue 11 section 0, as a user meets it: a bad --out fails before any work with a message (never
# an abort after the work), a symbolic link at --out is written through, a device or FIFO is
# refused, a misspelt layer-CSV column is an error, map reports write errors, and range errors
# read like sentences. Args: train map hwgen.
set -euo pipefail
source "$(dirname "$0")/test_lib.sh"  # abs, fail, expect_error
TRAIN=$(abs "$1") MAP=$(abs "$2") HWGEN=$(abs "$3")
T="${TEST_TMPDIR:-/tmp}/outputs_test"
rm -rf "$T" && mkdir -p "$T" && cd "$T"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Prescott}"  # no restart message in the logs below

# train: the output folder is checked before training (these return at once: no data is read)
touch afile
expect_error "--out: output folder: empty path" "$TRAIN" --max-steps 1 --out ""
expect_error "cannot create the output folder" "$TRAIN" --max-steps 1 --out afile/sub
expect_error "exists and is not a folder" "$TRAIN" --max-steps 1 --out afile
expect_error "--epochs: must be > 0, got 0" "$TRAIN" --epochs 0
expect_error "--mixed: empty" "$TRAIN" --mixed "" --max-steps 1 --out o
grep -q "179769" err.txt && fail "a 309-digit bound in a message"

# hwgen: --out checked before the search; a link is written through; a FIFO is refused
expect_error "exists and is not a folder" "$HWGEN" --out afile/x.json --iterations 1
expect_error "all three are 0" "$HWGEN" --lambda-latency 0 --lambda-energy 0 --lambda-area 0 --iterations 1
echo old > real.json && ln -s real.json link.json
"$HWGEN" --network resnet18 --iterations 2 --out link.json > /dev/null 2> err.txt || { cat err.txt; fail "hwgen via a link"; }
[[ -L link.json ]] || fail "the link was replaced by a file"
grep -q '"M"' real.json || fail "the link's target did not get the result"
mkfifo fifo.json
expect_error "is not a regular file" "$HWGEN" --network resnet18 --iterations 1 --out fifo.json
[[ -p fifo.json ]] || fail "the FIFO was replaced"

# map: unknown column, folder, write errors, flags that --layers makes meaningless
printf 'name,K,O,S,IC,OC,B,im2col,iprec,wprec,group\ndw,3,56,1,128,128,1,0,8,8,128\n' > g.csv
expect_error "group: unknown column" "$MAP" --layers g.csv
expect_error "is a folder, not a layer CSV file" "$MAP" --layers .
printf 'name,K,O,S,IC,OC,B,im2col,iprec,wprec\na,3,7,1,1,8,1,0,8,8\n' > ok.csv
expect_error "is not a regular file" "$MAP" --layers ok.csv --out /dev/full
expect_error "excludes" "$MAP" --layers ok.csv --batch 4
if [[ -w /dev/full ]]; then
  rc=0; "$MAP" --layers ok.csv > /dev/full 2> err.txt || rc=$?
  [[ $rc == 1 ]] || fail "map to a full stdout exited $rc"
  grep -q "cannot write the mapping to standard output" err.txt || fail "no write-error message"
fi
"$MAP" --layers ok.csv --out r.csv 2> /dev/null || fail "map --out"
head -1 r.csv | grep -q '^name,b,' || fail "r.csv"
echo "PASS"
