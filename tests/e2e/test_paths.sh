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

run_ferret report --db f.db --format jsonl --secret-hashes
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
run_ferret report --db f.db --format jsonl --secret-hashes
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

# ---- names no content is read under (review of issue 10, items 4, 5, 6, 10-12)
tokR=$($FAKE github 1407) # a repository's directory
tokB=$($FAKE github 1408) # a branch name
tokG=$($FAKE github 1409) # a tag name
tokL=$($FAKE github 1410) # a symbolic link's name
tokC=$($FAKE github 1411) # content in that repository, on the main branch
tokD=$($FAKE github 1412) # content only on the branch
tokE=$($FAKE github 1413) # a missing target's name
all="$all $tokR $tokB $tokG $tokL $tokC $tokD $tokE"
mkdir -p "d/$tokR" links
git init -q "d/$tokR/r"
(cd "d/$tokR/r" && printf 'C=%s\n' "$tokC" > c.txt && git add c.txt && gcommit bob "c" &&
  git tag "v-$tokG" && git checkout -q -b "feature/$tokB" && printf 'D=%s\n' "$tokD" > b.txt &&
  git add b.txt && gcommit bob "d" && git checkout -q main)
echo hi > links/target.txt
ln -s target.txt "links/link-$tokL"
run_ferret scan --db n.db d links
assert_eq "$RC" 1 "names: exit 1"
printf '%s\n' "$ERR" > n.err
no_plaintext n.err "names: scan output"
run_ferret report --db n.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > n.jsonl
red() { python3 -c "import sys; t=sys.argv[1]; print(t[:4] + '****' + t[-2:])" "$1"; } # a 40-char token redacted
pR=$(red "$tokR")
pn() { pyjsonl n.jsonl "[r['preview'] for r in rows if r['secret_sha256']=='$(sha256 "$1")'][0]"; }
nocc() { pyjsonl n.jsonl "sorted((o['source'], o.get('repo'), o['path'], o.get('ref')) for r in rows if r['secret_sha256']=='$(sha256 "$1")' for o in r['occurrences'])"; }
assert_eq "$(pn "$tokR")" "$pR" "the redacted form"
repo="$T/d/$pR/r"
assert_eq "$(pyjsonl n.jsonl "len(rows)")" 6 "six findings: a directory, a branch, a tag, a link, two contents"
assert_eq "$(nocc "$tokR")" "[('file-path', None, 'd/$pR/r', None)]" "a repository's directory: one file-path finding"
assert_eq "$(nocc "$tokB")" "[('git-ref', '$repo', 'refs/heads/feature/$(pn "$tokB")', None)]" "a branch name: one git-ref finding"
assert_eq "$(nocc "$tokG")" "[('git-ref', '$repo', 'refs/tags/v-$(pn "$tokG")', None)]" "a tag name: one git-ref finding"
assert_eq "$(nocc "$tokL")" "[('file-path', None, 'links/link-$(pn "$tokL")', None)]" "a link's name: one file-path finding"
assert_eq "$(nocc "$tokC")" "[('git', '$repo', 'c.txt', 'refs/heads/main')]" "content: at the redacted repository"
assert_eq "$(nocc "$tokD")" "[('git', '$repo', 'b.txt', 'refs/heads/feature/$(pn "$tokB")')]" "content on the branch: its ref redacted"
assert_eq "$(sqlite3 n.db "SELECT path FROM repos")" "$repo" "the repository's state stored under the redacted path"
assert_eq "$(sqlite3 n.db "SELECT count(*) FROM content WHERE status != 'scanned'")" 0 "a link or a directory is no skipped item"
no_plaintext n.jsonl "names: jsonl report"
for fmt in text json sarif; do
  run_ferret report --db n.db --format "$fmt" --output "n.$fmt"
  no_plaintext "n.$fmt" "names: $fmt report"
done
no_plaintext n.db "names: DB"
[ -e n.db-wal ] && no_plaintext n.db-wal "names: WAL"
# a rescan: the repository is unchanged (found by its redacted path), the same findings
run_ferret scan --db n.db d links
assert_eq "$RC" 1 "names rescan: exit 1"
assert_eq "$(count_of "$ERR" "unchanged)")" 1 "names rescan: the repository unchanged"
assert_eq "$(count_of "$ERR" "finding")" 6 "names rescan: the targets hold the six findings"
assert_eq "$(sqlite3 n.db "SELECT count(*) || ' ' || sum(path = '$repo') FROM repos")" "1 1" "names rescan: one repository row"
no_plaintext n.db "names rescan: DB"
# an error about a path prints it redacted
run_ferret scan --db n.db "missing-$tokE/x"
assert_eq "$RC" 2 "a missing target: exit 2"
printf '%s\n' "$ERR" > e.err
no_plaintext e.err "an error's path on stderr"
assert_eq "$(grep -cxF "ferret: error: missing-$(red "$tokE")/x: No such file or directory" e.err)" 1 "the error names the path redacted"

# a worker without a scanner (Hyperscan cannot clone its scratch space off the
# main thread): its items fail, and no path of theirs is recorded or printed
cat > noscratch.c <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
typedef int (*clone_fn)(const void *, void **);
int hs_clone_scratch(const void *src, void **dest)
{
    if (gettid() != getpid()) return -1; /* HS_INVALID: a worker gets no scanner */
    return ((clone_fn)dlsym(RTLD_NEXT, "hs_clone_scratch"))(src, dest);
}
C
cc -shared -fPIC -o noscratch.so noscratch.c -ldl
set +e
LD_PRELOAD="$T/noscratch.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
  "$FERRET" scan --db w.db tree > w.out 2> w.err
RC=$?
set -e
assert_eq "$RC" 2 "no scanner: the run is incomplete"
assert_eq "$(count_of "$(cat w.err)" "failed;")" 2 "no scanner: both items of the tree failed"
assert_eq "$(sqlite3 w.db "SELECT status || '|' || reason FROM content")" \
  "error|cannot create a scanner: its paths are not recorded" "no scanner: one unread content"
assert_eq "$(sqlite3 w.db "SELECT source_kind || '|' || path FROM locations")" "file|<path withheld>" "no scanner: no path recorded"
assert_eq "$(sqlite3 w.db "SELECT count(*) FROM findings")" 0 "no scanner: no finding"
no_plaintext w.err "no scanner: output"
no_plaintext w.db "no scanner: DB"
[ -e w.db-wal ] && no_plaintext w.db-wal "no scanner: WAL"
finish
