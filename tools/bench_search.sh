#!/usr/bin/env bash
# The joint search side by side in one run, same data, epochs and seed:
#   (a) the joint search (CSQ, K from the preset)
#   (b) sequential: a full-precision operator search with a FLOPs term, then every block at
#       uniform_bits (4), then the hardware search for that network (--mode sequential)
#   (c) the joint search without CSQ (every channel at every width)
# and the table docs/benchmarks.md records: test accuracy (fake-quant and integer), latency,
# energy, area, EDP, MAC-weighted bits, peak RSS, the search's peak backward bytes, wall time and
# the hardware side's share.
#
#   tools/bench_search.sh [--preset fmnist] [--seed 1] [--out /tmp/bench_search] [extra search flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=fmnist seed=1 out=/tmp/bench_search
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
command -v /usr/bin/time > /dev/null || { echo "bench_search: needs /usr/bin/time (tools/bootstrap.sh --bench)"; exit 1; }
bazel build -c opt //examples:search > /dev/null
bin=bazel-bin/examples/search
mkdir -p "$out"
run() {  # run <name> <flags...>
  local name="$1"
  shift
  /usr/bin/time -v "$bin" --preset "$preset" --seed "$seed" --out "$out/$name" "$@" "${extra[@]}" > "$out/$name.log" 2> "$out/$name.time"
  echo "$name: $(tail -1 "$out/$name.log")"
}
run joint
run sequential --mode sequential
run no_csq --csq 0
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
rows = []
for name, label in [("joint", "(a) joint search, CSQ"), ("sequential", "(b) sequential: FP search + FLOPs, uniform 4-bit, then hardware"),
                    ("no_csq", "(c) joint search, no CSQ")]:
    r = json.load(open(f"{out}/{name}/result.json"))
    t = open(f"{out}/{name}.time").read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    a, ts, tot = r["accuracy"], r["time_s"], r["totals"]
    rows.append([label, f'{a.get("test_fake_quant", float("nan")):.4f}', f'{a.get("test_integer", float("nan")):.4f}',
                 f'{tot["latency_ms"]:.4f}', f'{tot["energy_uJ"]:.2f}', f'{tot["area_mm2"]:.3f}', f'{tot["edp_Js"]:.3g}',
                 f'{r["mac_weighted_bits"]:.2f}', f'{rss:.0f}', f'{r["search_peak_backward_bytes"] / 2**20:.1f}', f'{ts["wall"]:.0f}', f'{ts["search_training"]:.0f}',
                 f'{ts["hardware"]:.2f}', f'{100 * ts["hardware_share_of_search"]:.2f}%',
                 " ".join(f'{b["op"]}@{b["bits"]}' for b in r["blocks"])])
head = ["run", "test acc", "integer acc", "latency ms", "energy uJ", "area mm2", "EDP J s", "avg bits", "peak RSS MiB",
        "backward MiB", "wall s", "search train s", "hardware s", "hw share", "derived"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows: print("| " + " | ".join(r) + " |")
PY
