#!/usr/bin/env bash
# ferret merge writes its transaction through a rollback journal (the WAL
# again afterwards), and stays atomic: a merge killed (SIGKILL) in the middle
# of its transaction leaves the organisation store as it was, readable at
# once and in WAL mode again at its next write; the same merge run again
# then gives the store a merge of both inputs into a new store gives. With
# another connection holding the store open, the merge keeps the WAL and
# still commits. A hot journal left in the file is rolled back before a
# read-only report reads it. Stores carry no locations_by_content index (migration
# 0007): lookups of a blob's locations use the UNIQUE index or
# locations_by_content_date.
. "$(dirname "$0")/lib.sh"
set -e
export FERRET_KEY_FILE="$T/org.key"
mkdir -p "$T/empty"
for s in 1 2 3; do
  "$FERRET" scan --quiet --db "$T/s$s.db" "$T/empty" || [ $? -le 1 ]
  python3 "$FERRET_SRC/tests/tools/synth_store.py" "$T/s$s.db" 1000 20000 --seed "$s"
done
counts() {
  sqlite3 "$1" "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM findings) || ' ' ||
    (SELECT count(*) FROM content) || ' ' || (SELECT count(*) FROM matches) || ' ' ||
    (SELECT count(*) FROM locations) || ' ' ||
    (SELECT group_concat(fid || first_run || last_run, ',') FROM findings)"
}
# a report without timestamps
norm() {
  "$FERRET" report --db "$1" --format jsonl | python3 -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l)
    r.pop("first_seen", None); r.pop("last_seen", None)
    print(json.dumps(r, sort_keys=True))'
}

run_ferret merge --db "$T/org.db" "$T/s1.db"
assert_eq "$RC" 0 "first merge"
C1=$(counts "$T/org.db")
norm "$T/org.db" >"$T/r1.txt" || true
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA journal_mode")" wal "the org store is in WAL mode after a merge"
assert_eq "$(ls "$T" | grep -c '^org\.db-journal$' || true)" 0 "no journal file is left after a merge"

# ---- killed mid-transaction: the journal holds what the merge changed
FERRET_MERGE_TRACE=1 "$FERRET" merge --quiet --db "$T/org.db" "$T/s2.db" "$T/s3.db" 2>"$T/trace" &
PID=$!
# (switching to the journal writes one and truncates it: wait for the switch,
# then for the transaction's first journalled page)
for _ in $(seq 3000); do
  grep -q '^merge: journal: ' "$T/trace" && [ -s "$T/org.db-journal" ] && break
  sleep 0.01
done
if kill -KILL "$PID" 2>/dev/null; then ok; else fail "the merge ended before it could be killed"; fi
wait "$PID" || true
assert_eq "$(grep -c '^merge: journal: rollback$' "$T/trace")" 1 "the merge wrote through a rollback journal"
assert_eq "$(counts "$T/org.db")" "$C1" "a killed merge leaves the org store as it was"
norm "$T/org.db" >"$T/r2.txt" || true
cmp -s "$T/r1.txt" "$T/r2.txt" && ok || fail "the report after a killed merge differs from the one before it"
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA integrity_check")" ok "integrity after a killed merge"

# ---- the merge again: the same store as a merge of all three into a new one
run_ferret merge --db "$T/org.db" "$T/s2.db" "$T/s3.db"
assert_eq "$RC" 0 "the merge run again"
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA journal_mode")" wal "WAL mode after the merge run again"
run_ferret merge --db "$T/fresh.db" "$T/s1.db" "$T/s2.db" "$T/s3.db"
assert_eq "$RC" 0 "merge into a new store"
assert_eq "$(counts "$T/org.db" | cut -d' ' -f2-5)" "$(counts "$T/fresh.db" | cut -d' ' -f2-5)" \
  "table counts after the killed and repeated merge equal a merge into a new store"
norm "$T/org.db" >"$T/r3.txt" || true
norm "$T/fresh.db" >"$T/r4.txt" || true
cmp -s "$T/r3.txt" "$T/r4.txt" && ok || fail "the report after the repeated merge differs from a fresh merge's"
assert_eq "$(wc -l <"$T/r4.txt")" 3000 "findings of the three inputs"
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA integrity_check")" ok "integrity after the repeated merge"

