#!/usr/bin/env bash
# jaq from a Bazel project: a consumer workspace (examples/bazel_consumer/) pulls this checkout
# in with local_repository, declares jaq's repositories with @jaq//bazel:deps.bzl's
# jaq_dependencies(), builds examples/consumer's program against @jaq//:jaq with its own Bazel
# run, and the program maps ResNet-18 exactly as //examples:map does. The test is tagged
# "local": it runs Bazel itself, and finds the checkout through its runfile of WORKSPACE.
set -euo pipefail
MAP="$1"
fail() { echo "FAIL: $*"; exit 1; }
JAQ=$(dirname "$(readlink -f WORKSPACE)")
[[ -f "$JAQ/bazel/deps.bzl" && -f "$JAQ/jaq/jaq.hpp" ]] || fail "could not find the jaq checkout (got '$JAQ')"
command -v bazel > /dev/null || fail "bazel is not on PATH"
T="${TEST_TMPDIR:-/tmp}/bazel_consumer"
rm -rf "$T"
mkdir -p "$T/ws"
cp "$JAQ/examples/bazel_consumer/BUILD.consumer" "$T/ws/BUILD"
cp "$JAQ/examples/bazel_consumer/bazelrc.consumer" "$T/ws/.bazelrc"
cp "$JAQ/examples/consumer/map_resnet18.cpp" "$T/ws/"
sed "s|JAQ_PATH|$JAQ|g" "$JAQ/examples/bazel_consumer/WORKSPACE.consumer" > "$T/ws/WORKSPACE"

# The consumer's own Bazel: its own output root (nothing shared with the outer build), one
# process (--batch), HOME inside the test's scratch space.
export HOME="$T/home"
mkdir -p "$HOME"
(cd "$T/ws" && bazel --output_user_root="$T/out" --batch build //:map_resnet18) > "$T/build.log" 2>&1 ||
  { tail -40 "$T/build.log"; fail "the consumer workspace does not build against @jaq//:jaq"; }
BIN="$T/ws/bazel-bin/map_resnet18"
[[ -x "$BIN" ]] || fail "no consumer binary at $BIN"
"$BIN" > "$T/consumer.csv" || fail "the consumer failed"
echo '{"N": 16, "M": 32, "wbuf_bytes": 65536, "ibuf_bytes": 32768, "obuf_bytes": 16384, "if_width": 256}' > "$T/accel.json"
"$MAP" --network resnet18 --accel "$T/accel.json" --out "$T/map.csv" 2> "$T/map.err" || { cat "$T/map.err"; fail "map failed"; }
[[ $(wc -l < "$T/consumer.csv") == 22 ]] || fail "expected a header and ResNet-18's 21 layers"
diff "$T/map.csv" "$T/consumer.csv" > "$T/diff" || { head "$T/diff"; fail "the consumer's mapping differs from map's"; }
(cd "$T/ws" && bazel --output_user_root="$T/out" --batch clean --expunge) > /dev/null 2>&1 || true
echo "bazel consumer test passed"
