#!/usr/bin/env bash
# Pipeline-log sweep benchmark: generate a log-archive corpus (>= 1 GB
# uncompressed; GitHub Actions / Azure zips, GitLab / Jenkins logs plain and
# gzipped), then measure in the same run, alternately, the time to merely
# decompress it on one thread (bsdtar -xOf / zcat / cat to /dev/null) against
# ferret's first sweep (a fresh store each time) with every rule, and with the
# threat-indicator rules switched off (each indicators-*.yml overridden by an
# empty file through --rules); then its second, incremental sweep.
#   scripts/bench-logs.sh [MB] [PAIRS]      (default 1024 MB, 5 rounds)
# FERRET=path/to/ferret uses that binary (else build/ is built); LOGS=DIR
# reuses a corpus gen-logs.py wrote there before (generated if DIR is absent).
# Prints each
# round's wall and CPU (user+sys) seconds, then the median of the per-round
# ratios sweep / decompression (wall and CPU), and the load average before and
# after. The rounds rotate their order, so a drift of the machine's speed is
# shared out.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-1024}
pairs=${2:-5}
if [ -z "${FERRET:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target ferret >/dev/null
  FERRET=./build/ferret
fi
work=$(mktemp -d /tmp/ferret-logbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
logs=${LOGS:-$work/logs}
[ -d "$logs" ] || python3 corpus/gen-logs.py "$logs" --mb "$mb"
export FERRET_CACHE_DIR="$work/cache"
mkdir "$work/noind"
for f in patterns/indicators-*.yml; do printf 'rules: []\n' > "$work/noind/$(basename "$f")"; done
cat "$logs"/* > /dev/null   # page cache warm for every side
cat > "$work/decompress.sh" <<EOF
for f in "$logs"/*; do
  case "\$f" in
    *.zip) bsdtar -xOf "\$f" ;;
    *.gz) zcat "\$f" ;;
    *) cat "\$f" ;;
  esac
done > /dev/null
EOF
# warm the compiled-rules caches of both rule sets (not part of a sweep's cost)
mkdir -p "$work/empty"
"$FERRET" scan --quiet --db "$work/w1.db" "$work/empty" || true
"$FERRET" scan --quiet --rules "$work/noind" --db "$work/w2.db" "$work/empty" || true
timed() { # timed NAME CMD...: appends "NAME wall cpu" to $work/times
  local name=$1
  shift
  /usr/bin/time -f "$name %e %U %S" -o "$work/t1" "$@" > /dev/null 2>> "$work/err" || true
  # the last line: time puts "Command exited with non-zero status 1" before it
  tail -n 1 "$work/t1" | awk '{ printf "%s %.2f %.2f\n", $1, $2, $3 + $4 }' >> "$work/times"
}
run_ref() { timed ref bash "$work/decompress.sh"; }
run_ind() { rm -f "$work/s.db"*; timed ind "$FERRET" scan --quiet --db "$work/s.db" "$logs"; }
run_noind() { rm -f "$work/n.db"*; timed noind "$FERRET" scan --quiet --rules "$work/noind" --db "$work/n.db" "$logs"; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/times"
for ((i = 0; i < pairs; i++)); do
  case $((i % 3)) in
    0) run_ref; run_ind; run_noind ;;
    1) run_ind; run_noind; run_ref ;;
    2) run_noind; run_ref; run_ind ;;
  esac
done
s=$(date +%s.%N); "$FERRET" scan --quiet --db "$work/s.db" "$logs" || true; e=$(date +%s.%N)
second=$(echo "$e - $s" | bc)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/times" "$pairs" "$second" "$(nproc)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
pairs, second, cores = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
by = {k: [(float(w), float(c)) for n, w, c in rows if n == k] for k in ("ref", "ind", "noind")}
for i in range(pairs):
    print("round %d: decompression %.2f s wall %.2f s cpu | sweep with indicators %.2f s wall %.2f s cpu"
          " | without %.2f s wall %.2f s cpu" % ((i + 1,) + by["ref"][i] + by["ind"][i] + by["noind"][i]))
for k, name in (("ind", "with indicator rules"), ("noind", "without indicator rules")):
    rw = [a[0] / b[0] for a, b in zip(by[k], by["ref"])]
    rc = [a[1] / b[1] for a, b in zip(by[k], by["ref"])]
    print("first sweep %-24s (%s cores): median %.2f s wall, %.2f s cpu; ratio to single-threaded"
          " decompression: wall %.2fx (rounds %s), cpu %.2fx" % (
              name, cores, statistics.median(a[0] for a in by[k]), statistics.median(a[1] for a in by[k]),
              statistics.median(rw), " ".join("%.2f" % r for r in rw), statistics.median(rc)))
print("single-threaded decompression (bsdtar -xOf / zcat / cat): median %.2f s wall, %.2f s cpu"
      % (statistics.median(a[0] for a in by["ref"]), statistics.median(a[1] for a in by["ref"])))
ind_vs = [a[1] / b[1] for a, b in zip(by["ind"], by["noind"])]
print("indicator rules' cost: sweep cpu with / without, median %.3fx" % statistics.median(ind_vs))
print("ferret second sweep (unchanged): %.2f s" % second)
PY
