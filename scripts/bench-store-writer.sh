#!/usr/bin/env bash
# The scan's store writer on a store-heavy scan, two builds alternated (a
# schema change must not slow it): 20,000 files of two fake GitHub tokens
# each (made here once, under $CORPORA, never in the repository; nothing in
# them is a secret), scanned into a fresh store, PAIRS times each, A then B.
# Prints each pair's wall and CPU (user + sys) seconds and the median of the
# per-pair CPU ratios B / A.
#   scripts/bench-store-writer.sh FERRET_A FERRET_B [PAIRS]
#                                  (env: CORPORA=/tmp/corpora/writer-bench)
set -euo pipefail
A=$1 B=$2 P=${3:-5}
C=${CORPORA:-/tmp/corpora/writer-bench}
if [ ! -f "$C/files/d099/f199.env" ]; then
  mkdir -p "$C"
  python3 - "$C/files" <<'EOF'
import os, random, string, sys
r = random.Random(5)
for d in range(100):
    os.makedirs("%s/d%03d" % (sys.argv[1], d), exist_ok=True)
    for i in range(200):
        tok = ["ghp_" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(36))
               for _ in range(2)]
        with open("%s/d%03d/f%03d.env" % (sys.argv[1], d, i), "w") as f:
            f.write("# config %d\nGITHUB_TOKEN=%s\nOTHER=1\nGH_TOKEN=%s\n" % (i, tok[0], tok[1]))
EOF
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-writer.XXXXXX")
trap 'rm -rf "$W"' EXIT
export FERRET_KEY_FILE="$W/key" FERRET_CACHE_DIR="$W/cache"
one() { # FERRET: "wall cpu matches"
  rm -f "$W"/s.db*
  /usr/bin/time -f "%e %U %S" -o "$W/t" "$1" scan --quiet --db "$W/s.db" "$C/files" >/dev/null 2>&1 || true
  local e u s
  read -r e u s < <(tail -1 "$W/t")
  echo "$e $(echo "$u + $s" | bc -l) $(sqlite3 "$W/s.db" 'SELECT count(*) FROM matches')"
}
: >"$W/ratio"
for i in $(seq "$P"); do
  read -r ae ac am < <(one "$A")
  read -r be bc bm < <(one "$B")
  echo "$bc / $ac" | bc -l >>"$W/ratio"
  printf 'pair %d: A %.2f s wall, %.2f s cpu (%d matches); B %.2f s wall, %.2f s cpu (%d matches); load %s\n' \
    "$i" "$ae" "$ac" "$am" "$be" "$bc" "$bm" "$(cut -d' ' -f1 /proc/loadavg)"
done
printf 'median CPU ratio B / A over %d pairs: %.3f\n' "$P" \
  "$(sort -g "$W/ratio" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
