#!/usr/bin/env bash
# Runs schema_test.py with the system python3 (python3-jsonschema from tools/bootstrap.sh).
set -euo pipefail
python3 -c 'import jsonschema' 2> /dev/null || { echo "FAIL: python3-jsonschema is not installed (tools/bootstrap.sh installs it)"; exit 1; }
exec python3 tests/docs/schema_test.py "$1"
