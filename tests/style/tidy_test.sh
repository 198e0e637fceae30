#!/usr/bin/env bash
# clang-tidy's checks (.clang-tidy) on the programs, which include every jaq module: no finding.
# tools/tidy.sh --all runs the same on every test and benchmark too. Tagged "local": it reads the
# checkout itself, found through the runfile of WORKSPACE.
set -euo pipefail
command -v clang-tidy > /dev/null || { echo "FAIL: clang-tidy is not installed (tools/bootstrap.sh installs it)"; exit 1; }
JAQ=$(dirname "$(readlink -f WORKSPACE)")
TIDY_DIR="${TEST_TMPDIR:-/tmp}/tidy" TIDY_JOBS=2 exec "$JAQ/tools/tidy.sh"
