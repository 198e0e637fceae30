# Helpers the example tests source (bash): absolute paths, failures, expected errors.
# Usage: source "$(dirname "$0")/test_lib.sh" (before any cd).
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # expect_error "message part" command...: an error exit, not a signal (abort), message on stderr
  local want="$1"; shift
  local rc=0; "$@" > out.txt 2> err.txt || rc=$?
  [[ $rc -ne 0 && $rc -lt 128 ]] || { cat err.txt; fail "$* exited $rc, expected an error exit (not a signal)"; }
  grep -qF -- "$want" err.txt || { cat err.txt; fail "$*: no '$want' in the message"; }
}
