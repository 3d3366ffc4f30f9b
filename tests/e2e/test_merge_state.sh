#!/usr/bin/env bash
# ferret merge and the state of content a later run saw otherwise: a blob
# skipped by one shard's run (over --max-file-size) and scanned by a later
# one is 'scanned' in the organisation store after both merges, with the
# finding inside it; a merge of an input whose content is unchanged leaves
# the organisation's row as it was (the merge rewrites only changed rows);
# merging an input again changes nothing.
. "$(dirname "$0")/lib.sh"
set -e
export FERRET_KEY_FILE="$T/org.key"
mkdir -p "$T/d"
# a fake token, made here, never printed; padding puts the file over 1K
python3 - "$T/d/big.env" <<'EOF'
import random, string, sys
r = random.SystemRandom()
tok = "ghp_" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(36))
with open(sys.argv[1], "w") as f:
    f.write("# settings\n" + "".join("opt_%04d=%d\n" % (i, i) for i in range(400)))
    f.write("GITHUB_TOKEN=%s\n" % tok)
EOF
(cd "$T/d" && git init -q && git add big.env && gcommit dev1 "settings")
status() { sqlite3 "$T/org.db" "SELECT status || ' ' || run_id FROM content WHERE key LIKE 'git:%'"; }
findings() { "$FERRET" report --db "$T/org.db" --format jsonl | grep -c '"rule":' || true; }

run_ferret scan --quiet --max-file-size 1K --db "$T/a.db" "$T/d"
assert_eq "$(sqlite3 "$T/a.db" "SELECT status FROM content WHERE key LIKE 'git:%'")" skipped \
  "the first shard skipped the file"
run_ferret scan --quiet --db "$T/b.db" "$T/d"
run_ferret scan --quiet --db "$T/c.db" "$T/d"

run_ferret merge --quiet --db "$T/org.db" "$T/a.db"
assert_eq "$RC" 0 "merge of the skipping run"
assert_eq "$(status)" "skipped 1" "the org store has the file skipped by run 1"
assert_eq "$(findings)" 0 "no finding yet"

run_ferret merge --quiet --db "$T/org.db" "$T/b.db"
assert_eq "$RC" 0 "merge of the scanning run"
assert_eq "$(status)" "scanned 2" "a later run that scanned the file wins its state"
assert_eq "$(findings)" 1 "the finding in the once-skipped file is reported"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM content")" \
  "$(sqlite3 "$T/b.db" "SELECT count(*) FROM content")" "one content row per key"

run_ferret merge --quiet --db "$T/org.db" "$T/c.db"
assert_eq "$RC" 0 "merge of a run that saw the same"
assert_eq "$(status)" "scanned 2" "an unchanged content row is not rewritten"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM runs")" 3 "three runs"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) || ' ' || min(first_run) || ' ' || max(last_run)
  FROM locations")" "1 1 3" "the location spans runs 1 to 3"

before=$(sqlite3 "$T/org.db" "SELECT group_concat(status || run_id) FROM content;
  SELECT count(*) FROM matches; SELECT count(*) FROM findings")
run_ferret merge --quiet --db "$T/org.db" "$T/a.db" "$T/b.db" "$T/c.db"
assert_eq "$RC" 0 "merging all three again"
assert_eq "$(sqlite3 "$T/org.db" "SELECT group_concat(status || run_id) FROM content;
  SELECT count(*) FROM matches; SELECT count(*) FROM findings")" "$before" "merging again changes nothing"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM runs")" 3 "still three runs"

# The merge writes with CHECKs off: an input whose rows break them (edited by
# hand, damaged) is refused, exit 2, and the store is left as it was.
cp "$T/c.db" "$T/bad.db" && cp "$T/c.db" "$T/bad2.db"
sqlite3 "$T/bad.db" "PRAGMA ignore_check_constraints = ON; UPDATE content SET status = 'bogus'"
sqlite3 "$T/bad2.db" "PRAGMA ignore_check_constraints = ON;
  INSERT INTO triage (fid, status, who, at) VALUES ('x', 'bogus', 'me', '2025-01-01')"
for bad in bad bad2; do
  run_ferret merge --quiet --db "$T/org.db" "$T/$bad.db"
  assert_eq "$RC" 2 "$bad: an input breaking a CHECK is not merged"
  assert_contains "$ERR" "CHECK constraints" "$bad: the error says why"
  assert_eq "$(sqlite3 "$T/org.db" "SELECT group_concat(status || run_id) FROM content;
    SELECT count(*) FROM matches; SELECT count(*) FROM findings")" "$before" "$bad: the store unchanged"
  assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM triage WHERE status = 'bogus';
    PRAGMA integrity_check")" "0
ok" "$bad: no bad row in the store"
done

# The merge answers the content the organisation store already holds on its
# feed thread (from ORG as it was before the merge): a row ORG holds in the
# same state is left out, unless an earlier input of the same merge rewrote
# it. Here ORG holds the blob scanned (run 1); one merge takes a later run
# that skipped it, then a still later one that scanned it again: the first
# rewrites the row (skipped), the second must rewrite it back (scanned) -
# the same as without the ORG reader (FERRET_MERGE_ORG_READER=0).
for reader in 1 0; do
  rm -f "$T"/o$reader.db*
  run_ferret merge --quiet --db "$T/o$reader.db" "$T/c.db"
  assert_eq "$RC" 0 "reader $reader: the first merge"
  FERRET_MERGE_ORG_READER=$reader FERRET_MERGE_TRACE=1 run_ferret merge --quiet \
    --db "$T/o$reader.db" "$T/a.db" "$T/b.db"
  assert_eq "$RC" 0 "reader $reader: one merge of the skipping and the scanning run"
  if [ $reader = 1 ]; then
    assert_contains "$ERR" "merge: ORG reader: yes" "the feed thread read ORG"
  else
    assert_contains "$ERR" "merge: ORG reader: no" "the feed thread did not read ORG"
  fi
  assert_eq "$(sqlite3 "$T/o$reader.db" "SELECT status || ' ' || run_id FROM content
    WHERE key LIKE 'git:%'")" "scanned 3" "reader $reader: the latest run's state wins"
  assert_eq "$(sqlite3 "$T/o$reader.db" "SELECT count(*) FROM content; SELECT count(*) FROM matches;
    SELECT count(*) || ' ' || min(first_run) || ' ' || max(last_run) FROM locations")" "$(printf '%s\n' \
    "$(sqlite3 "$T/c.db" "SELECT count(*) FROM content")" 1 "1 1 3")" "reader $reader: rows"
  assert_eq "$(FERRET_MERGE_TRACE=1 "$FERRET" report --db "$T/o$reader.db" --format jsonl |
    grep -c '"rule":')" 1 "reader $reader: one finding"
done
assert_eq "$(sqlite3 "$T/o1.db" "SELECT key, size, status, run_id FROM content ORDER BY key")" \
  "$(sqlite3 "$T/o0.db" "SELECT key, size, status, run_id FROM content ORDER BY key")" \
  "the same content rows with and without the ORG reader"
finish
