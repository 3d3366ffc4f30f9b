#!/usr/bin/env bash
# Work-tree scans end to end (issue 14, item 2): scanning a checkout also scans
# what is not committed - a modified tracked file, staged content (and a file
# staged then modified again), an untracked file, with --include-ignored an
# ignored one - each with its source kind (worktree / index); files equal to
# the index are never read from disk (their blobs come from history), and an
# unchanged work-tree file is not read again by the next sweep. Exact
# occurrences from the JSONL, exact counts from the DB and the summary line.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tokC=$($FAKE github 31) # committed, unchanged in the work tree
tokM=$($FAKE github 32) # a tracked file modified, not staged
tokS=$($FAKE github 33) # a new file, staged
tokS2=$($FAKE github 34) # staged into a tracked file ...
tokW2=$($FAKE github 35) # ... which was then modified again
tokU=$($FAKE github 36) # untracked
tokI=$($FAKE github 37) # ignored

git init -q r
cd r
printf 'plain text\n' >a.txt
printf 'NAME=app\n' >b.env
printf 'TOKEN=%s\n' "$tokC" >k.env
printf 'NAME=d\n' >d.env
printf '*.log\n' >.gitignore
git add -A
gcommit alice "first"
printf 'NAME=app\nTOKEN=%s\n' "$tokM" >b.env
printf 'TOKEN=%s\n' "$tokS" >c.env
printf 'TOKEN=%s\n' "$tokS2" >d.env
git add c.env d.env
printf 'X=1\nTOKEN=%s\n' "$tokW2" >d.env
printf 'TOKEN=%s\n' "$tokU" >.env
printf 'log line\nTOKEN=%s\n' "$tokI" >build.log
cd ..
R=$(realpath r)

# occurrences of one token as sorted (source, path, line, repo-is-R) tuples
occs() {
  pyjsonl "$1" "sorted((o['source'], o.get('path', ''), o['line'], o.get('repo') == '$R') for r in rows if r['secret_sha256'] == '$(sha256 "$2")' for o in r['occurrences'])"
}
report() { "$FERRET" report --db "$1" --format jsonl --secret-hashes >"$2" || true; }

run_ferret scan --db w.db r
assert_eq "$RC" 1 "work-tree scan with findings exits 1"
report w.db w.jsonl
assert_eq "$(occs w.jsonl "$tokC")" "[('git', 'k.env', 1, True)]" "committed, unchanged: history only"
assert_eq "$(occs w.jsonl "$tokM")" "[('worktree', 'b.env', 2, True)]" "modified tracked file"
# A staged blob is in the object database, reached by no commit: history reads
# it (git-unreachable), the index gives it its path.
assert_eq "$(occs w.jsonl "$tokS")" "[('git-unreachable', '', 1, True), ('index', 'c.env', 1, True)]" "staged new file"
assert_eq "$(occs w.jsonl "$tokS2")" "[('git-unreachable', '', 1, True), ('index', 'd.env', 1, True)]" "staged content of a file modified since"
assert_eq "$(occs w.jsonl "$tokW2")" "[('worktree', 'd.env', 2, True)]" "the same file's work-tree content"
assert_eq "$(occs w.jsonl "$tokU")" "[('worktree', '.env', 1, True)]" "untracked file"
assert_eq "$(occs w.jsonl "$tokI")" "[]" "ignored file not read by default"
assert_eq "$(pyjsonl w.jsonl "len(rows)")" 6 "six findings"
assert_eq "$(count_of "$ERR" "staged")" 2 "summary: 2 staged"
assert_eq "$(count_of "$ERR" "modified")" 2 "summary: 2 modified (b.env, d.env)"
assert_eq "$(count_of "$ERR" "untracked")" 1 "summary: 1 untracked"
assert_eq "$(count_of "$ERR" "files read")" 3 "summary: 3 work-tree files read"
# Only the three changed files were read from disk (remembered for sweeps); a.txt,
# k.env and .gitignore equal the index and were never opened.
assert_eq "$(sqlite3 w.db "select group_concat(path, ' ') from (select path from files order by path)")" \
  "$R/.env $R/b.env $R/d.env" "files read from the work tree"
assert_eq "$(sqlite3 w.db "select count(*) from content where key like 'sha256:%'")" 3 "three file contents"

# a second sweep: nothing changed, nothing read again, same occurrences
run_ferret scan --db w.db r
assert_eq "$RC" 1 "second sweep exits 1"
assert_eq "$(count_of "$ERR" "files read")" 0 "second sweep reads no work-tree file"
assert_eq "$(count_of "$ERR" "unchanged since the last sweep")" 3 "three unchanged"
report w.db w2.jsonl
assert_eq "$(pyjsonl w2.jsonl "sorted((r['secret_sha256'], len(r['occurrences'])) for r in rows)")" \
  "$(pyjsonl w.jsonl "sorted((r['secret_sha256'], len(r['occurrences'])) for r in rows)")" "second sweep adds no occurrence"
