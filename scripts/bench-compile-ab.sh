#!/usr/bin/env bash
# What some rules cost the uncached rule-set compile: the CPU (perf stat
# task-clock) of `ferret scan --no-cache` over a one-line file with the built-in
# rule set (A) and with a --rules directory (B: its files replace the built-in
# ones of the same name, or add to them), alternated A B A B ..., medians and
# the median of the pair ratios reported. The scan itself is a few ms: what is
# measured is the YAML load, the PCRE2 and the Hyperscan compile.
#   scripts/bench-compile-ab.sh FERRET RULES_DIR_B [PAIRS]
# Example (the set without providers-2026.yml):
#   mkdir -p /tmp/b && printf 'rules: []\n' > /tmp/b/providers-2026.yml
#   scripts/bench-compile-ab.sh build/ferret /tmp/b 7
set -euo pipefail
ferret=$1 rulesb=$2 pairs=${3:-7}
command -v perf >/dev/null || { echo "bench-compile-ab: perf is needed" >&2; exit 2; }
work=$(mktemp -d /tmp/ferret-cab.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "x = 1" > "$work/a.txt"
cpu() {
  rm -f "$work"/db*
  perf stat -x, -e task-clock "$ferret" scan --quiet --no-cache --no-config "$@" --db "$work/db" "$work/a.txt" \
    2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$pairs"); do
  a=$(cpu) b=$(cpu --rules "$rulesb")
  echo "pair $i: A $a ms, B $b ms, A/B $(python3 -c "print(round($a / $b, 3))")"
done | tee "$work/pairs"
python3 - "$work/pairs" <<'PY'
import re, statistics, sys
rows = [tuple(map(float, re.findall(r"A ([0-9.]+) ms, B ([0-9.]+) ms", l)[0])) for l in open(sys.argv[1])]
a = statistics.median(x for x, _ in rows)
b = statistics.median(y for _, y in rows)
print("median CPU A %.0f ms, B %.0f ms, A - B %+.0f ms; median pair ratio A/B %.3f (%d pairs)" % (
    a, b, a - b, statistics.median(x / y for x, y in rows), len(rows)))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
