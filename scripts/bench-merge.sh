#!/usr/bin/env bash
# Merge throughput into an EXISTING organisation store (issue 16 target:
# >= 100,000 occurrences per second): 4 synthetic shard stores of OCC
# occurrences each (tests/tools/synth_store.py: OCC/10 findings, git blobs with
# commits and authors) merged into a store already holding 4 others, RUNS
# times, each into a fresh copy of that store. Prints every run and the
# medians: occurrences per wall second and per CPU second (user + system of
# the merge process), the load average, the stores' sizes.
#   scripts/bench-merge.sh [BUILD_DIR]     (env: OCC=250000 RUNS=5
#                                           CORPORA=/tmp/corpora/merge-bench
#                                           VS=OTHER_FERRET_BINARY)
# VS: each run also merges with that ferret (another build), alternated with
# the one under test, and prints the median ratio of their CPU and wall
# seconds (VS / under test): on a loaded machine the ratios hold where the
# absolute figures do not. A VS of other schema steps (a build from before
# 0009) gets stores of its own, made by it from the same seeds, in
# $CORPORA.vs (the same rows in its layout).
# The stores are made once per OCC and schema (kept under $CORPORA, never in
# the repository) by the ferret under test, so its schema steps apply.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
F=$(cd "${1:-$SRC/build}" && pwd)/ferret
OCC=${OCC:-250000} RUNS=${RUNS:-5}
C=${CORPORA:-/tmp/corpora/merge-bench}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-merge.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$C/empty"
export FERRET_KEY_FILE="$C/org.key" FERRET_CACHE_DIR="$C/cache"

# The schema steps a ferret writes: stores of another schema are remade.
stamp_of() {
  rm -f "$W"/probe.db*
  "$1" scan --quiet --db "$W/probe.db" "$C/empty" || [ $? -le 1 ]
  echo "$OCC $(sqlite3 "$W/probe.db" "SELECT group_concat(name, ',') FROM (SELECT name FROM migrations ORDER BY name)")"
}
make_stores() { # FERRET DIR
  local stamp
  stamp=$(stamp_of "$1")
  mkdir -p "$2"
  if [ "$(cat "$2/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "making the stores ($OCC occurrences each) in $2 ..." >&2
    rm -f "$2"/*.db "$2"/*.db-* "$2"/*.db.key "$2/stamp"
    for s in 11 12 13 14 1 2 3 4; do
      "$1" scan --quiet --db "$2/syn-$s.db" "$C/empty" || [ $? -le 1 ]
      python3 "$SRC/tests/tools/synth_store.py" "$2/syn-$s.db" $((OCC / 10)) "$OCC" --seed "$s"
    done
    "$1" merge --quiet --db "$2/base.db" "$2"/syn-1[1-4].db
    echo "$stamp" >"$2/stamp"
  fi
}
make_stores "$F" "$C"
VC=$C
if [ -n "${VS:-}" ] && [ "$(stamp_of "$VS")" != "$(cat "$C/stamp")" ]; then
  VC=$C.vs
  make_stores "$VS" "$VC"
fi

occ=0
for s in 1 2 3 4; do occ=$((occ + $(sqlite3 "$C/syn-$s.db" "SELECT count(*) FROM occurrences"))); done
# (rows, not the occurrences view: the synthetic inputs share blobs, which the
# view crosses with every input's locations of them)
base_rows=$(sqlite3 "$C/base.db" "SELECT (SELECT count(*) FROM matches) || ' matches, ' ||
  (SELECT count(*) FROM locations) || ' locations'")
mb() { du -m "$@" | awk '{ s += $1 } END { print s }'; }
echo "ferret merge benchmark: $(nproc) cores; org store $(mb "$C/base.db") MB holding $base_rows;" \
  "4 inputs, $(mb "$C"/syn-[1-4].db) MB, $occ occurrences"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$W/wall" && : >"$W/cpu" && : >"$W/ratio" && : >"$W/wratio"
# one merge into a fresh copy of the org store: "wall user sys maxrss_kb"
merge_once() { # FERRET STORES
  rm -f "$W"/org.db*
  cp "$2/base.db" "$W/org.db"
  sync "$W/org.db"
  /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$1" merge --quiet --db "$W/org.db" "$2"/syn-[1-4].db
  tail -1 "$W/time"
}
for r in $(seq "$RUNS"); do
  if [ -n "${VS:-}" ]; then
    read -r ve vu vs vm < <(merge_once "$VS" "$VC")
    vcpu=$(echo "$vu + $vs" | bc -l)
    printf 'run %d, VS: %.2f s wall, %.2f s cpu, %d MB peak RSS: %.0f per cpu second\n' "$r" "$ve" \
      "$vcpu" $((vm / 1024)) "$(echo "$occ / $vcpu" | bc -l)"
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r e u s m < <(merge_once "$F" "$C")
  cpu=$(echo "$u + $s" | bc -l)
  if [ -n "${VS:-}" ]; then
    echo "$vcpu / $cpu" | bc -l >>"$W/ratio"
    echo "$ve / $e" | bc -l >>"$W/wratio"
  fi
  echo "$occ / $e" | bc -l >>"$W/wall"
  echo "$occ / $cpu" | bc -l >>"$W/cpu"
  printf 'run %d: %.2f s wall, %.2f s cpu (%.2f user + %.2f sys), %d MB peak RSS, load %s before: %.0f occurrences/s wall, %.0f per cpu second; org store now %d MB\n' \
    "$r" "$e" "$cpu" "$u" "$s" $((m / 1024)) "$load" "$(tail -1 "$W/wall")" "$(tail -1 "$W/cpu")" \
    "$(mb "$W/org.db")"
done
printf 'median of %d runs: %.0f occurrences/s wall, %.0f per cpu second (load now: %s)\n' "$RUNS" \
  "$(median <"$W/wall")" "$(median <"$W/cpu")" "$(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${VS:-}" ]; then
  printf 'median ratios VS / under test over %d alternated pairs: CPU %.3f, wall %.3f\n' "$RUNS" \
    "$(median <"$W/ratio")" "$(median <"$W/wratio")"
fi
