#!/bin/sh
# Engine cost in instructions, not seconds (a loaded machine changes seconds,
# not instruction counts): callgrind counts the instructions of fr_scan_for
# (Hyperscan, the PCRE2 confirms, the guards) over one scan of TEXT, divided
# by its bytes. Give two bench_engine binaries (a build of the commit before a
# rule or guard change, one after) to see what the change costs.
#
# usage: scripts/bench-engine-ir.sh TEXT BENCH_ENGINE [BENCH_ENGINE...]
#   TEXT  source text, e.g. /tmp/corpora/engine/src4.txt (4 MiB of source files)
# prints: binary  instructions  instructions-per-byte
set -eu
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
TEXT=$1
shift
command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 2; }
BYTES=$(wc -c <"$TEXT")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for B in "$@"; do
	nice -n 10 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" \
		--toggle-collect=fr_scan_for "$B" --threads 1 --repeat 1 "$TEXT" >/dev/null 2>&1
	IR=$(callgrind_annotate "$OUT/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
	awk -v b="$B" -v ir="$IR" -v n="$BYTES" 'BEGIN { printf "%s  %d  %.4f\n", b, ir, ir / n }'
	rm -f "$OUT/cg"
done
