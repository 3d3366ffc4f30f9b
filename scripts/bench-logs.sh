#!/usr/bin/env bash
# Pipeline-log sweep benchmark: generate a log-archive corpus (>= 1 GB
# uncompressed; GitHub Actions / Azure zips, GitLab / Jenkins logs plain and
# gzipped), then measure in the same run the time to merely decompress it on one
# thread (bsdtar -xOf / zcat / cat to /dev/null) against ferret's first sweep and
# its second, incremental sweep.
#   scripts/bench-logs.sh [MB]      (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-1024}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ferret >/dev/null
work=$(mktemp -d /tmp/ferret-logbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 corpus/gen-logs.py "$work/logs" --mb "$mb"
export FERRET_CACHE_DIR="$work/cache"
now() { date +%s.%N; }
cat "$work"/logs/* > /dev/null   # page cache warm for both sides
decompress() {
  for f in "$work"/logs/*; do
    case "$f" in
      *.zip) bsdtar -xOf "$f" ;;
      *.gz) zcat "$f" ;;
      *) cat "$f" ;;
    esac
  done > /dev/null
}
s=$(now); decompress; e=$(now); ref=$(echo "$e - $s" | bc)
s=$(now); ./build/ferret scan --db "$work/s.db" "$work/logs" 2> "$work/first.err" || true; e=$(now); first=$(echo "$e - $s" | bc)
s=$(now); ./build/ferret scan --quiet --db "$work/s.db" "$work/logs" || true; e=$(now); second=$(echo "$e - $s" | bc)
echo "single-threaded decompression (bsdtar -xOf / zcat / cat): ${ref} s"
echo "ferret first sweep ($(nproc) cores):                        ${first} s  ratio $(echo "scale=2; $first / $ref" | bc)"
echo "ferret second sweep (unchanged):                          ${second} s  speed-up $(echo "scale=0; $first / $second" | bc)x"
grep "complete run" "$work/first.err" || cat "$work/first.err"
