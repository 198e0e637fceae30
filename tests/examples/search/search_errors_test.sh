#!/usr/bin/env bash
# Bad input to //examples:search: each is refused at once with exit 1 and a message naming the
# flag, file or field, and loses nothing.
set -uo pipefail
BIN="$1"
T="${TEST_TMPDIR:-/tmp}/search_errors"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
P="$(dirname "$BIN")/search.runfiles/jaq/examples/presets/fmnist.json"
[[ -f "$P" ]] || P="examples/presets/fmnist.json"

expect() {  # expect <what the message must contain> <args...>
  local want="$1"
  shift
  "$BIN" "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  [[ $rc == 1 ]] || { cat "$T/out" "$T/err"; fail "exit $rc (expected 1) for: $*"; }
  grep -qF -- "$want" "$T/err" || { cat "$T/err"; fail "message lacks '$want' for: $*"; }
}
# a preset edited one field at a time (python-free: sed on the shipped preset)
edit() { sed "$1" "$P" > "$T/$2.json"; }

expect "no preset 'nosuch'" --preset nosuch --out "$T/o"
edit 's/"k5_e3", "k5_e6", "skip"/"k5_e3", "k9_e9", "skip"/' badop
expect "badop.json: space: ops[7]" --preset "$T/badop.json" --out "$T/o"
expect "unknown operator 'k9_e9'" --preset "$T/badop.json" --out "$T/o"
edit 's/"stage_channels": \[16, 24, 32, 64\]/"stage_channels": [16, -24, 32, 64]/' negch
expect "stage_channels[1]" --preset "$T/negch.json" --out "$T/o"
edit 's/"name": "fmnist",//' noname
expect "name" --preset "$T/noname.json" --out "$T/o"
edit 's/"hw_every"/"hw_evry"/' typo
expect "hw_evry" --preset "$T/typo.json" --out "$T/o"
edit 's/"bits": \[2, 3, 4\]/"bits": [2, 3, 9]/' bits9
expect "bits[2]" --preset "$T/bits9.json" --out "$T/o"
printf '{"name": "x", "space": {' > "$T/trunc.json"
expect "trunc.json" --preset "$T/trunc.json" --out "$T/o"
expect "--bits" --bits 2,9 --out "$T/o"
expect "--lambda-energy" --lambda-energy -1 --out "$T/o"
expect "--csq" --csq 150 --out "$T/o"
expect "--latency-budget" --latency-budget -3 --out "$T/o"
expect "area budget" --quick --no-retrain --area-budget 0.001 --out "$T/o"
expect "nothing to resume" --quick --resume --out "$T/empty"
expect "--out" --quick --out /proc/nope/x
expect "--quick/--long" --quick --long --out "$T/o"
expect "--mode" --mode joined --out "$T/o"
expect "latency_budget_ms" --mode sequential --latency-budget 1 --out "$T/o"
# a corrupt checkpoint, and one of another preset
mkdir -p "$T/ck/checkpoint"
echo '{"format": "jaq joint search checkpoint", "identity": ' > "$T/ck/checkpoint/state.json"
expect "state.json" --quick --resume --out "$T/ck"
"$BIN" --preset cifar10 --quick --out "$T/c10" > /dev/null 2>&1 || fail "cifar10 hardware-only run failed"
# --device: an unknown one is refused; cuda without a GPU is a clear error; auto runs the
# hardware side (and the supernet's training) where it can; without data (cifar10 here) its design equals
# the CPU's (BatchTile on the GPU is exact)
expect "'gpu' is not one of cpu, cuda, auto" --quick --device gpu --out "$T/o"
"$BIN" --preset cifar10 --quick --device auto --out "$T/c10a" > "$T/aout" 2>&1 || { cat "$T/aout"; fail "--device auto run failed"; }
grep -Eq '^search: device: (cpu \(--device auto: no CUDA device: .+\)|cuda \(.+\)); the hardware side and the supernet.s training run there' "$T/aout" ||
  { cat "$T/aout"; fail "--device auto note"; }
design() { sed -n '/"accel"/,/}/p;/"totals"/,/}/p' "$1/result.json"; }
diff <(design "$T/c10") <(design "$T/c10a") > /dev/null || fail "--device auto found another design"
if ! grep -q '^search: device: cuda' "$T/aout"; then expect "cuda was asked for" --quick --device cuda --out "$T/o"; fi
echo '{"format": "jaq joint search checkpoint", "version": 1, "identity": {"preset": "cifar10"}, "epoch": 0, "net": "n", "hw": "h"}' \
  > "$T/ck/checkpoint/state.json"
expect "another run" --quick --resume --out "$T/ck"
echo "search errors test passed"
