#!/usr/bin/env bash
# What some rules cost the engine: bench_engine's scan CPU with the built-in
# rule set (A) against the same set with rules removed or replaced (B: a
# --rules directory whose files replace the built-in ones of the same name),
# alternated A B A B ..., the ratio A/B taken pair by pair, median reported.
#   scripts/bench-rules-ab.sh BUILD_DIR RULES_DIR_B [PAIRS] [SIZE_MB]
# Example (the set without the credential-container rules):
#   mkdir -p /tmp/b && printf 'rules: []\n' > /tmp/b/keystores.yml
#   scripts/bench-rules-ab.sh build-cov /tmp/b 7 64
# Source text as scripts/bench-engine.sh makes it (Python, C headers, Perl).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 rulesb=$2 pairs=${3:-7} size_mb=${4:-64}
[ -x "$build/bench_engine" ] || cmake --build "$build" --target bench_engine >/dev/null
work=$(mktemp -d /tmp/ferret-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
awk '/^python3 - "\$corpus" "\$size_mb" <<.PY.$/{f=1;next} /^PY$/{f=0} f' scripts/bench-engine.sh > "$work/mk.py"
python3 "$work/mk.py" "$work/source.txt" "$size_mb"
cpu() { "$build/bench_engine" "$@" --threads 1 --repeat 4 "$work/source.txt" | grep -oP 'cpu=\K[0-9.]+'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$pairs"); do
  a=$(cpu) b=$(cpu --rules "$rulesb")
  echo "pair $i: A $a s, B $b s, A/B $(python3 -c "print(round($a / $b, 3))")"
done | tee "$work/pairs"
python3 - "$work/pairs" "$size_mb" <<'PY'
import re, statistics, sys
rows = [tuple(map(float, re.findall(r"A ([0-9.]+) s, B ([0-9.]+) s", l)[0])) for l in open(sys.argv[1])]
mb = 4 * int(sys.argv[2]) * 1.048576
print("median A/B scan CPU %.3f (%d pairs); A %.0f, B %.0f MB per CPU second (medians)" % (
    statistics.median(a / b for a, b in rows), len(rows),
    mb / statistics.median(a for a, _ in rows), mb / statistics.median(b for _, b in rows)))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
