#!/usr/bin/env bash
# Installs every Debian package jaq needs. Idempotent: when all are present it
# prints nothing and returns at once. Run as root (or with sudo available).
#
#   bazel-bootstrap         Bazel 4.2.3, the only Bazel Debian ships (offline build)
#   bazel-rules-java        local rules_java for the offline WORKSPACE
#   bazel-platforms         local @platforms
#   libxtensor-dev          xtensor containers (pulls xtl-dev, nlohmann-json3-dev)
#   libxsimd-dev            portable SIMD for the elementwise and BatchTile kernels
#   libtbb-dev              oneTBB: parallelism across batch, layers, configurations
#   doctest-dev             the unit-test framework
#   libopenblas-dev         SGEMM/DGEMM for convolutions (im2col + GEMM); measured
#                           faster than our own blocked GEMM (docs/benchmarks.md)
#   libcli11-dev            command-line parsing for the examples and tools
#   nlohmann-json3-dev      JSON for accelerator configs, results, checkpoints' metadata
#   zlib1g-dev              gzip decompression of the idx dataset files
#   dataset-fashion-mnist   the default data set (/usr/share/datasets/fashion-mnist)
#   gnuplot-nox             PNG plots of training curves and search results
set -euo pipefail

PKGS=(bazel-bootstrap bazel-rules-java bazel-platforms libxtensor-dev libxsimd-dev
      libtbb-dev doctest-dev libopenblas-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
      dataset-fashion-mnist gnuplot-nox)
# Extra packages for the benchmarks only (PyTorch side by side); pass --bench.
#   python3-torch           PyTorch 1.13 for /usr/bin/python3 (tools/bench_*_torch.py)
#   time                    /usr/bin/time -v: peak RSS of each benchmarked process
if [[ "${1:-}" == "--bench" ]]; then
  PKGS+=(python3-torch time)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done" >&2
