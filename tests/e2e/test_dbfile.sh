#!/usr/bin/env bash
# The DB file itself (defect 13): another application's SQLite file — even an
# empty one, no tables — is never written to; a zero-length file is taken as new
# and marked as a ferret store (PRAGMA application_id); reports open read-only
# and work in a read-only directory, where no -shm can be made.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

mkdir tree
printf 'TOKEN=%s\n' "$($FAKE github 1301)" > tree/a.env
printf 'TOKEN=%s\n' "$($FAKE github 1302)" > tree/b.env

# an empty SQLite DB of another application: refused, left byte for byte as it was
sqlite3 other.db "PRAGMA user_version = 3"
before=$(sha256sum < other.db)
run_ferret scan --db other.db tree
assert_eq "$RC" 2 "another application's empty DB: exit 2"
assert_contains "$ERR" "other.db: this SQLite file is not a ferret database; the file was left untouched" "why"
assert_eq "$(sha256sum < other.db)" "$before" "the file is unchanged"
assert_eq "$(sqlite3 other.db "SELECT count(*) FROM sqlite_schema")" 0 "no table written into it"
run_ferret report --db other.db
assert_eq "$RC" 2 "report refuses it too"

# a zero-length file is new: the store is made in it and marked
: > zero.db
run_ferret scan --db zero.db tree
assert_eq "$RC" 1 "zero-length file: scanned into, exit 1"
assert_eq "$(sqlite3 zero.db "PRAGMA application_id")" 1179800148 "marked as a ferret store"
assert_eq "$(sqlite3 zero.db "SELECT count(*) FROM findings")" 2 "two findings"

# report from a read-only directory holding a read-only DB (no -wal, no -shm left)
mkdir ro
run_ferret scan --db ro/f.db tree
assert_eq "$RC" 1 "scan into ro/"
assert_eq "$(ls ro | tr '\n' ' ')" "f.db f.db.key " "the scan left no -wal or -shm; the key beside the DB"
assert_eq "$(stat -c %a ro/f.db.key)" 600 "the key file is 0600"
assert_eq "$(sqlite3 ro/f.db "SELECT count(*) FROM findings WHERE length(fid) = 12 AND fid NOT GLOB '*[^0-9a-z]*'")" 2 "each finding has a 12-character id"
chmod 755 "$T"
chmod 444 ro/f.db
chmod 555 ro
# root writes anyway: read as an unprivileged user then
as_reader() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi
}
set +e
as_reader "$FERRET" report --db ro/f.db --format jsonl > ro.jsonl 2> ro.err
RC=$?
set -e
assert_eq "$RC" 1 "report in a read-only directory: exit 1 (findings)"
assert_eq "$(cat ro.err)" "" "no error"
assert_eq "$(pyjsonl ro.jsonl "len(rows)")" 2 "both findings reported"
assert_eq "$(ls ro | tr '\n' ' ')" "f.db f.db.key " "nothing created beside the DB"
assert_eq "$(pyjsonl ro.jsonl "' '.join(sorted(r['id'] for r in rows))")" \
  "$(sqlite3 ro/f.db "SELECT group_concat(fid, ' ') FROM (SELECT fid FROM findings ORDER BY fid)")" \
  "the report carries the stored ids"
chmod 755 ro

# finding ids: the same (rule, secret) gets the same id in every store sharing
# the key, and other ids under another key
FERRET_KEY_FILE=ro/f.db.key run_ferret scan --db same.db tree
assert_eq "$(sqlite3 same.db "SELECT group_concat(fid) FROM (SELECT fid FROM findings ORDER BY fid)")" \
  "$(sqlite3 ro/f.db "SELECT group_concat(fid) FROM (SELECT fid FROM findings ORDER BY fid)")" \
  "same key, same ids"
assert_eq "$(ls same.db.key 2>/dev/null | wc -l)" 0 "no second key made"
assert_eq "$(sqlite3 -cmd "ATTACH 'zero.db' AS z" same.db "SELECT count(*) FROM findings f JOIN z.findings g ON f.fid = g.fid")" 0 \
  "another key, other ids"

# a store from before the migrations (schema version 1 only) is upgraded on
# first use, even by a report, and its findings get ids
sqlite3 old.db < "$FERRET_SRC/src/store/schema.sql"
sqlite3 old.db "PRAGMA application_id = 1179800148; INSERT INTO runs (started_at, targets, rules_hash, status) VALUES ('2026-01-01T00:00:00Z', 'x', 'h', 'complete'); INSERT INTO findings (rule_id, secret_sha256, preview, first_seen, last_seen, first_run, last_run) VALUES ('r.one', '$(printf %064d 1)', 'ab...', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1, 1)"
run_ferret report --db old.db --format jsonl
assert_eq "$RC" 1 "report on an old store: upgraded, one finding"
assert_eq "$(sqlite3 old.db "SELECT count(*) FROM migrations WHERE name = '0001-finding-ids'")" 1 "migration recorded"
assert_eq "$(sqlite3 old.db "SELECT length(fid) FROM findings")" 12 "the old finding got an id"

# the DB and its key inside the scanned tree are never read as content
mkdir inside
cp -r tree/. inside/
run_ferret scan --db inside/own.db inside
run_ferret scan --db inside/own.db inside
assert_eq "$(ls inside/own.db.key | wc -l)" 1 "the key made inside the tree"
assert_eq "$(sqlite3 inside/own.db "SELECT count(*) FROM files WHERE path LIKE '%own.db%'")" 0 "neither the DB nor its key read"
assert_eq "$(sqlite3 inside/own.db "SELECT count(*) FROM files")" "$(find tree -type f | wc -l)" "every other file read"

# a lost (or mistyped) key is never silently replaced for a store with ids
cp same.db lost.db
run_ferret scan --db lost.db tree
assert_eq "$RC" 2 "a store with ids and no key: exit 2"
assert_eq "$(grep -c "lost.db.key: the database's key file is missing" <<< "$ERR")" 1 "says so"
assert_eq "$(ls lost.db.key 2>/dev/null | wc -l)" 0 "no new key made"

# a store written by a newer ferret is never written to
cp zero.db newer.db
sqlite3 newer.db "INSERT INTO migrations VALUES ('9999-from-the-future', 'x')"
before=$(sha256sum < newer.db)
run_ferret scan --db newer.db tree
assert_eq "$RC" 2 "scan into a newer store: exit 2"
assert_eq "$(grep -c 'written by a newer ferret (1 schema step this ferret does not know)' <<< "$ERR")" 1 "says why"
assert_eq "$(sha256sum < newer.db)" "$before" "left untouched"
finish

