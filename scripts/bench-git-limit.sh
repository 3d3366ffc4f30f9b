#!/usr/bin/env bash
# bench-git-limit.sh: the floor of a full-history git scan on this machine,
# piece by piece, beside the reference (git cat-file --batch-all-objects
# --batch --unordered) and ferret's own scan; RUNS rounds, medians.
#
#   (a) read: every blob (then every commit and tree) of the packs inflated and
#       delta-resolved by ferret's pack reader, 1 and 2 threads
#       (bench_gitlimit read);
#   (b) scan: the same blobs through the detect engine with the full rule set,
#       the engine's CPU timed apart (bench_gitlimit read --scan);
#   (c) walk: libgit2's parse of every commit and of each tree once
#       (bench_gitlimit walk), and ferret's walk thread as measured in a real
#       scan (FERRET_GIT_TRACE=1 prints its CPU).
# The floor of a 2-thread scan is max(the walk's critical path, total CPU / 2);
# printed with the ratio it gives against the reference.
#
# usage: scripts/bench-git-limit.sh [-n RUNS] [REPO]   (default: the git/git
#   clone of scripts/bench-git-real.sh, /tmp/corpora/bench-git-real/git)
#   BUILD: the build directory holding ferret and bench_gitlimit (default build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RUNS=3
if [ "${1:-}" = -n ]; then
  RUNS=$2
  shift 2
fi
REPO=${1:-/tmp/corpora/bench-git-real/git}
B=$BUILD/bench_gitlimit
F=$BUILD/ferret
[ -x "$B" ] && [ -x "$F" ] || { echo "no $B or $F (set BUILD)" >&2; exit 2; }
[ -d "$REPO" ] || { echo "no repository at $REPO (run scripts/bench-git-real.sh once)" >&2; exit 2; }
W=$(mktemp -d /tmp/bench-git-limit.XXXXXX)
trap 'rm -rf "$W"' EXIT

median() { python3 -c "import statistics,sys; print('%.2f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# field NAME FILE: the values of NAME=... in each line of FILE
field() { grep -o " $1=[0-9.]*" "$2" | cut -d= -f2; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
git -C "$REPO" cat-file --batch-all-objects --batch --unordered > /dev/null # warm the cache
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %U %S" -a -o "$W/ref" \
    git -C "$REPO" cat-file --batch-all-objects --batch --unordered > /dev/null
  "$B" read --threads 1 "$REPO" >> "$W/r1"
  "$B" read --threads 2 "$REPO" >> "$W/r2"
  "$B" read --threads 1 --types commit,tree "$REPO" >> "$W/rt"
  "$B" read --threads 1 --scan "$REPO" >> "$W/s1"
  "$B" walk "$REPO" >> "$W/wk"
  rm -f "$W"/db*
  FERRET_GIT_TRACE=1 /usr/bin/time -f "%e %U %S %M" -a -o "$W/f2" \
    "$F" scan --quiet --db "$W/db" --threads 2 "$REPO" > /dev/null 2>> "$W/trace" || true
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
ref_wall=$(median $(cut -d' ' -f1 "$W/ref"))
ref_cpu=$(median $(awk '{ print $2 + $3 }' "$W/ref"))
echo "repository $REPO, $RUNS rounds (medians)"
echo "  reference git cat-file --batch-all-objects --batch --unordered: wall $ref_wall s, cpu $ref_cpu s"
head -1 "$W/r1" | sed 's/^/  blobs: /; s/ list_wall.*//'
r1=$(median $(field read_cpu "$W/r1"))
echo "  (a) pack reader, blobs, 1 thread: wall $(median $(field wall "$W/r1")) s, cpu $r1 s (listing $(median $(field list_cpu "$W/r1")) s cpu)"
echo "  (a) pack reader, blobs, 2 threads: wall $(median $(field wall "$W/r2")) s, cpu $(median $(field cpu "$W/r2")) s"
rt=$(median $(field read_cpu "$W/rt"))
echo "  (a) pack reader, commits and trees (parsed), 1 thread: cpu $rt s; $(head -1 "$W/rt" | grep -o 'objects=[0-9]*') $(head -1 "$W/rt" | grep -o 'tree_entries=[0-9]*')"
sc=$(median $(field scan_cpu "$W/s1"))
echo "  (b) detect engine over every blob (full rule set), 1 thread: cpu $sc s"
wk=$(median $(field cpu "$W/wk"))
echo "  (c) libgit2 walk (each commit, each tree once): cpu $wk s; $(head -1 "$W/wk" | cut -d' ' -f2-4)"
if grep -q 'walk_cpu=' "$W/trace"; then
  fw=$(median $(grep -o 'walk_cpu=[0-9.]*' "$W/trace" | cut -d= -f2))
  echo "  (c) ferret's walk thread in a 2-thread scan: cpu $fw s"
else
  fw=$wk
fi
grep -v '^Command' "$W/f2" > "$W/f2t" # /usr/bin/time notes exit 1 (findings)
f2w=$(median $(cut -d' ' -f1 "$W/f2t"))
f2c=$(median $(awk '{ print $2 + $3 }' "$W/f2t"))
echo "  ferret scan --threads 2: wall $f2w s, cpu $f2c s, peak RSS $(awk '{ if ($4 > m) m = $4 } END { printf "%.0f", m / 1024 }' "$W/f2t") MB"
python3 - "$ref_wall" "$r1" "$sc" "$rt" "$wk" "$fw" "$f2c" << 'EOF'
import sys
ref, read, scan, trees, wk, fw, f2c = map(float, sys.argv[1:])
need = read + scan  # blobs read and matched: no scan can skip these
print("  floor, 2 threads, walk as today: max(walk %.2f, (read %.2f + scan %.2f + walk %.2f) / 2) = %.2f s -> ratio %.2f"
      % (fw, read, scan, fw, max(fw, (need + fw) / 2), max(fw, (need + fw) / 2) / ref))
print("  floor, 2 threads, walk on the pack reader's bytes (trees %.2f s): max(%.2f, (%.2f + %.2f) / 2) = %.2f s -> ratio %.2f"
      % (trees, trees, need, trees, max(trees, (need + trees) / 2), max(trees, (need + trees) / 2) / ref))
print("  floor, 1 thread: read + scan + trees = %.2f s -> ratio %.2f; with today's walk %.2f s -> ratio %.2f"
      % (need + trees, (need + trees) / ref, need + fw, (need + fw) / ref))
print("  ferret today: cpu %.2f s, of which beyond the floor's pieces %.2f s" % (f2c, f2c - need - fw))
EOF
