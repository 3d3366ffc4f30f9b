#!/usr/bin/env bash
# ferret-ci.sh: the scan step of the CI integrations (action.yml, the Azure
# Pipelines template ci/azure-pipelines/ferret.yml). One script for both, so what
# a pull request's check runs can be run (and is tested) locally:
#
#   scripts/ci/ferret-ci.sh --base BASE --head HEAD [--path DIR] [--sarif FILE]
#                           [--db FILE] [--no-fail] [-- extra 'ferret scan' args]
#
# With a base commit it scans the range BASE..HEAD (the commits the pull request
# adds: 'ferret scan --range'); without one (or with git's all-zero id, a push
# creating a branch, or a base that cannot be fetched, a force push's old tip)
# it scans everything PATH holds. A base or head commit the
# checkout lacks (a shallow clone) is fetched from origin first, and a shallow
# clone deepened until the range's commits are all there. It always writes
# the findings as SARIF (for GitHub code scanning / the Azure DevOps Scans tab)
# and exits like 'ferret scan': 0 clean, 1 findings (0 with --no-fail), 2 error.
# The ferret binary is $FERRET, else 'ferret' on PATH.
set -uo pipefail

base="" head="HEAD" path="." sarif="ferret.sarif" db="" fail=1
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --head) head=${2:-HEAD}; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --sarif) sarif=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --no-fail) fail=0; shift ;;
    --) shift; break ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "ferret-ci: unknown argument: $1" >&2; exit 2 ;;
  esac
done
ferret=${FERRET:-ferret}
if [ -z "$db" ]; then # a fresh database per run: the report holds this scan only
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferret-ci.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  db=$tmp/ferret.db
fi

# A commit the clone does not have (shallow checkouts are the CI default).
have_commit() { git -C "$path" cat-file -e "$1^{commit}" 2>/dev/null; }
ensure_commit() {
  have_commit "$1" && return 0
  echo "ferret-ci: fetching $1 (not in the checkout)" >&2
  git -C "$path" fetch --quiet --no-tags origin "$1" 2>/dev/null ||
    git -C "$path" fetch --quiet --no-tags --unshallow origin 2>/dev/null || true
  have_commit "$1"
}

zeros=0000000000000000000000000000000000000000
args=(scan --db "$db" --quiet)
if [ -n "$base" ] && [ "$base" != "$zeros" ] && ! ensure_commit "$base"; then
  # (a force push's old tip, gone from the server): more is scanned, not less
  echo "ferret-ci: warning: base $base cannot be fetched; scanning everything instead" >&2
  base=""
fi
if [ -n "$base" ] && [ "$base" != "$zeros" ]; then
  if ! ensure_commit "$head"; then
    echo "ferret-ci: error: $head is not in the repository at $path" >&2
    exit 2
  fi
  b=$(git -C "$path" rev-parse "$base^{commit}") h=$(git -C "$path" rev-parse "$head^{commit}")
  # A shallow clone may hold both ends but not the commits between them:
  # deepen until the head reaches a common ancestor with the base.
  if [ "$(git -C "$path" rev-parse --is-shallow-repository)" = true ]; then
    for d in 50 500 5000; do
      git -C "$path" merge-base "$b" "$h" >/dev/null 2>&1 && break
      git -C "$path" fetch --quiet --no-tags --deepen="$d" origin "$h" 2>/dev/null || break
    done
    git -C "$path" merge-base "$b" "$h" >/dev/null 2>&1 ||
      git -C "$path" fetch --quiet --no-tags --unshallow origin 2>/dev/null || true
  fi
  echo "ferret-ci: scanning the commits of $b..$h" >&2
  args+=(--range "$b..$h")
else
  echo "ferret-ci: scanning everything $path holds (no base commit)" >&2
fi
"$ferret" "${args[@]}" "$@" "$path"
rc=$?
# The SARIF file is written whatever the scan found, so an upload step always
# has one to send (an empty result clears earlier alerts).
"$ferret" report --db "$db" --format sarif --output "$sarif"
rrc=$?
if [ "$rrc" -ne 0 ] && [ "$rrc" -ne 1 ]; then
  echo "ferret-ci: error: cannot write $sarif" >&2
  exit 2
fi
n=$("$ferret" report --db "$db" --format jsonl | grep -c . || true)
echo "ferret-ci: $n finding(s); SARIF in $sarif" >&2
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'findings=%s\nsarif-file=%s\nexit-code=%s\n' "$n" "$sarif" "$rc" >>"$GITHUB_OUTPUT"
fi
if [ -n "${TF_BUILD:-}" ]; then # Azure Pipelines: output variables for later steps
  echo "##vso[task.setvariable variable=findings;isOutput=true]$n"
  echo "##vso[task.setvariable variable=sarifFile;isOutput=true]$sarif"
fi
[ "$rc" -eq 1 ] && [ "$fail" -eq 0 ] && exit 0
exit "$rc"
