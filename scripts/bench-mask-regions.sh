#!/bin/sh
# bench-mask-regions.sh BASE_FERRET NEW_FERRET REPO [PAIRS]: full scans of REPO
# into fresh stores, the two binaries alternated PAIRS times (default 3); prints
# each scan's CPU (perf stat task-clock), wall and the load when it started.
# Issue 11 (fr_mask_regions on pdf.js): BASE_FERRET built before f766ecb.
set -eu
A=$1 B=$2 R=$3 N=${4:-3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
i=0
while [ "$i" -lt "$N" ]; do
  i=$((i + 1))
  for v in "$A" "$B"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    s=$(date +%s.%N)
    perf stat -x, -e task-clock -o "$D/stat" "$v" scan --db "$D/db" "$R" >/dev/null 2>&1 || true
    e=$(date +%s.%N)
    cpu=$(awk -F, '/task-clock/ {printf "%.2f", $1 / 1000}' "$D/stat")
    echo "$v load $load task-clock $cpu s wall $(echo "$e - $s" | bc | cut -c1-6) s"
    rm -f "$D"/db*
  done
done
