#!/usr/bin/env bash
# Smoke run of //examples:map: the issue's hand-computed layer row, both engines, an accelerator
# JSON, a built-in network checked against the reference, and the error exits.
set -euo pipefail
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"  # absolute: one run changes folder
T="${TEST_TMPDIR:-/tmp}/map_smoke"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }

# Columns in a shuffled order, one layer per row (the 974-cycle case, an FC, an im2col conv).
cat > "$T/L.csv" <<'CSV'
name,O,K,S,IC,OC,B,wprec,iprec,im2col
hand,7,3,1,1,8,1,8,8,0
fc,1,1,1,16,32,1,8,8,0
first,2,3,1,3,4,1,8,8,1
CSV
"$BIN" --layers "$T/L.csv" --out "$T/R.csv" --threads 2 --check 2> "$T/err" || { cat "$T/err"; fail "map failed"; }
grep -Eq '^map: 3 layers, engine batchtile, 2 threads, wall [0-9.e+-]+ ms$' "$T/err" || { cat "$T/err"; fail "no wall time"; }
grep -q 'all 3 rows equal the reference' "$T/err" || fail "--check did not confirm"
[[ $(head -1 "$T/R.csv") == "name,b,num_b,ow,num_ow,oh,num_oh,ic,num_ic,oc,num_oc,order,total_cycles,compute_cycles,stall_cycles,energy_nJ,energy_core_nJ,energy_sram_nJ,energy_dram_nJ,dram_rd_bits,dram_wr_bits,wbuf_rd_bits,wbuf_wr_bits,ibuf_rd_bits,ibuf_wr_bits,obuf_rd_bits,obuf_wr_bits,note" ]] || fail "header: $(head -1 "$T/R.csv")"
# 441 compute + 533 stall = 974; energies with 17 significant digits
[[ $(sed -n 2p "$T/R.csv") == "hand,1,1,7,1,7,1,1,1,8,1,B>OW>OH>IC>OC,974,441,533,1643.0891170185,103.680864,9.0482530185000005,1530.3600000000001,51848,50176,28224,1024,28224,648,62720,62720,ok" ]] || fail "hand row: $(sed -n 2p "$T/R.csv")"
grep -q '^fc,1,1,1,1,1,1,16,1,32,1,B>OW>OH>IC>OC,35,1,34,' "$T/R.csv" || fail "fc row"
grep -q '^first,1,1,1,2,1,2,3,1,4,1,B>OW>OH>IC>OC,62,8,54,' "$T/R.csv" || fail "im2col row"

# The reference engine writes the same file; an accelerator JSON at another clock changes no count.
"$BIN" --layers "$T/L.csv" --engine reference > "$T/R2.csv" 2> /dev/null
cmp -s "$T/R.csv" "$T/R2.csv" || fail "engines differ"
echo '{"frequency_hz": 1e9, "N": 16}' > "$T/a.json"
"$BIN" --layers "$T/L.csv" --accel "$T/a.json" > "$T/R3.csv" 2> /dev/null
cmp -s "$T/R.csv" "$T/R3.csv" || fail "frequency changed the CSV"

# Under `bazel run`, relative paths are the caller's (BUILD_WORKING_DIRECTORY).
(cd / && BUILD_WORKING_DIRECTORY="$T" "$BIN" --layers L.csv --out R5.csv 2> /dev/null)
cmp -s "$T/R.csv" "$T/R5.csv" || fail "relative paths under bazel run"

# A built-in network, several precision pairs, checked field by field against the reference.
"$BIN" --network searchspace22 --prec 8/8,4/2 --batch 2 --check > "$T/N.csv" 2> "$T/err" || { cat "$T/err"; fail "network run"; }
[[ $(wc -l < "$T/N.csv") -eq $((1 + 2 * 69)) ]] || fail "searchspace22 rows: $(wc -l < "$T/N.csv")"
grep -q '^s3.b0.dw@4/2,' "$T/N.csv" || fail "suffixed names"

# Errors: bad CSV cell (exit 1, names line and field), bad JSON field, unknown network.
printf 'name,K,O,S,IC,OC,B,im2col,iprec,wprec\nok,1,1,1,1,1,1,0,8,8\nbad,3,7,1,1,8,1,0,8,12\n' > "$T/bad.csv"
set +e
"$BIN" --layers "$T/bad.csv" > /dev/null 2> "$T/err"; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "bad csv exit $rc"
grep -q "bad.csv:3: wprec: precision must be in 1..8, got 12" "$T/err" || { cat "$T/err"; fail "bad csv message"; }
echo '{"wbuf": 1}' > "$T/bad.json"
set +e
"$BIN" --layers "$T/L.csv" --accel "$T/bad.json" > /dev/null 2> "$T/err"; rc=$?
set -e
[[ $rc -eq 1 ]] && grep -q "bad.json: wbuf: unknown field" "$T/err" || { cat "$T/err"; fail "bad json"; }
set +e
"$BIN" --network vgg > /dev/null 2> "$T/err"; rc=$?
set -e
[[ $rc -eq 1 ]] && grep -q "unknown network 'vgg'" "$T/err" || { cat "$T/err"; fail "unknown network"; }

# A layer no tiling fits: its row carries the error, the exit status is 3.
echo '{"wbuf_bytes": 64}' > "$T/tiny.json"
set +e
"$BIN" --layers "$T/L.csv" --accel "$T/tiny.json" > "$T/R4.csv" 2> "$T/err"; rc=$?
set -e
[[ $rc -eq 3 ]] || { cat "$T/err"; fail "no-fit exit $rc"; }
grep -q "^hand,,,,,,,,,,,,,,,,,,,,,,,,,,,\"layer 'hand': no tiling fits WBUF" "$T/R4.csv" || fail "no-fit row"
grep -q "layer 'hand': no tiling fits WBUF" "$T/err" || fail "no-fit stderr"

# --device: auto says what it chose and gives the CPU's file; cuda without a GPU is a clear error
# (exit 1, naming the flag); with one (a GPU machine), the GPU's file equals the CPU's.
"$BIN" --network resnet18 --prec 4/4 > "$T/D0.csv" 2> /dev/null
"$BIN" --network resnet18 --prec 4/4 --device auto > "$T/D1.csv" 2> "$T/err" || { cat "$T/err"; fail "--device auto"; }
cmp -s "$T/D0.csv" "$T/D1.csv" || fail "--device auto changed the CSV"
grep -Eq '^map: device: (cpu \(--device auto: no CUDA device: .+\)|cuda \(.+\))$' "$T/err" || { cat "$T/err"; fail "--device auto note"; }
set +e
"$BIN" --network resnet18 --prec 4/4 --device cuda > "$T/D2.csv" 2> "$T/err"; rc=$?
set -e
if grep -q '^map: device: cuda' "$T/err"; then
  [[ $rc -eq 0 ]] && cmp -s "$T/D0.csv" "$T/D2.csv" || fail "the GPU's mapping differs from the CPU's"
else
  [[ $rc -eq 1 ]] && grep -q -- "--device: device: cuda was asked for, but no CUDA device: .*; use --device cpu or auto" "$T/err" \
    || { cat "$T/err"; fail "--device cuda without a GPU: exit $rc"; }
fi
set +e
"$BIN" --network resnet18 --engine reference --device cuda > /dev/null 2> "$T/err"; rc=$?
set -e
[[ $rc -eq 1 ]] && grep -q "reference runs on the CPU only" "$T/err" || { cat "$T/err"; fail "--engine reference --device cuda"; }
echo "PASS"
