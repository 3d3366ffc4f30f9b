#!/usr/bin/env bash
# Runs one fuzz target (tests/fuzz/fuzz_NAME.c) under libFuzzer for SECONDS.
#
#   scripts/fuzz.sh NAME SECONDS [libFuzzer flags...]
#   scripts/fuzz.sh list
#
# Builds /work/main/build-fuzz (clang, FERRET_FUZZ=ON: ASan+UBSan and coverage
# on every object) when needed, then fuzzes with the committed corpus
# tests/fuzz/corpus/NAME as seeds. New inputs go to a scratch directory
# (FUZZ_SCRATCH, default build-fuzz/scratch/NAME), never into the committed
# corpus; a crash is written to build-fuzz/artifacts/NAME/ and the script exits
# non-zero. Minimise a crash with `build-fuzz/tests/fuzz/fuzz_NAME -minimize_crash=1
# -max_total_time=60 FILE` and commit it under tests/fuzz/corpus/NAME/ as a
# regression input. Prints the executions count at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${FUZZ_BUILD:-$ROOT/build-fuzz}"

targets() { for f in "$ROOT"/tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done; }
if [ "${1:-}" = list ]; then targets; exit 0; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 NAME SECONDS [libFuzzer flags...]   (targets: $(targets | tr '\n' ' '))" >&2
  exit 2
fi
NAME="$1" SECONDS_="$2"
shift 2
[ -f "$ROOT/tests/fuzz/fuzz_$NAME.c" ] || { echo "no target tests/fuzz/fuzz_$NAME.c" >&2; exit 2; }
command -v clang >/dev/null || bash "$ROOT/scripts/install-deps.sh"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  CC=clang cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRET_FUZZ=ON \
    -DFERRET_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target "fuzz_$NAME" >/dev/null

SCRATCH="${FUZZ_SCRATCH:-$BUILD/scratch/$NAME}"
ART="$BUILD/artifacts/$NAME"
mkdir -p "$SCRATCH" "$ART"
# Per-target input caps: the engine target scans at most 4 KB (two scans, one of
# them confirming every offset); logs gets long lines to meet quadratic paths.
case "$NAME" in
  logs) MAXLEN=65536 ;;
  rules | archive | packidx | packread) MAXLEN=16384 ;;
  *) MAXLEN=4096 ;;
esac
# Extra seeds made at run time, never committed: the rule files themselves for
# the rule loader, every example and negative example of the built-in rules
# (whole matches, validated tokens) for the engine.
EXTRA=()
case "$NAME" in
  rules) EXTRA=("$ROOT/patterns") ;;
  engine)
    mkdir -p "$BUILD/seeds/engine"
    python3 - "$ROOT/patterns" "$BUILD/seeds/engine" <<'PY' && EXTRA=("$BUILD/seeds/engine")
import glob, os, sys, yaml
src, out = sys.argv[1:3]
for f in sorted(glob.glob(os.path.join(src, "*.yml"))):
    for r in yaml.safe_load(open(f))["rules"]:
        for i, ex in enumerate(r.get("examples", []) + r.get("negative_examples", [])):
            with open(os.path.join(out, "%s-%d" % (r["id"], i)), "w") as o:
                o.write(ex + "\n")
PY
    ;;
esac
LOG="$BUILD/fuzz-$NAME.log"
set +e
start=$(date +%s)
"$BUILD/tests/fuzz/fuzz_$NAME" -max_total_time="$SECONDS_" -max_len="$MAXLEN" -timeout=25 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ART/" "$@" \
  "$SCRATCH" "$ROOT/tests/fuzz/corpus/$NAME" "${EXTRA[@]}" 2>&1 | tee "$LOG" | grep -E "^#[0-9]+.*(INITED|DONE|pulse)|ERROR|SUMMARY|artifact|stat::" >&2
rc=${PIPESTATUS[0]}
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
echo "fuzz_$NAME: $(($(date +%s) - start))s of ${SECONDS_}s, ${execs:-?} executions, exit $rc (log: $LOG)"
exit "$rc"
