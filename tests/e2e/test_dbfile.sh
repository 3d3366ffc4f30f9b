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
assert_eq "$(ls ro)" "f.db" "the scan left no -wal or -shm"
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
assert_eq "$(ls ro)" "f.db" "nothing created beside the DB"
chmod 755 ro
finish
