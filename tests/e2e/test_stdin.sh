#!/usr/bin/env bash
# Streams end to end: 'ferret scan -' reads standard input (text and an archive
# piped in), a FIFO or a process substitution named as a path is read (it was
# skipped as "not a regular file"), a FIFO inside a scanned directory is still
# skipped (a walk must not block on it), and a stream over --max-file-size is
# recorded as skipped. Exact counts from the DB and the JSONL.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 21)
tok2=$($FAKE github 22)
tok3=$($FAKE github 23)

# occurrences of all findings as "source path line" lines, sorted
occs() {
  "$FERRET" report --db "$1" --format jsonl >"$1.jsonl" || true
  pyjsonl "$1.jsonl" "sorted((o['source'], o['path'], o['line']) for r in rows for o in r['occurrences'])"
}

# standard input
set +e
printf 'first line\nexport GITHUB_TOKEN=%s\n' "$tok" | "$FERRET" scan --db in.db - 2>err.txt
RC=$?
set -e
assert_eq "$RC" 1 "stdin with a token exits 1"
assert_eq "$(occs in.db)" "[('stdin', '<stdin>', 2)]" "stdin finding at line 2, source stdin"
assert_eq "$(sqlite3 in.db "select items_scanned||','||items_skipped||','||items_failed from runs")" "1,0,0" "one item scanned"
assert_eq "$(sqlite3 in.db "select count(*) from files")" 0 "a stream is not remembered as a file"

# an archive piped in is opened like a file on disk
mkdir z && printf 'K=%s\n' "$tok2" >z/app.env && (cd z && zip -q ../a.zip app.env)
set +e
"$FERRET" scan --db zip.db - <a.zip 2>err.txt
RC=$?
set -e
assert_eq "$RC" 1 "zip on stdin exits 1"
assert_eq "$(occs zip.db)" "[('stdin', '<stdin>!app.env', 1)]" "archive member of stdin"

# clean stdin, and stdin next to a path
printf 'TOKEN=%s\n' "$tok3" >f.env
set +e
printf 'nothing here\n' | "$FERRET" scan --db clean.db - 2>err.txt
RC=$?
set -e
assert_eq "$RC" 0 "clean stdin exits 0"
set +e
printf 'x = "%s"\n' "$tok" | "$FERRET" scan --db both.db f.env - 2>err.txt
RC=$?
set -e
assert_eq "$RC" 1 "stdin with a file exits 1"
assert_eq "$(occs both.db)" "[('file', 'f.env', 1), ('stdin', '<stdin>', 1)]" "stdin and the file"

# a FIFO named on the command line is read
mkfifo pipe1
# (the writer gives up after 60 s, so a reader that never opens it fails, not hangs)
timeout 60 bash -c 'printf "a\nb\nTOKEN=%s\n" "$1" >pipe1' _ "$tok" &
writer=$!
run_ferret scan --db fifo.db pipe1
wait "$writer" || fail "nobody read the FIFO"
assert_eq "$RC" 1 "FIFO with a token exits 1"
assert_eq "$(occs fifo.db)" "[('file', 'pipe1', 3)]" "FIFO read as a file at its path"
assert_eq "$(sqlite3 fifo.db "select items_scanned||','||items_skipped from runs")" "1,0" "FIFO scanned, not skipped"

# process substitution: /dev/fd/N is a link to a pipe
set +e
"$FERRET" scan --db ps.db <(printf 'TOKEN=%s\n' "$tok2") 2>err.txt
RC=$?
set -e
assert_eq "$RC" 1 "process substitution exits 1"
"$FERRET" report --db ps.db --format jsonl >ps.jsonl || true
assert_eq "$(pyjsonl ps.jsonl "[(o['source'], o['path'].startswith('/dev/fd/'), o['line']) for r in rows for o in r['occurrences']]")" \
  "[('file', True, 1)]" "process substitution read"

# a FIFO below a scanned directory is skipped (nobody may ever write to it)
mkdir d && mkfifo d/pipe2 && printf 'TOKEN=%s\n' "$tok3" >d/a.env
run_ferret scan --db dir.db d
assert_eq "$RC" 1 "directory with a FIFO exits 1 (a.env)"
assert_eq "$(sqlite3 dir.db "select items_scanned||','||items_skipped from runs")" "1,1" "FIFO in a directory skipped"
assert_eq "$(sqlite3 dir.db "select reason from content where status = 'skipped'")" \
  "not a regular file (device, FIFO or socket)" "skip reason"

# a stream over --max-file-size is skipped and recorded
set +e
head -c 5000 /dev/zero | "$FERRET" scan --db big.db --max-file-size 1K - 2>err.txt
RC=$?
set -e
assert_eq "$RC" 0 "over-size stdin is not an error"
assert_eq "$(sqlite3 big.db "select items_scanned||','||items_skipped from runs")" "0,1" "over-size stdin skipped"
assert_eq "$(sqlite3 big.db "select reason from content")" "larger than --max-file-size (1024 bytes)" "reason"

finish
