#!/usr/bin/env bash
# Schema steps 0009 (matches and locations WITHOUT ROWID on their natural keys,
# locations_by_content_date dropped) and 0010 (content's status CHECK as
# comparisons, no ephemeral table a row) upgrade an existing store in place: a
# store in the layout 0008 left (rowid tables, their UNIQUE indexes, the date
# index; rows in another rowid order than their keys') is upgraded by the
# first ferret that opens it - here a read-only report - and holds the same
# rows, and every report (JSONL, text with every location, --summary, a
# filtered one read through the indexes) is byte for byte what it was. A
# shard of the old layout given to a merge is refused, naming the older
# schema, and merged with --allow-mixed (upgraded in place first) into what
# the same shard in the new layout gives. A scan into the upgraded store
# records its new matches and locations.
. "$(dirname "$0")/lib.sh"
set -e
export FERRET_KEY_FILE="$T/org.key"
mkdir -p "$T/empty" "$T/d"

# a repository with fake secrets (made here, never printed): one blob at two
# paths, one secret twice in a blob, a secret in two commits
(cd "$T/d" && git init -q)
python3 - "$T/d" <<'EOF'
import random, string, sys, os
r = random.SystemRandom()
def tok(): return "ghp_" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(36))
a, b = tok(), tok()
d = sys.argv[1]
os.makedirs(d + "/conf", exist_ok=True)
open(d + "/app.env", "w").write("GITHUB_TOKEN=%s\n# again\nGH_TOKEN=%s\n" % (a, a))
open(d + "/conf/copy.env", "w").write("GITHUB_TOKEN=%s\n# again\nGH_TOKEN=%s\n" % (a, a))
open(d + "/other.env", "w").write("TOKEN=%s\n" % b)
EOF
(cd "$T/d" && git add -A && gcommit dev1 "settings")
echo "# later" >>"$T/d/other.env"
(cd "$T/d" && git add -A && gcommit dev2 "more")

run_ferret scan --quiet --db "$T/s.db" "$T/d"
assert_eq "$RC" 1 "the scan finds the secrets"
for s in 1 2; do
  "$FERRET" scan --quiet --db "$T/syn$s.db" "$T/empty" || [ $? -le 1 ]
  python3 "$FERRET_SRC/tests/tools/synth_store.py" "$T/syn$s.db" 300 3000 --seed "$s"
done
run_ferret merge --quiet --db "$T/org.db" "$T/s.db" "$T/syn1.db" "$T/syn2.db"
assert_eq "$RC" 0 "the merge into the new layout"

