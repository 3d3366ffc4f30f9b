#!/usr/bin/env bash
# Detect-engine throughput on typical source text, in memory, against ripgrep
# searching the same bytes for the same patterns in the same run.
#   scripts/bench-engine.sh [SIZE_MB]      (default 256)
# BUILD_DIR names the build directory (default build). Each ferret line gives
# wall MB/s and MB per CPU second (the figure that holds on a loaded machine).
# The text is scanned as the pipeline scans a source file (--origin other: the
# rules for CI logs and pipeline definitions are not confirmed there), and once
# more on 1 thread as content of unknown origin (every rule: a git blob scanned
# ahead of the walk).
# Source text: the Python standard library, C headers and Perl modules that a
# Debian machine ships, concatenated, with a few planted fake secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-256}
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_engine ferret >/dev/null
work=$(mktemp -d /tmp/ferret-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
corpus="$work/source.txt"
python3 - "$corpus" "$size_mb" <<'PY'
import os, sys, random
sys.path.insert(0, "tests/tools")
import fakesecrets
out, limit = sys.argv[1], int(sys.argv[2]) << 20
roots = ["/usr/lib/python3", "/usr/lib/python3.11", "/usr/include", "/usr/share/perl", "/usr/share/perl5",
         "/root/.pyenv/versions", "/usr/share/cmake-3.25"]
exts = (".py", ".h", ".c", ".pm", ".pl", ".cmake", ".txt", ".rst", ".json", ".yml", ".yaml", ".sh")
files = []
for r in roots:
    for d, _, fs in os.walk(r):
        files += [os.path.join(d, f) for f in fs if f.endswith(exts)]
files = sorted(set(files))
rng = random.Random(1)
rng.shuffle(files)
total = 0
with open(out, "wb") as o:
    while total < limit:
        for p in files:
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            o.write(data); total += len(data)
            if rng.random() < 0.001:
                s = ("TOKEN=" + fakesecrets.github(rng) + "\n").encode(); o.write(s); total += len(s)
            if total >= limit:
                break
PY
bytes=$(stat -c %s "$corpus")
echo "corpus: $((bytes / 1000000)) MB of source text"
"./$build/bench_engine" --print-patterns > "$work/patterns.txt"
sed 's/^/(?-u)/' "$work/patterns.txt" > "$work/patterns-bytes.txt"
cat "$corpus" > /dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ms() { echo $(( ($2 - $1) / 1000000 )); }
f1=$("./$build/bench_engine" --origin other --threads 1 --repeat 4 "$corpus"); echo "ferret engine: $f1"
f2=$("./$build/bench_engine" --origin other --threads 2 --repeat 4 "$corpus"); echo "ferret engine: $f2"
fa=$("./$build/bench_engine" --origin all --threads 1 --repeat 4 "$corpus"); echo "ferret engine, every rule: $fa"
m1=$(sed 's/.*MB\/s=\([0-9]*\).*/\1/' <<<"$f1")
m2=$(sed 's/.*MB\/s=\([0-9]*\).*/\1/' <<<"$f2")
echo "scaling 1 -> 2 threads: $(python3 -c "print(f'{$m2/$m1:.2f}x')")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v rg >/dev/null; then
  # ripgrep, same bytes, same patterns, multi-line (-U, as ferret matches across
  # lines). Byte-oriented ((?-u), as ferret is) with its default engine; when a
  # rule needs look-around, that engine refuses it and rg's PCRE2 engine (-P) is
  # used instead. rg searches one file on one thread.
  engine="default engine, (?-u)"
  s=$(date +%s%N)
  if ! rg -U -c -f "$work/patterns-bytes.txt" "$corpus" > /dev/null 2> "$work/rg.err" && grep -q "not supported" "$work/rg.err"; then
    engine="PCRE2 engine (-P): the rules use look-around"
    s=$(date +%s%N); rg -U -P -c -f "$work/patterns.txt" "$corpus" > /dev/null 2> "$work/rg.err" || true
  fi
  e=$(date +%s%N)
  rgb=$(( bytes * 1000 / (e - s) ))
  if grep -q "error" "$work/rg.err"; then
    # rg gives up on the file (e.g. PCRE2's match limit): its time is not a full search.
    echo "rg -U, $engine (1 thread): gave up after $(ms "$s" "$e") ms: $(head -c 200 "$work/rg.err")"
  else
    echo "rg -U, $engine (1 thread): MB/s=$rgb  ($(ms "$s" "$e") ms)"
    echo "ratio ferret/rg (1 thread): $(python3 -c "print(f'{$m1/$rgb:.1f}x')")"
  fi
fi
