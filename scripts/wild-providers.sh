#!/bin/sh
# The wild-layout check of the provider and generic rules (issue 13):
#   scripts/wild-providers.sh [SEED] [FERRET] [OUT]
# generates corpus/gen-wild-providers.py's corpus in OUT (default
# /tmp/corpora/wild-prov/sSEED), scans it with FERRET (default build/ferret;
# RULES=DIR adds --rules DIR) and prints the score (tests/tools/score-wild.py):
# TOTAL found/planted, the misses per kind and the negative hits.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
S=${1:-1}
FER=${2:-$SRC/build/ferret}
OUT=${3:-/tmp/corpora/wild-prov/s$S}
rm -rf "$OUT" "$OUT.db" "$OUT.db-wal" "$OUT.db-shm"
mkdir -p "$(dirname "$OUT")"
python3 "$SRC/corpus/gen-wild-providers.py" "$OUT" "$S" > /dev/null
set +e
"$FER" scan --quiet --no-config ${RULES:+--rules "$RULES"} --db "$OUT.db" "$OUT/pos" "$OUT/gen" "$OUT/neg" "$OUT/item2" "$OUT/pw"
rc=$?
set -e
[ "$rc" -le 1 ] || { echo "wild-providers: scan failed ($rc)" >&2; exit 2; }
set +e
"$FER" report --db "$OUT.db" --format jsonl > "$OUT.jsonl"
rc=$?
set -e
[ "$rc" -le 1 ] || { echo "wild-providers: report failed ($rc)" >&2; exit 2; }
python3 "$SRC/tests/tools/score-wild.py" "$OUT.jsonl" "$OUT/expected.json"