layout() { # the two tables' definitions and indexes, one line each
  sqlite3 "$1" "SELECT name || ': ' || (sql LIKE '%WITHOUT ROWID%') FROM sqlite_master
    WHERE type = 'table' AND name IN ('matches', 'locations') ORDER BY name;
    SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'index'
    AND tbl_name IN ('matches', 'locations') AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name)"
}
dump() { # every row of both tables by natural key, and the step's record
  sqlite3 "$1" "SELECT content_id, finding_id, offset, line, col, transform FROM matches
      ORDER BY content_id, finding_id, offset;
    SELECT * FROM (SELECT content_id, source_kind, repo, path, commit_id, author_name, author_email,
      author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step, first_run, last_run
      FROM locations) ORDER BY 1, 2, 3, 4;
    SELECT count(*) FROM occurrences"
}
reports() { # DB OUT-PREFIX
  "$FERRET" report --db "$1" --format jsonl >"$2.jsonl" || [ $? -le 1 ]
  "$FERRET" report --db "$1" --all-locations >"$2.txt" || [ $? -le 1 ]
  "$FERRET" report --db "$1" --summary >"$2.sum" || [ $? -le 1 ]
  # few findings of many: matches and locations read through the indexes
  "$FERRET" report --db "$1" --format jsonl --rule 'github*' >"$2.few" || [ $? -le 1 ]
}
# The layout 0008 left, rows inserted in reverse key order (rowids unlike keys).
downgrade() {
  sqlite3 "$1" "BEGIN; DROP VIEW occurrences;
    CREATE TABLE m8 (id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL REFERENCES content (id),
      finding_id INTEGER NOT NULL REFERENCES findings (id), offset INTEGER NOT NULL,
      line INTEGER NOT NULL, col INTEGER NOT NULL, transform TEXT,
      UNIQUE (content_id, finding_id, offset));
    INSERT INTO m8 (content_id, finding_id, offset, line, col, transform)
      SELECT content_id, finding_id, offset, line, col, transform FROM matches
      ORDER BY content_id DESC, finding_id DESC, offset DESC;
    DROP TABLE matches; ALTER TABLE m8 RENAME TO matches;
    CREATE INDEX matches_by_finding ON matches (finding_id);
    CREATE TABLE l8 (id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL REFERENCES content (id),
      source_kind TEXT NOT NULL, repo TEXT NOT NULL DEFAULT '', path TEXT NOT NULL,
      commit_id TEXT NOT NULL DEFAULT '', author_name TEXT, author_email TEXT, author_date TEXT,
      committer_date TEXT, ref TEXT, mtime TEXT, ci_run TEXT, ci_job TEXT, ci_step TEXT,
      first_run INTEGER NOT NULL REFERENCES runs (id), last_run INTEGER NOT NULL REFERENCES runs (id),
      UNIQUE (content_id, source_kind, repo, path));
    INSERT INTO l8 (content_id, source_kind, repo, path, commit_id, author_name, author_email,
      author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step, first_run, last_run)
      SELECT content_id, source_kind, repo, path, commit_id, author_name, author_email,
      author_date, committer_date, ref, mtime, ci_run, ci_job, ci_step, first_run, last_run
      FROM locations ORDER BY content_id DESC, path DESC;
    DROP TABLE locations; ALTER TABLE l8 RENAME TO locations;
    CREATE INDEX locations_by_content_date ON locations (content_id, author_date);
    CREATE TABLE c8 (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('scanned', 'skipped', 'error')), reason TEXT,
      rules_hash TEXT, run_id INTEGER NOT NULL REFERENCES runs (id));
    INSERT INTO c8 SELECT id, key, size, status, reason, rules_hash, run_id FROM content;
    DROP TABLE content; ALTER TABLE c8 RENAME TO content;
    CREATE VIEW occurrences AS
      SELECT m.finding_id, l.source_kind, l.repo, l.path, m.line, m.col, m.offset,
             c.key AS content_key, l.commit_id, l.author_name, l.author_email,
             l.author_date, l.committer_date, l.ref, l.mtime, l.ci_run, l.ci_job, l.ci_step, l.first_run
        FROM matches m JOIN locations l ON l.content_id = m.content_id
        JOIN content c ON c.id = m.content_id;
    DELETE FROM migrations WHERE name IN ('0009-occurrences-by-key', '0010-content-status-compare');
    COMMIT; VACUUM"
}

NEW_LAYOUT="locations: 1
matches: 1
matches_by_finding"
assert_eq "$(layout "$T/org.db")" "$NEW_LAYOUT" "a new store has the 0009 layout"
reports "$T/org.db" "$T/before"
dump "$T/org.db" >"$T/before.dump"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM matches; SELECT count(*) FROM locations")" \
  "6004
6004" "the merged rows (3,000 of each per synthetic shard, 4 matches and 4 locations of the scan)"

downgrade "$T/org.db"
assert_eq "$(layout "$T/org.db")" "locations: 0
matches: 0
locations_by_content_date,matches_by_finding" "the store made over in 0008's layout"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM matches WHERE rowid = 1 AND content_id =
  (SELECT max(content_id) FROM matches)")" 1 "its rowids are not in key order"

