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
# assert_contains HAYSTACK NEEDLE MESSAGE. A needle that starts or ends with a
# digit only matches where the haystack has no further digit on that side: "1
# blobs read" is not found in "11 blobs read", "line 1" not in "line 12". (For
# counts, prefer assert_eq with count_of or a value from the DB or the JSONL.)
assert_contains() {
  local rest=$1 pre
  while [[ $rest == *"$2"* ]]; do
    pre=${rest%%"$2"*}
    if ! [[ ($2 == [0-9]* && $pre == *[0-9]) || ($2 == *[0-9] && ${rest:${#pre}+${#2}:1} == [0-9]) ]]; then
      ok
      return
    fi
    rest=${rest:${#pre}+1}
  done
  fail "$3: '$2' not in: $1"
}
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

# count_of TEXT LABEL: the number written just before LABEL in TEXT ("12 blobs
# read" -> 12), one line per occurrence, so a summary line can be asserted exactly
# (assert_eq "$(count_of "$ERR" "blobs read")" 12 ...); prints nothing if absent.
count_of() { printf '%s\n' "$1" | grep -oP "(?<![0-9.])[0-9]+(?= \Q$2\E)" || true; }

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# jq-like queries with python: pyjson FILE EXPR (EXPR sees `rows`, a list of objects)
pyjsonl() { python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print($2)" "$1"; }

finish() {
  echo "$(basename "$0"): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# ---- git helpers: deterministic commits (fixed identities, a clock that ticks
# one minute per commit) so provenance can be asserted exactly.
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global gc.auto 0
git config --global user.name "Test User"
git config --global user.email test@example.com
GIT_TICK=0
gcommit() { # gcommit AUTHOR MESSAGE [git commit args...]
  local who=$1 msg=$2
  shift 2
  GIT_TICK=$((GIT_TICK + 1))
  local d
  d=$(gdate "$GIT_TICK")
  GIT_AUTHOR_NAME="$who" GIT_AUTHOR_EMAIL="$who@example.com" GIT_AUTHOR_DATE="$d" \
    GIT_COMMITTER_NAME="CI" GIT_COMMITTER_EMAIL="ci@example.com" GIT_COMMITTER_DATE="$d" \
    git commit -q --allow-empty -m "$msg" "$@"
}
gdate() { date -u -d "@$((1767225600 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; } # 2026-01-01 + N min

# occ FILE SHA: the occurrences of one finding as "source path line commit author ref" lines
occ() {
  python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["secret_sha256"] != sys.argv[2]:
        continue
    for o in r["occurrences"]:
        print(o.get("source"), o.get("path", "-"), o.get("line"), o.get("commit", "-"),
              o.get("author_email", "-"), o.get("date", "-"), o.get("ref", "-"), o.get("repo", "-"))
PY
}
