#!/usr/bin/env bash
# Smoke run of //examples:search --quick on Fashion-MNIST: every output is written, the integer
# reference agrees with the fake-quant predictions, the per-layer mapping equals what
# //examples:map gives for those layers on that accelerator, and the hardware-only presets run.
set -euo pipefail
BIN="$1"
MAP="$2"
T="${TEST_TMPDIR:-/tmp}/search_smoke"
rm -rf "$T"
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" --quick --out "$T/run" --threads 2 > "$T/out" 2> "$T/err" || { tail -30 "$T/out" "$T/err"; fail "search --quick failed"; }
for f in result.json search_log.csv derived.json layers.csv mapping.csv accel.json checkpoint/state.json \
         alpha.png beta.png cost.png widths.png retrained.jaqckpt; do
  [[ -s "$T/run/$f" ]] || fail "missing $f"
done
for f in alpha beta cost widths; do
  [[ $(head -c 4 "$T/run/$f.png" | od -An -tx1 | tr -d ' ') == "89504e47" ]] || fail "$f.png is not a PNG"
done
grep -q '^warm-up epoch 1/2 step 5/' "$T/out" || fail "no warm-up progress line"
grep -q '^search  epoch 2/2 step .* tau .* latency .* ms energy .* uJ area .* mm^2 | eta ' "$T/out" || fail "no search progress line"
grep -q '^retrain epoch 1/1 step' "$T/out" || fail "no retrain progress line"
grep -q '^result: test_accuracy=0\.[0-9]* integer_accuracy=0\.[0-9]* avg_bits=' "$T/out" || fail "no result line"
grep -q 'integer reference: .* 2000/2000 agree' "$T/out" || fail "integer and fake-quant predictions differ"
[[ $(wc -l < "$T/run/search_log.csv") == 3 ]] || fail "search_log.csv: expected a header and 2 epochs"
for k in '"blocks"' '"accel"' '"layers"' '"totals"' '"edp_Js"' '"test_integer"' '"test_fake_quant"' \
         '"mac_weighted_bits"' '"hardware_share_of_search"' '"seed"' '"jaq_version"' '"units"' '"total_cycles"' '"tiling"'; do
  grep -q "$k" "$T/run/result.json" || fail "result.json lacks $k"
done
# the accelerator as map reads it, and the same mapping for every layer
"$MAP" --layers "$T/run/layers.csv" --accel "$T/run/accel.json" --out "$T/map.csv" --timeloop "$T/tl" 2> "$T/map.err" || { cat "$T/map.err"; fail "map failed"; }
diff "$T/map.csv" "$T/run/mapping.csv" > "$T/map.diff" || { head "$T/map.diff"; fail "the search's mapping differs from map's"; }
# Timeloop: a problem+mapping per layer, the same as map writes for it (but for the settings line)
n=$(( $(wc -l < "$T/run/layers.csv") - 1 ))
[[ $(find "$T/run/timeloop" -name '*.yaml' | wc -l) == "$n" ]] || fail "timeloop/: expected $n files, one per layer"
for f in "$T/run/timeloop"/*.yaml; do
  diff <(grep -v '^# settings' "$f") <(grep -v '^# settings' "$T/tl/$(basename "$f")") > /dev/null || fail "timeloop/$(basename "$f") differs from map's"
done
grep -q '^# settings: search --quick .*(preset fmnist, seed 1)' "$T/run/timeloop/000_"*.yaml || fail "timeloop files do not name the settings"
grep -q '^# Timeloop problem and mapping of layer .*, written by jaq [0-9]' "$T/run/timeloop/000_"*.yaml || fail "timeloop files do not name jaq's version"

# the sequential baseline: every block at 4 bits, no generator before the final run, no beta plot
"$BIN" --quick --no-retrain --mode sequential --out "$T/seq" > "$T/sout" 2> "$T/serr" || { tail "$T/sout" "$T/serr"; fail "sequential run failed"; }
grep -q '"mode": "sequential"' "$T/seq/result.json" || fail "sequential: result.json settings lack the mode"
[[ $(grep -c '"bits": 4' "$T/seq/derived.json") == 6 ]] || { cat "$T/seq/derived.json"; fail "sequential: not every block at 4 bits"; }
grep -q '"hwgen_iterations": 100,' "$T/seq/result.json" || fail "sequential: expected the final generator run alone (100 iterations)"
[[ ! -e "$T/seq/beta.png" ]] || fail "sequential: beta.png drawn for a search without beta"

# weights and activations at widths of their own: derived.json has both, the layer CSV carries
# them as wprec and iprec, and the integer reference still agrees image for image
"$BIN" --quick --separate-wa --out "$T/swa" > "$T/wout" 2> "$T/werr" || { tail "$T/wout" "$T/werr"; fail "--separate-wa run failed"; }
[[ $(grep -c '"act_bits"' "$T/swa/derived.json") == 6 ]] || { cat "$T/swa/derived.json"; fail "--separate-wa: derived.json lacks act_bits"; }
grep -q 'integer reference: .* 2000/2000 agree' "$T/wout" || fail "--separate-wa: integer and fake-quant predictions differ"
"$MAP" --layers "$T/swa/layers.csv" --accel "$T/swa/accel.json" --out "$T/wmap.csv" 2> "$T/wmap.err" || { cat "$T/wmap.err"; fail "map failed"; }
diff "$T/wmap.csv" "$T/swa/mapping.csv" > /dev/null || fail "--separate-wa: the search's mapping differs from map's"

# the hardware side alone: cifar10 without data
"$BIN" --preset cifar10 --quick --out "$T/cifar" > "$T/cout" 2> "$T/cerr" || { tail "$T/cout" "$T/cerr"; fail "cifar10 hardware-only failed"; }
grep -q 'no data set: the hardware side alone' "$T/cout" || fail "cifar10 did not say it runs the hardware side alone"
grep -q '^result: test_accuracy=nan' "$T/cout" || fail "cifar10 result line"
[[ $(wc -l < "$T/cifar/layers.csv") -gt 40 ]] || fail "cifar10: expected the 22-block network's layers"
echo "search smoke test passed"