# the first opener upgrades it: a read-only report
reports "$T/org.db" "$T/after"
assert_eq "$(layout "$T/org.db")" "$NEW_LAYOUT" "upgraded in place by the report"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM migrations WHERE name = '0009-occurrences-by-key'")" 1 \
  "the step recorded"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM migrations WHERE name = '0010-content-status-compare'")" 1 \
  "step 0010 recorded"
assert_eq "$(sqlite3 "$T/org.db" "SELECT sql LIKE '%status = ''scanned'' OR status = ''skipped'' OR status = ''error''%'
  FROM sqlite_master WHERE name = 'content'")" 1 "content's status checked by comparisons (0010)"
assert_eq "$(sqlite3 "$T/org.db" "PRAGMA integrity_check")" ok "integrity after the upgrade"
dump "$T/org.db" >"$T/after.dump"
assert_eq "$(cmp "$T/before.dump" "$T/after.dump" && echo same)" same "the same rows after the upgrade"
assert_eq "$(wc -l <"$T/after.dump")" "12009" "rows dumped (6,004 + 6,004 + the view's count)"
for k in jsonl txt sum few; do
  assert_eq "$(cmp "$T/before.$k" "$T/after.$k" && echo same)" same "report ($k) identical after the upgrade"
done
assert_eq "$(grep -c '"rule":' "$T/after.jsonl")" 602 "findings reported (300 + 300 synthetic, 2 scanned)"
assert_eq "$(grep -c '"rule":' "$T/after.few")" 2 "the filtered report's findings"
for q in "SELECT content_id, author_date FROM locations l WHERE content_id = 5" \
  "SELECT min(l.author_date) FROM locations l WHERE l.content_id = 5" \
  "SELECT m.content_id FROM matches m WHERE m.finding_id = 3"; do
  plan=$(sqlite3 "$T/org.db" "EXPLAIN QUERY PLAN $q")
  assert_contains "$plan" "USING" "a key or index serves: $q"
  assert_not_contains "$plan" "SCAN" "no scan: $q"
done

# a shard of the old layout: refused, then merged with --allow-mixed
cp "$T/s.db" "$T/old.db"
downgrade "$T/old.db"
run_ferret merge --quiet --db "$T/m1.db" "$T/old.db"
assert_eq "$RC" 2 "a shard of the older layout is refused"
assert_contains "$ERR" "has an older schema" "the merge says why"
assert_contains "$ERR" "0008-worktree-stat; this ferret has" "it names the steps"
assert_eq "$(layout "$T/old.db")" "locations: 0
matches: 0
locations_by_content_date,matches_by_finding" "the refused shard is untouched"
run_ferret merge --quiet --allow-mixed --db "$T/m1.db" "$T/old.db"
assert_eq "$RC" 0 "merged with --allow-mixed"
assert_eq "$(layout "$T/old.db")" "$NEW_LAYOUT" "the shard upgraded in place first"
run_ferret merge --quiet --db "$T/m2.db" "$T/s.db"
assert_eq "$(dump "$T/m1.db")" "$(dump "$T/m2.db")" "the same rows as the shard of the new layout gives"
assert_eq "$(sqlite3 "$T/m1.db" "SELECT count(*) FROM matches; SELECT count(*) FROM locations")" "4
4" "the scan's 4 matches (2 blobs x 2) and 4 locations (3 paths, other.env twice)"

# a scan into the upgraded store: the repository changed, its new blob recorded
echo "# again" >>"$T/d/other.env"
(cd "$T/d" && git add -A && gcommit dev2 "again")
m0=$(sqlite3 "$T/org.db" "SELECT count(*) FROM matches")
run_ferret scan --quiet --db "$T/org.db" "$T/d"
assert_eq "$RC" 1 "a scan into the upgraded store"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM matches")" $((m0 + 1)) "one new match (the new blob)"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM locations l JOIN content c ON c.id = l.content_id
  WHERE l.path = 'other.env' AND c.key LIKE 'git:%'")" 3 "other.env's three blobs located"
finish