assert_eq "$(sqlite3 w.db "select items_scanned from runs where id = 2")" 0 "second sweep scans nothing"

# an edit is read again; a file that was fixed (reverted to the index) is not read
tokU2=$($FAKE github 38)
printf 'TOKEN=%s\n' "$tokU2" >r/.env
git -C r checkout -q -- b.env
run_ferret scan --db w.db r
assert_eq "$(count_of "$ERR" "files read")" 1 "only the edited file is read"
assert_eq "$(count_of "$ERR" "modified")" 1 "b.env no longer modified"
report w.db w3.jsonl
assert_eq "$(occs w3.jsonl "$tokU2")" "[('worktree', '.env', 1, True)]" "the edit's secret"

# --include-ignored reads the ignored file too
run_ferret scan --db i.db --include-ignored r
assert_eq "$RC" 1 "include-ignored exits 1"
report i.db i.jsonl
assert_eq "$(occs i.jsonl "$tokI")" "[('worktree', 'build.log', 2, True)]" "ignored file read with --include-ignored"
assert_eq "$(count_of "$ERR" "ignored")" 1 "summary: 1 ignored"
assert_eq "$(count_of "$ERR" "files read")" 3 "summary: 3 files read (d.env, .env, build.log)"

# the database inside the work tree (untracked) is never read as content
(cd r && "$FERRET" scan --db ferret.db . >/dev/null 2>../in.err) || true
assert_eq "$(count_of "$(cat in.err)" "untracked")" 1 "the DB and its files are not counted or read"
assert_eq "$(sqlite3 r/ferret.db "select count(*) from files where path like '%ferret.db%'")" 0 "the DB was not read"
rm -f r/ferret.db*

# a bare clone has no work tree; a clean checkout has nothing uncommitted
git clone -q --bare r bare.git
run_ferret scan --db b.db bare.git
assert_not_contains "$ERR" "work tree:" "bare repository: no work-tree line"
# a git dir with no config file (a snapshot's copy): libgit2 takes its parent
# for a work tree; the directory named is a git dir, its parent is not scanned
mkdir snap && cp -R bare.git snap/x.git && rm snap/x.git/config
printf 'beside the copy\n' > snap/notes.txt
run_ferret scan --db snap.db snap/x.git
assert_not_contains "$ERR" "work tree:" "config-less git dir: no work-tree line"
assert_contains "$ERR" "git: 1 repository" "config-less git dir: its history is scanned"
git clone -q r clean
run_ferret scan --db c.db clean
assert_eq "$(count_of "$ERR" "modified, 0 untracked")" 0 "clean checkout: nothing uncommitted"
assert_eq "$(count_of "$ERR" "files read")" 0 "clean checkout: no work-tree file read"
assert_eq "$(sqlite3 c.db "select count(*) from files")" 0 "clean checkout: no file read from disk"

# an unborn branch: everything staged is new
git init -q u
printf 'TOKEN=%s\n' "$tokS" >u/s.env
git -C u add s.env
run_ferret scan --db u.db u
report u.db u.jsonl
assert_eq "$(pyjsonl u.jsonl "sorted((o['source'], o.get('path', '')) for r in rows for o in r['occurrences'])")" \
  "[('git-unreachable', ''), ('index', 's.env')]" "staged on an unborn branch"

# names nothing else scans: an untracked file and a link named with a token are
# findings of their own, shown and stored redacted (the file not remembered
# under its plain path)
tokN=$($FAKE github 39)
tokL=$($FAKE github 40)
git init -q n && printf 'a\n' >n/a && git -C n add a && (cd n && gcommit alice "a")
printf 'hello\n' >"n/key-$tokN.txt"
ln -s a "n/link-$tokL"
run_ferret scan --db n.db n
assert_eq "$RC" 1 "token names exit 1"
report n.db n.jsonl
assert_eq "$(pyjsonl n.jsonl "sorted((o['source'], o['path'][:9], o['line']) for r in rows for o in r['occurrences'])")" \
  "[('file-path', 'key-ghp_*', 1), ('file-path', 'link-ghp_', 1)]" "untracked file and link names"
assert_eq "$(sqlite3 n.db "select count(*) from files")" 0 "a token-named file is not remembered"
if grep -qa -e "$tokN" -e "$tokL" n.db n.db-wal 2>/dev/null; then fail "plaintext name in the DB"; else ok; fi

finish
