#!/usr/bin/env bash
# Benchmarks of sharded scans and merges (issue 16 targets), printed as a table:
#   balance   largest of 4 shards / mean, in bytes scanned: a mirror set of
#             REPOS repositories (scripts/cluster/make-mirrors.py) and git/git
#   overhead  sum of the 4 shards' CPU seconds / one unsharded scan's, on the
#             mirror set (PAIRS pairs, alternating, median ratio) and on git/git
#             (once: every shard walks the whole history)
#   merge     4 shards of git/git merged into a new org store: seconds, and as a
#             share of one shard's scan (the slowest shard)
#   merge/s   occurrences per second merged into an existing org store: 4
#             synthetic shards (tests/tools/synth_store.py) of OCC occurrences
#             each into a store already holding 4 others
#   scripts/bench-shard.sh [BUILD_DIR]      (env: CORPORA, REPOS, PAIRS, OCC, GIT_REPO,
#                                            PARTS: any of "mirror git merge", default all)
# Corpora live under $CORPORA (default /tmp/corpora/shard), never in the repo.
# CPU seconds are user + system of the process (GNU time); scans use one
# thread each so CPU is not lost to waiting, with a warm rules cache.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
F=$(cd "${1:-$SRC/build}" && pwd)/ferret
C=${CORPORA:-/tmp/corpora/shard}
REPOS=${REPOS:-240} PAIRS=${PAIRS:-3} OCC=${OCC:-250000} PARTS=${PARTS:-mirror git merge}
GIT_REPO=${GIT_REPO:-/work/.mirror/git+git/repo}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-shard.XXXXXX")
trap 'rm -rf "$W"' EXIT
export FERRET_KEY_FILE="$W/org.key" FERRET_CACHE_DIR="$W/cache"
mkdir -p "$C"
if [ ! -d "$C/set-$REPOS" ]; then # made aside, so an interrupted run leaves no half set
  rm -rf "$C/set-$REPOS.tmp"
  python3 "$SRC/scripts/cluster/make-mirrors.py" "$C/set-$REPOS.tmp" --repos "$REPOS" --commits 8 \
    --file-kb 4 --large-commits 10
  mv "$C/set-$REPOS.tmp" "$C/set-$REPOS"
fi
[ -d "$C/git.git" ] || git clone -q --bare --no-local "$GIT_REPO" "$C/git.git"
MIR="$C/set-$REPOS/mirrors" GIT="$C/git.git"
"$F" scan --quiet --db "$W/warm.db" "$SRC/README.md" || true # compiles the rules into the cache

