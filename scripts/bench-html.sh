#!/usr/bin/env bash
# The HTML report at scale (issue 15 target: a store of 100,000 findings and
# 1,000,000 occurrences renders in <= 5 s to <= 25 MB). Builds the synthetic
# store once (tests/tools/synth_store.py, kept in the corpus directory), then
# times `report --format html` against `report --format jsonl` (the reference)
# alternately, PAIRS pairs, and prints the medians of wall and CPU time, the
# ratio, and the size of the page.
#
#   scripts/bench-html.sh [FERRET] [CORPUS_DIR]    (PAIRS=5 FINDINGS=100000 OCC=1000000)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
ferret=$(realpath "${1:-$src/build/ferret}")
dir=${2:-/tmp/corpora/report-bench}
pairs=${PAIRS:-5} findings=${FINDINGS:-100000} occ=${OCC:-1000000}
mkdir -p "$dir"
db=$dir/store-$findings-$occ.db
# (made again when this ferret cannot read it: an old store without its key file)
if [ ! -s "$db" ] || ! { "$ferret" report --db "$db" --summary > /dev/null 2>&1 || [ $? -eq 1 ]; }; then
  echo "building $db (once)" >&2
  rm -f "$db" "$db"-* && mkdir -p "$dir/empty"
  "$ferret" scan --db "$db" "$dir/empty" >/dev/null
  python3 "$src/tests/tools/synth_store.py" "$db" "$findings" "$occ" --repos 40
  "$ferret" report --db "$db" --format jsonl --output /dev/null || true # schema upgrades, page cache
fi
one() { # one FORMAT OUT: prints "wall cpu"
  local t0 t1 c
  t0=$(date +%s.%N)
  /usr/bin/time -o "$dir/time.out" -f "%U %S" "$ferret" report --db "$db" --format "$1" --output "$2" \
    >/dev/null 2>&1 || true # exit 1: findings
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(tail -1 "$dir/time.out" | awk '{print $1 + $2}')"
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
: > "$dir/html.t"
: > "$dir/jsonl.t"
for i in $(seq "$pairs"); do
  one html "$dir/report.html" >> "$dir/html.t"
  one jsonl "$dir/report.jsonl" >> "$dir/jsonl.t"
done
hw=$(cut -d' ' -f1 "$dir/html.t" | median) hc=$(cut -d' ' -f2 "$dir/html.t" | median)
jw=$(cut -d' ' -f1 "$dir/jsonl.t" | median) jc=$(cut -d' ' -f2 "$dir/jsonl.t" | median)
size=$(stat -c %s "$dir/report.html")
echo "store: $findings findings, $occ occurrences; $pairs pairs, medians; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'html : %6.2f s wall %6.2f s CPU  %5.1f MB (%d bytes)\n' "$hw" "$hc" "$(echo "$size / 1000000" | bc -l)" "$size"
printf 'jsonl: %6.2f s wall %6.2f s CPU  %5.1f MB\n' "$jw" "$jc" "$(echo "$(stat -c %s "$dir/report.jsonl") / 1000000" | bc -l)"
printf 'html / jsonl: %.2f wall, %.2f CPU\n' "$(echo "$hw / $jw" | bc -l)" "$(echo "$hc / $jc" | bc -l)"
