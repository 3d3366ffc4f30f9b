#!/usr/bin/env bash
# Incremental and range scans on a real repository (issue 11 item 2, issue 14
# item 4): per pair, a first scan into a fresh DB, then one new commit on a new
# branch and the re-scan, then unchanged re-scans; and a range scan of a
# pull request against the empty range (the fixed cost). Prints wall seconds
# and CPU seconds (user + sys, all threads) and the medians.
#
#   scripts/bench-incr.sh FERRET CLONE [PAIRS] [PR_MERGE]
#
# CLONE is never modified: it is copied with hard links (git writes new
# objects and refs as new files) into a temporary directory. PR_MERGE: a
# merge commit whose second parent ends the pull request (its range is
# MERGE^1..MERGE^2); default: the first merge on the first-parent history
# whose branch holds exactly 20 commits.
set -euo pipefail
FERRET=$(realpath "$1")
CLONE=$(realpath "$2")
PAIRS=${3:-3}
W=$(mktemp -d /tmp/bench-incr.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp -al "$CLONE" "$W/repo"
[ -f "$CLONE/.git/index" ] && cp --remove-destination "$CLONE/.git/index" "$W/repo/.git/index"
cd "$W"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# run LABEL ARGS...: one ferret run; appends "wall cpu" to LABEL's list
run() {
  local label=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$W/time" "$FERRET" scan --quiet "$@" >/dev/null 2>&1 || [ $? -le 1 ]
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(awk 'END {print $1 + $2}' "$W/time")" >> "$W/$label"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
show() { # show LABEL: median wall and cpu
  printf '%-28s wall %8.3f s  cpu %8.3f s  (n=%d)\n' "$1" \
    "$(cut -d' ' -f1 "$W/$1" | median)" "$(cut -d' ' -f2 "$W/$1" | median)" "$(wc -l < "$W/$1")"
}

for i in $(seq "$PAIRS"); do
  rm -f db.db db.db-*
  run first --db db.db repo
  git -C repo checkout -q -b "bench-incr-$i" >/dev/null 2>&1
  echo "bench $i $RANDOM" > "repo/bench-incr-$i.txt"
  git -C repo add "bench-incr-$i.txt" && git -C repo commit -q -m "bench $i"
  run one-new-commit --db db.db repo
  for _ in 1 2 3 4 5; do run unchanged --db db.db repo; done
  echo "pair $i: first $(tail -1 first), one new commit $(tail -1 one-new-commit)" >&2
done

M=${4:-}
if [ -z "$M" ]; then
  for m in $(git -C repo rev-list --merges --first-parent -n 3000 HEAD); do
    if [ "$(git -C repo rev-list --count "$m^1..$m^2")" -eq 20 ]; then M=$m; break; fi
  done
fi
for _ in 1 2 3 4 5; do
  rm -f r.db r.db-*; run range-empty --db r.db --range "$M^2..$M^2" repo
  rm -f r.db r.db-*; run range-pr --db r.db --range "$M^1..$M^2" repo
done
rm -f r.db r.db-*
"$FERRET" scan --db r.db --range "$M^1..$M^2" repo 2>&1 | grep -E '^ferret: (complete|git:)' >&2 || true

show first
show one-new-commit
show unchanged
show range-empty
show range-pr
awk -v a="$(cut -d' ' -f1 first | median)" -v b="$(cut -d' ' -f1 one-new-commit | median)" \
  'BEGIN {printf "one new commit / first scan: 1/%.0f (wall)\n", a / b}'
echo "range: $(git -C repo rev-list --count "$M^1..$M^2") commits ($M^1..$M^2)"
