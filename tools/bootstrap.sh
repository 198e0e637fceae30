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
#   cmake                   jaq's CMake package (cmake --install; tests/cmake/consumer_test.sh)
#   libonnx-dev             ONNX's protobuf classes and checker: the ONNX export (jaq/io/onnx.hpp),
#   libprotobuf-dev         written with ONNX's own library instead of an encoder of ours
#   python3-venv            the virtual environment for ONNX Runtime (below)
#   python3-jsonschema      checks docs/schema/*.schema.json against the presets and examples (a test)
#   clang-format            the source layout (.clang-format), checked by //tests/style:format_test
#   clang-tidy              the static checks of .clang-tidy, run by //tests/style:tidy_test
set -euo pipefail

PKGS=(bazel-bootstrap bazel-rules-java bazel-platforms libxtensor-dev libxsimd-dev
      libtbb-dev doctest-dev libopenblas-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
      dataset-fashion-mnist gnuplot-nox cmake libonnx-dev libprotobuf-dev python3-venv python3-jsonschema
      clang-format clang-tidy)
# Extra packages for the benchmarks only (PyTorch side by side); pass --bench.
#   python3-torch           PyTorch 1.13 for /usr/bin/python3 (tools/bench_*_torch.py)
#   time                    /usr/bin/time -v: peak RSS of each benchmarked process
#   /opt/jaq-bench-venv     the current PyTorch 2.x from PyPI in a virtual environment (python3-venv).
#                           PyPI has no CPU-only wheel for Linux x86-64 (that one lives on
#                           download.pytorch.org, not reachable here): this is the default wheel
#                           (CUDA build, about 5 GB with its nvidia-* packages); it runs on the CPU.
BENCH=0
if [[ "${1:-}" == "--bench" ]]; then
  PKGS+=(python3-torch time python3-venv)
  BENCH=1
fi
bench_venv() {
  [[ $BENCH == 1 ]] || return 0
  [[ -x /opt/jaq-bench-venv/bin/python ]] && /opt/jaq-bench-venv/bin/python -c 'import torch' 2>/dev/null && return 0
  echo "bootstrap: creating /opt/jaq-bench-venv (PyTorch 2.x from PyPI)" >&2
  python3 -m venv /opt/jaq-bench-venv
  /opt/jaq-bench-venv/bin/pip install -q numpy torch
}

# ONNX Runtime for the exported model's check (tools/onnx_check.py, //tests/io:onnx_runtime_test):
# PyPI's onnxruntime and numpy in /opt/jaq-onnx-venv. Not fatal: without it that test says it
# could not run the runtime check and checks the rest.
onnx_venv() {
  [[ -x /opt/jaq-onnx-venv/bin/python ]] && /opt/jaq-onnx-venv/bin/python -c 'import onnxruntime, numpy' 2>/dev/null && return 0
  echo "bootstrap: creating /opt/jaq-onnx-venv (onnxruntime and numpy from PyPI)" >&2
  if ! { python3 -m venv /opt/jaq-onnx-venv && /opt/jaq-onnx-venv/bin/pip install -q onnxruntime numpy; } >&2; then
    echo "bootstrap: warning: no ONNX Runtime (PyPI unreachable?); the ONNX runtime check will be skipped" >&2
  fi
  return 0
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  onnx_venv
  bench_venv
  exit 0
fi

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done" >&2
onnx_venv
bench_venv