# cpu_of CMD...: runs CMD, prints its user+system seconds (exit 0/1 are fine)
cpu_of() {
  /usr/bin/time -f "%U %S %e" -o "$W/time" "$@" >/dev/null 2>"$W/err" || [ $? -le 1 ] ||
    { cat "$W/err" >&2; exit 2; }
  # (GNU time puts "Command exited with non-zero status 1" first: the figures are the last line)
  tail -1 "$W/time" | awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }'
}
scan_shards() { # scan_shards PREFIX TARGET: 4 shards; prints total cpu and max wall
  local tot=0 maxw=0 c w
  for i in 0 1 2 3; do
    rm -f "$1-$i.db"*
    read -r c w < <(cpu_of "$F" scan --quiet --threads 1 --shard "$i/4" --db "$1-$i.db" "$2")
    tot=$(echo "$tot + $c" | bc -l)
    maxw=$(echo "if ($w > $maxw) $w else $maxw" | bc -l)
  done
  echo "$tot $maxw"
}
balance() { # balance PREFIX: largest shard's bytes / mean
  for i in 0 1 2 3; do sqlite3 "$1-$i.db" "SELECT sum(bytes_scanned) FROM runs"; done |
    awk '{ s += $1; if ($1 > m) m = $1 } END { printf "%.3f (largest %d of mean %d bytes)", m / (s / NR), m, s / NR }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "ferret sharding benchmark: $(nproc) cores, mirror set of $REPOS repositories ($(du -sh "$MIR" | cut -f1)), git/git $(git -C "$GIT" rev-list --all | wc -l) commits"
part() { [[ " $PARTS " == *" $1 "* ]]; }
ratios=()
part mirror || PAIRS=0
for p in $(seq "$PAIRS"); do
  rm -f "$W/one.db"*
  read -r one _ < <(cpu_of "$F" scan --quiet --threads 1 --db "$W/one.db" "$MIR")
  read -r four _ < <(scan_shards "$W/m" "$MIR")
  r=$(echo "$four / $one" | bc -l)
  ratios+=("$r")
  printf 'mirror set pair %d: unsharded %.2f s cpu, 4 shards %.2f s cpu, ratio %.3f\n' "$p" "$one" "$four" "$r"
done
part mirror && echo "balance, mirror set: $(balance "$W/m")"
part mirror && printf 'overhead, mirror set: 4 shards / unsharded cpu, median of %d pairs: %.3f\n' "$PAIRS" \
  "$(printf '%s\n' "${ratios[@]}" | median)"

if part git; then
rm -f "$W/gone.db"*
read -r gone gwall < <(cpu_of "$F" scan --quiet --threads 1 --db "$W/gone.db" "$GIT")
read -r gfour gmax < <(scan_shards "$W/g" "$GIT")
echo "balance, git/git: $(balance "$W/g")"
printf 'overhead, git/git: unsharded %.1f s cpu, 4 shards %.1f s cpu, ratio %.3f (each shard walks the whole history)\n' \
  "$gone" "$gfour" "$(echo "$gfour / $gone" | bc -l)"
rm -f "$W/gorg.db"*
/usr/bin/time -f "%e" -o "$W/mtime" "$F" merge --quiet --db "$W/gorg.db" "$W"/g-[0-3].db
mt=$(tail -1 "$W/mtime")
printf 'merge, git/git: 4 shards in %.2f s = %.1f%% of the slowest shard scan (%.1f s wall)\n' \
  "$mt" "$(echo "100 * $mt / $gmax" | bc -l)" "$gmax"
"$F" report --db "$W/gone.db" --format jsonl | python3 -c 'import json,sys; [print(json.dumps({k: v for k, v in json.loads(l).items() if k not in ("first_seen", "last_seen")}, sort_keys=True)) for l in sys.stdin]' >"$W/a.txt" || true
"$F" report --db "$W/gorg.db" --format jsonl | python3 -c 'import json,sys; [print(json.dumps({k: v for k, v in json.loads(l).items() if k not in ("first_seen", "last_seen")}, sort_keys=True)) for l in sys.stdin]' >"$W/b.txt" || true
echo "git/git: merged report equals unsharded: $(cmp -s "$W/a.txt" "$W/b.txt" && echo yes || echo NO) ($(wc -l <"$W/a.txt") findings)"

fi

# merge throughput into an existing org store
part merge || exit 0
mkdir -p "$W/empty"
for s in 11 12 13 14 1 2 3 4; do
  "$F" scan --quiet --db "$W/syn-$s.db" "$W/empty" || true
  python3 "$SRC/tests/tools/synth_store.py" "$W/syn-$s.db" $((OCC / 10)) "$OCC" --seed "$s"
done
"$F" merge --quiet --db "$W/sorg.db" "$W"/syn-1[1-4].db
occ=0
for s in 1 2 3 4; do occ=$((occ + $(sqlite3 "$W/syn-$s.db" "SELECT count(*) FROM occurrences"))); done
load=$(cut -d' ' -f1 /proc/loadavg)
/usr/bin/time -f "%e %U %S" -o "$W/mtime" "$F" merge --quiet --db "$W/sorg.db" "$W"/syn-[1-4].db
read -r e u s < <(tail -1 "$W/mtime")
cpu=$(echo "$u + $s" | bc -l)
printf 'merge into an existing org store: %d occurrences in %.2f s wall (%.2f s cpu; load %s): %.0f occurrences/s wall, %.0f per cpu second\n' \
  "$occ" "$e" "$cpu" "$load" "$(echo "$occ / $e" | bc -l)" "$(echo "$occ / $cpu" | bc -l)"
