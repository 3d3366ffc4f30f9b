#!/usr/bin/env bash
# Two ferret binaries (or one with two rule sets) on a repository's full
# history, alternated A B A B ..., each run a first scan into a fresh DB with
# the compiled rules cached (a warm-up run of each fills the cache first).
# Reports every run's CPU seconds (user + system, /usr/bin/time) and wall, and
# the medians of the per-pair ratios B/A: CPU is the figure that holds on a
# loaded machine.
#   scripts/bench-git-ab.sh REPO [PAIRS] [THREADS]
# A and B name the binaries (default build/ferret for both); A_ARGS / B_ARGS
# add options (e.g. B_ARGS="--rules /tmp/rules36": the rule files of another
# tree). Example, the 36-rule tree before issues 12/13 against HEAD:
#   git worktree add /tmp/base36 c8f3731^ && (build it in /tmp/base36/build;
#   that commit's src/pipeline/pipeline.{c,h} each hold a block twice, a
#   mid-session state: delete the second copy to build it)
#   A=/tmp/base36/build/ferret B=build/ferret scripts/bench-git-ab.sh \
#     /tmp/corpora/openai-python 7 2
set -euo pipefail
repo=$1 pairs=${2:-7} threads=${3:-2}
a=${A:-build/ferret} b=${B:-build/ferret}
work=$(mktemp -d /tmp/ferret-gitab.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -m 700 "$work/cache-a" "$work/cache-b"
one() { # which binary args cache -> "cpu wall"
  local bin=$1 args=$2 cache=$3
  rm -f "$work"/s.db*
  FERRET_CACHE_DIR=$cache /usr/bin/time -f "%U %S %e" -o "$work/t" \
    "$bin" scan --quiet --threads "$threads" --db "$work/s.db" $args "$repo" >/dev/null 2>&1 || true
  tail -n 1 "$work/t" | awk '{printf "%.3f %.3f\n", $1 + $2, $3}'
}
one "$a" "${A_ARGS:-}" "$work/cache-a" >/dev/null
one "$b" "${B_ARGS:-}" "$work/cache-b" >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$pairs"); do
  ra=$(one "$a" "${A_ARGS:-}" "$work/cache-a")
  rb=$(one "$b" "${B_ARGS:-}" "$work/cache-b")
  echo "pair $i: A cpu/wall $ra  B cpu/wall $rb"
done | tee "$work/pairs"
python3 - "$work/pairs" <<'PY'
import re, statistics, sys
rows = [list(map(float, re.findall(r"[0-9.]+ [0-9.]+", l)[0].split() + re.findall(r"[0-9.]+ [0-9.]+", l)[1].split()))
        for l in open(sys.argv[1])]
med = statistics.median
print("A: CPU %.2f s, wall %.2f s; B: CPU %.2f s, wall %.2f s (medians)" % (
    med(r[0] for r in rows), med(r[1] for r in rows), med(r[2] for r in rows), med(r[3] for r in rows)))
print("B/A CPU %.3f (pairs %.2f - %.2f), wall %.3f (median of %d pair ratios)" % (
    med(r[2] / r[0] for r in rows), min(r[2] / r[0] for r in rows), max(r[2] / r[0] for r in rows),
    med(r[3] / r[1] for r in rows), len(rows)))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
