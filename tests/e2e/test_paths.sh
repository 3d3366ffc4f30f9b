#!/usr/bin/env bash
# Secrets in path names (defect 14): a file named with a token on disk, an
# archive member named with one, a git path holding one. Each is reported once
# as a finding of its own, every location shows it redacted, and the plaintext
# is in no report format, not in the DB, not in its WAL, not in the hook's
# output or its DB.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
export FERRET_CACHE_DIR="$T/cache" # one rules compile for the scans and the hook

tok=$($FAKE github 1401)  # a file name on disk
tok2=$($FAKE github 1402) # an archive member's name
tok3=$($FAKE github 1403) # a git path
tok4=$($FAKE github 1404) # content of the blob at that git path
tok5=$($FAKE github 1405) # content of the file named with tok
tok6=$($FAKE github 1406) # content of the member named with tok2
all="$tok $tok2 $tok3 $tok4 $tok5 $tok6"
mkdir -p tree m
printf 'T=%s\n' "$tok5" > "tree/key-$tok.txt"
printf 'T=%s\n' "$tok6" > "m/m-$tok2.txt"
(cd m && python3 -c "import zipfile,sys; z=zipfile.ZipFile('../tree/a.zip','w'); z.write(sys.argv[1]); z.close()" "m-$tok2.txt")
git init -q repo
mkdir -p "repo/cfg"
printf 'T=%s\n' "$tok4" > "repo/cfg/$tok3.txt"
git -C repo add -A
(cd repo && gcommit alice "add config")
cp tree/a.zip repo/pkg.zip # an archive in git history: its member's name is scanned too
git -C repo add -A
(cd repo && gcommit alice "add package")

# no_plaintext FILE WHAT: none of the tokens in FILE's raw bytes
no_plaintext() {
  local t
  for t in $all; do
    if grep -qaF -- "$t" "$1"; then fail "$2: plaintext token in $1"; return; fi
  done
  ok
}

# A reader holds the DB open through the scan, so the WAL the scan wrote is
# left as it is (not checkpointed away) and its raw frames can be searched: the
# same bytes a scan interrupted before its checkpoint leaves behind.
mkdir empty
run_ferret scan --quiet --db f.db empty # creates the store
mkfifo release
python3 - f.db <<'PY' &
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM runs").fetchall()
open("ready", "w").close()
open("release").read()
c.close()
PY
holder=$!
for _ in $(seq 100); do [ -e ready ] && break; sleep 0.05; done
run_ferret scan --db f.db tree repo
assert_eq "$RC" 1 "scan exits 1"
[ -s f.db-wal ] && ok || fail "the WAL is kept while the reader holds the DB"
no_plaintext f.db-wal "WAL during the scan's life"
no_plaintext f.db "DB with the WAL not checkpointed"
echo > release
wait "$holder"
assert_not_contains "$ERR" "$tok" "scan output"

run_ferret report --db f.db --format jsonl
printf '%s\n' "$OUT" > r.jsonl
assert_eq "$(pyjsonl r.jsonl "len(rows)")" 6 "six findings: three path names, three contents"
pv() { pyjsonl r.jsonl "[r['preview'] for r in rows if r['secret_sha256']=='$(sha256 "$1")'][0]"; }
p1=$(pv "$tok") p2=$(pv "$tok2") p3=$(pv "$tok3")
occs() { pyjsonl r.jsonl "sorted((o['source'], o['path'], o['line'], o['column']) for r in rows if r['secret_sha256']=='$(sha256 "$1")' for o in r['occurrences'])"; }
assert_eq "$(occs "$tok")" "[('file-path', 'tree/key-$p1.txt', 1, 10)]" "a file name on disk: its own finding"
assert_eq "$(occs "$tok5")" "[('file', 'tree/key-$p1.txt', 1, 3)]" "the file's content: at the redacted path"
assert_eq "$(occs "$tok2")" "[('archive-path', 'pkg.zip!m-$p2.txt', 1, 11), ('archive-path', 'tree/a.zip!m-$p2.txt', 1, 14)]" \
  "a member name, on disk and in git: its own finding"
assert_eq "$(occs "$tok6")" "[('file', 'tree/a.zip!m-$p2.txt', 1, 3), ('git', 'pkg.zip!m-$p2.txt', 1, 3)]" \
  "the member's content: at the redacted member path"
assert_eq "$(occs "$tok3")" "[('git-path', 'cfg/$p3.txt', 1, 5)]" "a git path: one git-path finding"
assert_eq "$(occs "$tok4")" "[('git', 'cfg/$p3.txt', 1, 3)]" "the blob's content: at the redacted git path"
no_plaintext r.jsonl "jsonl report"
for fmt in text json sarif; do
  run_ferret report --db f.db --format "$fmt" --output "r.$fmt"
  assert_eq "$RC" 1 "$fmt report exits 1"
  no_plaintext "r.$fmt" "$fmt report"
done
run_ferret report --db f.db --skipped
printf '%s\n' "$OUT" > skipped.txt
no_plaintext skipped.txt "skipped report"
no_plaintext f.db "DB after the scan"
[ -e f.db-wal ] && no_plaintext f.db-wal "WAL after the scan"

# a rescan reads the file named with a token again (its plain path is never
# remembered) and finds the same: nothing new, nothing duplicated
run_ferret scan --db f.db tree repo
assert_eq "$RC" 1 "rescan exits 1"
run_ferret report --db f.db --format jsonl
printf '%s\n' "$OUT" > r2.jsonl
assert_eq "$(pyjsonl r2.jsonl "sum(len(r['occurrences']) for r in rows)")" 8 "rescan: the same eight occurrences"
no_plaintext f.db "DB after the rescan"

# a path named on the command line (stored as the run's targets, and in its
# note when it cannot be read) is redacted too
run_ferret scan --db g.db "tree/key-$tok.txt" "missing-$tok"
assert_eq "$RC" 2 "a missing target: incomplete, exit 2"
assert_eq "$(sqlite3 g.db "SELECT count(*) FROM findings")" 2 "the named file: its name and its content"
assert_eq "$(sqlite3 g.db "SELECT targets FROM runs")" "tree/key-$p1.txt
missing-$p1" "targets stored redacted"
no_plaintext g.db "DB of a scan naming the file"

# the pre-receive hook: prints and records the location with the path redacted
git init -q --bare srv.git
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" srv.git > /dev/null
git -C srv.git config ferret.db "$T/hook.db"
git -C repo remote add origin "$T/srv.git"
set +e
PO=$(git -C repo push origin HEAD~1:refs/heads/main 2>&1) # the commit adding cfg/<tok3>.txt
PRC=$?
set -e
assert_eq "$PRC" 1 "the push is rejected"
assert_eq "$(printf '%s\n' "$PO" | grep -c '^remote: ferret: SECRET ')" 2 "two findings in the push: the file's content and its name"
assert_contains "$PO" "cfg/$p3.txt line 1" "the path shown redacted"
printf '%s\n' "$PO" > push.txt
no_plaintext push.txt "hook output"
no_plaintext hook.db "hook DB"
[ -e hook.db-wal ] && no_plaintext hook.db-wal "hook DB WAL"
finish
