#!/usr/bin/env bash
# Masking-bypass cost on the log sweep: the corpus of scripts/bench-logs.sh
# (corpus/gen-logs.py), swept by ferret into a store that already holds
# findings (a scan of NSECRETS generated secrets of several lengths), with the
# masking-bypass search on and off (FERRET_NO_MASK_BYPASS=1), against
# single-threaded decompression of the same corpus. The three are run in turn
# (the order rotating), PAIRS times; each sweep starts from a copy of the
# seeded store, so every one is a first sweep of the logs. Prints per-run
# wall and CPU (user+sys) and the medians of the per-round ratios.
#   FERRET=build/ferret scripts/bench-masking.sh [MB] [PAIRS] [NSECRETS]
# (default 1024 MB, 5 rounds, 1000 secrets; FERRET is never built here; the
# corpus is kept in /tmp/corpora/mask-logs-MB for the next call).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-1024}
pairs=${2:-5}
nsec=${3:-1000}
ferret=$(realpath "${FERRET:-build/ferret}")
corpus=/tmp/corpora/mask-logs-$mb
[ -d "$corpus" ] || python3 corpus/gen-logs.py "$corpus" --mb "$mb"
work=$(mktemp -d /tmp/ferret-maskbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export FERRET_CACHE_DIR="$work/cache"
mkdir -p "$work/seed"
python3 - "$work/seed/secrets.txt" "$nsec" <<'PY'
import os, random, sys
sys.path.insert(0, os.path.join("corpus"))
import fakes
rng = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        k = i % 4
        if k == 0:
            f.write(f"token = {fakes.github(rng)}\n")
        elif k == 1:
            kid, sec = fakes.aws_pair(rng)
            f.write(f"aws_access_key_id = {kid}\naws_secret_access_key = {sec}\n")
        elif k == 2:
            f.write(f"STRIPE_KEY={fakes.stripe(rng)}\n")
        else:
            f.write(f"NPM_TOKEN={fakes.npm(rng)}\n")
PY
"$ferret" scan --quiet --db "$work/seed.db" "$work/seed" || true
echo "seeded store: $(sqlite3 "$work/seed.db" "select count(*) from findings") findings," \
  "$(sqlite3 "$work/seed.db" "select count(distinct length) from mask_prints") distinct lengths"
cat "$corpus"/* > /dev/null # page cache warm for every side
decompress() {
  for f in "$corpus"/*; do
    case "$f" in
      *.zip) bsdtar -xOf "$f" ;;
      *.gz) zcat "$f" ;;
      *) cat "$f" ;;
    esac
  done > /dev/null
}
export -f decompress
export corpus
# run NAME: one measurement, "wall cpu" appended to $work/NAME
run() {
  local t="$work/t"
  case $1 in
    ref) /usr/bin/time -o "$t" -f '%e %U %S' bash -c decompress ;;
    on | off)
      rm -f "$work"/run.db*
      cp "$work/seed.db" "$work/run.db"
      cp "$work/seed.db.key" "$work/run.db.key"
      local env=()
      [ "$1" = off ] && env=(FERRET_NO_MASK_BYPASS=1)
      env "${env[@]}" /usr/bin/time -o "$t" -f '%e %U %S' "$ferret" scan --quiet --db "$work/run.db" \
        "$corpus" > /dev/null 2> "$work/err" || [ $? -le 1 ] || { cat "$work/err"; exit 1; }
      ;;
  esac
  tail -1 "$t" | awk '{printf "%s %.2f\n", $1, $2 + $3}' >> "$work/$1"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
orders=("ref on off" "on off ref" "off ref on")
for ((i = 0; i < pairs; i++)); do
  for w in ${orders[i % 3]}; do run "$w"; done
  printf 'round %d: ref %s s (cpu %s)  on %s s (cpu %s)  off %s s (cpu %s)\n' $((i + 1)) \
    $(tail -1 "$work/ref") $(tail -1 "$work/on") $(tail -1 "$work/off")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" <<'PY'
import statistics, sys
d = sys.argv[1]
get = lambda n: [tuple(map(float, l.split())) for l in open(f"{d}/{n}")]
ref, on, off = get("ref"), get("on"), get("off")
med = lambda xs: statistics.median(xs)
print(f"median wall: decompression {med([r[0] for r in ref]):.2f} s, ferret with masking bypass "
      f"{med([r[0] for r in on]):.2f} s, without {med([r[0] for r in off]):.2f} s")
print(f"median cpu:  decompression {med([r[1] for r in ref]):.2f} s, with {med([r[1] for r in on]):.2f} s, "
      f"without {med([r[1] for r in off]):.2f} s")
print(f"median of per-round wall ratios: with / decompression {med([a[0] / b[0] for a, b in zip(on, ref)]):.3f}, "
      f"without / decompression {med([a[0] / b[0] for a, b in zip(off, ref)]):.3f}, "
      f"with / without {med([a[0] / b[0] for a, b in zip(on, off)]):.3f}")
print(f"median of per-round cpu ratios:  with / without {med([a[1] / b[1] for a, b in zip(on, off)]):.3f}")
PY
