# Shared helpers for end-to-end tests. Each test sources this, calls ok/fail
# through the assert helpers, and ends with `finish`, which prints the count line
# and sets the exit status.
set -u
: "${FERRET:?FERRET must point at the ferret binary}"
: "${FERRET_SRC:?FERRET_SRC must point at the source tree}"
T=$(mktemp -d /tmp/ferret-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
export HOME="$T/home" TZ=UTC GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
mkdir -p "$HOME"
FAKE="python3 $FERRET_SRC/tests/tools/fakesecrets.py"
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# assert_eq ACTUAL EXPECTED MESSAGE
assert_eq() { if [ "$1" = "$2" ]; then ok; else fail "$3: got '$1', expected '$2'"; fi; }
# assert_contains HAYSTACK NEEDLE MESSAGE
assert_contains() { case "$1" in *"$2"*) ok ;; *) fail "$3: '$2' not in: $1" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "$3: '$2' found in: $1" ;; *) ok ;; esac; }

# run_ferret ARGS...: runs ferret, leaving stdout in $OUT, stderr in $ERR, status in $RC
run_ferret() {
  set +e
  "$FERRET" "$@" >"$T/out" 2>"$T/err"
  RC=$?
  set -e
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# jq-like queries with python: pyjson FILE EXPR (EXPR sees `rows`, a list of objects)
pyjsonl() { python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print($2)" "$1"; }

finish() {
  echo "$(basename "$0"): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