# ---- another connection holds the store open: the merge keeps the WAL
cp "$T/s1.db" "$T/s4.db"
sqlite3 "$T/s4.db" "UPDATE runs SET uid = 'journal-test-run'; UPDATE locations SET path = path || '.moved'"
C2=$(counts "$T/org.db")
mkfifo "$T/hold"
# (the reader says when its read transaction is open, then waits on a FIFO)
sqlite3 "$T/org.db" "BEGIN; SELECT count(*) FROM runs;" ".shell touch $T/reading" \
  ".shell cat $T/hold" "COMMIT;" >/dev/null &
HOLD=$!
for _ in $(seq 3000); do [ -e "$T/reading" ] && break; sleep 0.01; done
[ -e "$T/reading" ] && ok || fail "the reader did not start"
FERRET_MERGE_TRACE=1 "$FERRET" merge --quiet --db "$T/org.db" "$T/s4.db" 2>"$T/trace2" && RC=0 || RC=$?
timeout 10 sh -c "echo >'$T/hold'" || kill "$HOLD" 2>/dev/null || true
wait "$HOLD" || true
assert_eq "$RC" 0 "a merge while another connection reads the store"
assert_eq "$(grep -c '^merge: journal: wal$' "$T/trace2")" 1 "the merge kept the WAL while the store was open elsewhere"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM runs")" $(($(echo "$C2" | cut -d' ' -f1) + 1)) \
  "the merge with a reader added its run"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM locations WHERE path LIKE '%.moved'")" 20000 \
  "the merge with a reader added the input's locations"

# ---- a hot journal (a merge larger than its cache spills pages into the
# file before its commit; killed then): a read-only report rolls it back
# through a read-write open first, never reading half a transaction. The
# transaction is made with sqlite3 (a small cache forces the spill).
spill_and_kill() { # spill_and_kill DB: a killed transaction that left pages in DB
  rm -f "$T/feed" && mkfifo "$T/feed"
  sqlite3 "$1" <"$T/feed" >/dev/null 2>&1 &
  local sp=$!
  exec 7>"$T/feed"
  printf '%s\n' "PRAGMA journal_mode = TRUNCATE;" "PRAGMA synchronous = FULL;" "PRAGMA cache_size = 20;" \
    "BEGIN IMMEDIATE;" "UPDATE locations SET path = path || '.half';" "UPDATE content SET size = size + 1;" >&7
  for _ in $(seq 3000); do
    [ "$(stat -c %s "$1-journal" 2>/dev/null || echo 0)" -gt 1000000 ] && break
    sleep 0.01
  done
  sleep 1
  kill -KILL "$sp"
  wait "$sp" 2>/dev/null || true
  exec 7>&-
  assert_eq "$(od -An -tu1 -j18 -N2 "$1" | tr -s ' ')" " 1 1" "the killed transaction wrote pages into $(basename "$1")"
}
norm "$T/org.db" >"$T/r5.txt" || true
spill_and_kill "$T/org.db"
norm "$T/org.db" >"$T/r6.txt" || true
cmp -s "$T/r5.txt" "$T/r6.txt" && ok || fail "the report after a killed, spilled transaction differs from the one before it"
assert_eq "$(ls "$T" | grep -c '^org\.db-journal$' || true)" 0 "the hot journal was rolled back"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM locations WHERE path LIKE '%.half'")" 0 \
  "no row of the killed transaction"
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA integrity_check")" ok "integrity after the rolled-back journal"
# such a store given to a merge as an input: refused, saying why
cp "$T/s1.db" "$T/s5.db"
spill_and_kill "$T/s5.db"
run_ferret merge --db "$T/other.db" "$T/s5.db"
assert_eq "$RC" 2 "a merge of an input with a hot journal"
assert_contains "$ERR" "holds an interrupted merge's journal" "the merge says why"

# ---- migration 0007: no locations_by_content; lookups by blob use an index
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM sqlite_master WHERE name = 'locations_by_content'")" 0 \
  "locations_by_content dropped"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM migrations WHERE name = '0007-drop-locations-by-content'")" 1 \
  "migration 0007 recorded"
for q in "SELECT content_id, author_date FROM locations l WHERE content_id = 5" \
  "SELECT min(l.author_date) FROM locations l WHERE l.content_id = 5" \
  "SELECT m.finding_id FROM matches m JOIN locations l ON l.content_id = m.content_id WHERE m.finding_id = 3"; do
  plan=$(sqlite3 "$T/org.db" "EXPLAIN QUERY PLAN $q")
  assert_contains "$plan" "SEARCH l USING" "an index serves: $q"
  assert_not_contains "$plan" "SCAN l" "no scan of locations: $q"
done
finish
