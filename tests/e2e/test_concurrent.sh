#!/usr/bin/env bash
# Scans running at the same time into one DB. Each run's exit code comes from
# what its targets hold, whichever run recorded the content first (defect 10);
# concurrent first runs on a new DB all create-or-find the schema (defect 11).
# A generous --busy-timeout: on a loaded machine (ASan, ctest -j2) the other
# scan's batches can keep the lock past the 5 s default. A few trials: the
# store's unit test covers the interleavings deterministically.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

mkdir tree
python3 - "$FERRET_SRC/corpus" <<'PY'
import random, sys
sys.path.insert(0, sys.argv[1])
from fakes import github
for i in range(1, 51):
    open(f"tree/f{i}.env", "w").write(f"TOKEN={github(random.Random(1000 + i))}\n")
PY
held="ferret: the scanned targets hold 50 findings"
mkdir empty
"$FERRET" scan --quiet --db warm.db empty # the rules are compiled (and cached) once, not in the races

# scans N DB: N scans of tree into DB at once; each one's status and summary
scans() {
  local n=$1 db=$2 i
  for i in $(seq 1 "$n"); do
    (set +e; "$FERRET" scan --threads 1 --busy-timeout 120000 --db "$db" tree > /dev/null 2> "err.$i"; echo $? > "rc.$i") &
  done
  wait
}
# check N WHAT: every one of the N scans exited 1 and says it saw all 50
check() {
  local i
  for i in $(seq 1 "$1"); do
    [ "$(cat "rc.$i")" = 1 ] || sed "s/^/  scan $i: /" "err.$i" >&2 # why, for the record
    assert_eq "$(cat "rc.$i")" 1 "$2: scan $i exits 1"
    assert_eq "$(grep -cx "$held" "err.$i" || true)" 1 "$2: scan $i counts the 50 findings its target holds"
  done
}

for trial in 1 2; do
  scans 3 "new$trial.db"
  check 3 "new DB, trial $trial"
  assert_eq "$(sqlite3 "new$trial.db" "SELECT count(*) FROM findings")" 50 "trial $trial: 50 findings stored once"
  # again into the same DB: the files are unchanged (not read again) or rescanned
  scans 2 "new$trial.db"
  check 2 "existing DB, trial $trial"
  assert_eq "$(sqlite3 "new$trial.db" "SELECT count(*) FROM runs WHERE status = 'complete'")" 5 \
    "trial $trial: five complete runs"
done
finish
