#!/usr/bin/env bash
# The work tree against the index read directly (issue 11, item 2: re-scans
# that cost what changed). With nothing staged (HEAD's tree is the index's
# cache tree) and a plain index, worktree.c reads .git/index itself instead of
# through libgit2 and diffs nothing; anything else (staged content, conflicts,
# intent-to-add or skip-worktree entries, a split index, core.ignorecase, a
# file only libgit2's status can tell) goes the libgit2 way. Every state below
# is scanned twice, into d.db (the direct read) and l.db (FERRET_INDEX_READER=0:
# libgit2 reads the index), from the same history of scans: the exit code, the
# work-tree summary and every row the work tree leaves (locations, files read,
# the stat cache, work-tree content) must be the same, with exact counts, and
# the trace says which way each took.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tokM=$($FAKE github 51) # a tracked file modified in the work tree
tokU=$($FAKE github 52) # an untracked file
tokN=$($FAKE github 53) # in an untracked directory
tokI=$($FAKE github 54) # ignored
tokS=$($FAKE github 55) # staged
tokW=$($FAKE github 56) # in .github/, tracked and then modified

old() { touch -h -d '2020-01-02 03:04:05' "$@"; } # stat data older than any index written here
git init -q r
cd r
mkdir -p .github/workflows src/deep/er docs
printf 'name: ci\n' >.github/workflows/ci.yml
printf 'plain\n' >a.txt
printf 'NAME=x\n' >src/b.env
printf 'x\n' >src/deep/er/c.txt
printf 'doc\n' >docs/d.md
printf 'gone\n' >docs/gone.md
ln -s a.txt link
printf '*.log\nbuild/\n' >.gitignore
old .github/workflows/ci.yml a.txt src/b.env src/deep/er/c.txt docs/d.md docs/gone.md link .gitignore
git add -A
gcommit alice first
cd ..

wtline() { printf '%s\n' "$1" | grep '^ferret: work tree:' || true; }
rows() {
  sqlite3 "$1" "select 'loc', source_kind, path from locations where source_kind in ('worktree', 'index') order by 2, 3;
    select 'file', replace(path, '$T/', ''), size from files order by 2;
    select 'stat', replace(path, '$T/', ''), size, mtime_ns, ctime_ns, ino, mode, oid from worktree_stat where mode != 16384 order by 2;
    select 'content', key, status from content where key like 'sha256:%' order by 2"
}
# scan LABEL WAY ARGS...: the same scan into d.db and l.db; WAY is the way the
# direct one must take (direct or libgit2); leaves the direct scan's ERR and RC
scan() {
  local label=$1 way=$2
  shift 2
  FERRET_GIT_TRACE=1 run_ferret scan --db d.db "$@" r
  local derr=$ERR drc=$RC
  FERRET_GIT_TRACE=1 FERRET_INDEX_READER=0 run_ferret scan --db l.db "$@" r
  assert_contains "$derr" "index=$way" "$label: the index read $way"
  # the direct way on what the prefetch thread read as the scan started
  # (the index, each entry's lstat, the directories' listings)
  if [ "$way" = direct ]; then
    assert_contains "$derr" "prefetch=index" "$label: the prefetch's index and stat data taken"
  fi
  assert_contains "$ERR" "prefetch=none" "$label: FERRET_INDEX_READER=0 prefetches nothing"
  assert_contains "$ERR" "index=libgit2" "$label: FERRET_INDEX_READER=0 reads it through libgit2"
  assert_eq "$drc" "$RC" "$label: the same exit code"
  assert_eq "$(wtline "$derr")" "$(wtline "$ERR")" "$label: the same work-tree summary"
  assert_eq "$(rows d.db)" "$(rows l.db)" "$label: the same rows"
  ERR=$derr RC=$drc
}
wt() { count_of "$ERR" "$1"; }

scan "clean checkout" direct
assert_eq "$RC" 0 "clean checkout: exit 0"
assert_eq "$(wt tracked) $(wt hashed:) $(wt modified) $(wt untracked) $(wt "files read")" "8 0 0 0 0" "clean checkout: 8 tracked, nothing hashed or read"

# modified, deleted, untracked (a file, a directory), ignored, a nested repository
cd r
printf 'NAME=x\nTOKEN=%s\n' "$tokM" >src/b.env
printf 'name: ci\nTOKEN=%s\n' "$tokW" >.github/workflows/ci.yml
rm docs/gone.md
printf 'TOKEN=%s\n' "$tokU" >.env
mkdir -p newdir/sub build && printf 'TOKEN=%s\n' "$tokN" >newdir/sub/n.txt
printf 'TOKEN=%s\n' "$tokI" >build/i.txt && printf 'TOKEN=%s\n' "$tokI" >x.log
git init -q nested && printf 'TOKEN=%s\n' "$tokI" >nested/inner.txt
old src/b.env .github/workflows/ci.yml .env newdir/sub/n.txt build/i.txt x.log nested/inner.txt
cd ..
scan "changes, nothing staged" direct
assert_eq "$RC" 1 "changes: findings"
assert_eq "$(wt tracked) $(wt hashed:) $(wt modified) $(wt untracked) $(wt ignored) $(wt "files read")" \
  "8 2 2 2 0 4" "changes: 2 hashed and modified (.github's too), 2 untracked, 4 files read"
assert_eq "$(sqlite3 d.db "select group_concat(path, ' ') from (select path from locations where source_kind = 'worktree' order by path)")" \
  ".env .github/workflows/ci.yml newdir/sub/n.txt src/b.env" "changes: the work-tree locations"
scan "unchanged re-scan" direct
assert_eq "$(wt hashed:) $(wt modified) $(wt untracked) $(wt "files read") $(wt "unchanged since the last sweep")" \
  "0 2 2 0 4" "unchanged re-scan: the stat cache tells the modified files, nothing read"
scan "with ignored files" direct --include-ignored
assert_eq "$(wt ignored) $(wt "files read")" "2 2" "--include-ignored: build/i.txt and x.log read, the nested repository not entered"

# stat data changed, content not: hashed once, then the stat cache knows it
touch -d '2021-01-01 00:00:00' r/a.txt
scan "touched" direct
assert_eq "$(wt hashed:) $(wt modified)" "1 2" "touched: a.txt hashed, not modified"
scan "touched, re-scan" direct
assert_eq "$(wt hashed:)" 0 "touched, re-scan: the stat cache's row"

# index version 4 (paths prefix-compressed)
git -C r update-index --index-version 4
scan "index version 4" direct
assert_eq "$(wt tracked) $(wt modified) $(wt untracked)" "8 2 2" "index version 4: the same"

# staged content: HEAD's tree is not the index's any more
printf 'TOKEN=%s\n' "$tokS" >r/docs/d.md
git -C r add docs/d.md
scan "staged" libgit2
assert_eq "$(wt staged)" 1 "staged: one staged file"
(cd r && gcommit bob second)
scan "committed" direct
assert_eq "$(wt staged) $(wt tracked)" "0 8" "committed: the cache tree is HEAD's tree again"

# intent-to-add, a symbolic link's new target, a split index, core.ignorecase
git -C r add -N .env
scan "intent-to-add" libgit2
git -C r rm -q --cached .env
scan "intent-to-add undone" libgit2 # the cache tree stays invalid until rebuilt
git -C r write-tree >/dev/null
scan "cache tree rebuilt (write-tree)" direct
ln -sfn docs/d.md r/link
scan "link retargeted" libgit2
ln -sfn a.txt r/link
scan "link restored" libgit2 # a link whose stat is not its entry's: libgit2's status tells
git -C r update-index -q --refresh || true # (b.env and ci.yml stay modified)
scan "index refreshed" direct
git -C r update-index --split-index
scan "split index" libgit2
git -C r update-index --no-split-index
git -C r config core.ignorecase true
scan "core.ignorecase" libgit2
git -C r config core.ignorecase false
scan "plain again" direct

# an extension whose signature does not start with a capital (git and libgit2
# refuse the index: one they must understand) under a valid checksum:
# libgit2's error, both ways
cp r/.git/index plain.idx
python3 - r/.git/index <<'EOF'
import hashlib, sys
d = open(sys.argv[1], 'rb').read()[:-20] + b'1XYZ' + bytes(4)
open(sys.argv[1], 'wb').write(d + hashlib.sha1(d).digest())
EOF
scan "unknown required extension" libgit2
assert_eq "$RC" 2 "unknown required extension: exit 2"
assert_contains "$ERR" "cannot read the index" "unknown required extension: said"
cp plain.idx r/.git/index

# a damaged index (its checksum no longer matches): libgit2's error, both ways
python3 - r/.git/index <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[len(d) // 2] ^= 0xff
open(sys.argv[1], 'wb').write(bytes(d))
EOF
scan "damaged index" libgit2
assert_eq "$RC" 2 "damaged index: exit 2"
assert_contains "$ERR" "cannot read the index" "damaged index: said"
cp plain.idx r/.git/index

# Clean directories: one whose names are the index's is not listed again
# while its lstat and the index's names there are those its stat-cache row
# keeps (mode 040000, oid: their digest); a name added or untracked is found.
git init -q c
(cd c && mkdir -p p/q s && printf 'a\n' >p/a.txt && printf 'b\n' >p/q/b.txt &&
  printf 's\n' >s/s.txt && printf 't\n' >top.txt && old p/a.txt p/q/b.txt s/s.txt top.txt &&
  git add -A && gcommit alice c1)
old c c/p c/p/q c/s # older than the racy window (a change in the same tick)
dirs() { printf '%s\n' "$ERR" | grep -o 'dirs read [0-9]* clean [0-9]*'; }
FERRET_GIT_TRACE=1 run_ferret scan --db c.db c
assert_eq "$(dirs)" "dirs read 4 clean 0" "clean dirs: the first scan lists the root, p/, p/q/ and s/"
assert_eq "$(sqlite3 c.db "select group_concat(replace(path, '$T/', ''), ' ') from (select path from worktree_stat where mode = 16384 order by path)")" \
  "c// c//p/ c//p/q/ c//s/" "clean dirs: a row each"
FERRET_GIT_TRACE=1 run_ferret scan --db c.db c
assert_eq "$(dirs) $RC" "dirs read 0 clean 4 0" "clean dirs: the re-scan lists none"
assert_contains "$ERR" "/c prefetched" "the repository's fingerprint taken by the prefetch thread"
assert_contains "$ERR" "1 repository (1 unchanged)" "... and it says the history is unchanged"
assert_eq "$(wt tracked) $(wt untracked)" "4 0" "clean dirs: 4 tracked, nothing untracked"
printf 'TOKEN=%s\n' "$tokU" >c/p/q/new.txt # p/q's mtime changes
FERRET_GIT_TRACE=1 run_ferret scan --db c.db c
assert_eq "$(dirs) $RC $(wt untracked)" "dirs read 1 clean 3 1 1" "clean dirs: a new file's directory listed, the file found"
assert_eq "$(sqlite3 c.db "select group_concat(path, ' ') from (select path from locations where source_kind = 'worktree' order by path)")" \
  "p/q/new.txt" "clean dirs: p/q/new.txt read"
rm c/p/q/new.txt
old c/p/q
(cd c && git rm -q --cached p/a.txt && gcommit alice c2) # p/ itself unchanged
FERRET_GIT_TRACE=1 run_ferret scan --db c.db c
assert_contains "$ERR" "index=direct" "clean dirs: nothing staged after the commit"
assert_eq "$(dirs) $(wt untracked)" "dirs read 2 clean 2 1" "clean dirs: p/ listed again (the index's names there changed), p/q/ (its row was not saved while new.txt was there)"
assert_eq "$(sqlite3 c.db "select count(*) from files where path = '$T/c/p/a.txt'")" 1 \
  "clean dirs: p/a.txt, untracked by a commit in an unchanged directory, read"
FERRET_GIT_TRACE=1 run_ferret scan --db c.db c
assert_eq "$(dirs) $(wt untracked)" "dirs read 1 clean 3 1" "clean dirs: p/ (with its untracked a.txt) listed on every scan"
FERRET_GIT_TRACE=1 run_ferret scan --db c.db --full c
assert_eq "$(dirs)" "dirs read 4 clean 0" "clean dirs: --full trusts no row"

# A directory of the index's replaced by a file or by a symlink to a directory
# elsewhere: its parent's names are still the index's, but that name is now
# untracked - the parent is not saved as clean (a later scan would list
# neither the file, nor a secret added to it, and would enter the symlink's
# target as if it were the work tree's).
tokF=$($FAKE github 57)
tokG=$($FAKE github 58)
tokX=$($FAKE github 59)
git init -q e
(cd e && mkdir -p d/sub l/sub && printf 'x\n' >d/sub/x.txt && printf 'y\n' >l/sub/y.txt &&
  old d/sub/x.txt l/sub/y.txt && git add -A && gcommit alice e1)
mkdir -p outside && printf 'X=%s\n' "$tokX" >outside/o.txt
old e e/d e/d/sub e/l e/l/sub
run_ferret scan --db e.db e
run_ferret scan --db e.db e
rm -r e/d/sub e/l/sub
printf 'F=%s\n' "$tokF" >e/d/sub
ln -s "$T/outside" e/l/sub
old e/d e/l
old -h e/l/sub
FERRET_GIT_TRACE=1 run_ferret scan --db e.db e
assert_contains "$ERR" "index=direct" "dir replaced: the index read directly"
assert_eq "$(wt untracked)" 2 "dir replaced: d/sub (a file) and l/sub (a symlink) untracked"
FERRET_GIT_TRACE=1 run_ferret scan --db e.db e
assert_eq "$(wt untracked)" 2 "dir replaced: d/sub and l/sub still untracked on the next scan"
assert_eq "$(sqlite3 e.db "select count(*) from locations where path like 'l/sub/%'")" 0 \
  "dir replaced: nothing read through the symlink l/sub"
printf 'G=%s\n' "$tokG" >>e/d/sub
FERRET_GIT_TRACE=1 run_ferret scan --db e.db e
assert_eq "$(wt untracked) $(wt "files read")" "2 1" "dir replaced: d/sub, changed, read again"
assert_eq "$(sqlite3 e.db "select count(*) from findings") $(sqlite3 e.db "select count(distinct m.finding_id) from matches m join locations l on l.content_id = m.content_id where l.path = 'd/sub'")" \
  "2 2" "dir replaced: both of d/sub's secrets found, nothing else"

# many work trees given at once: the first FR_WORKTREE_PREFETCH_MAX (4) are
# read ahead, each on its own thread; the others read their index when their
# scan comes (a sweep of hundreds holds no thread and no data for each)
for k in 1 2 3 4 5 6; do ln -s "$T/r" "$T/m$k"; done
FERRET_GIT_TRACE=1 run_ferret scan --db m.db m1 m2 m3 m4 m5 m6
assert_eq "$(printf '%s\n' "$ERR" | grep -c 'ferret git work tree: .* prefetch=index')" 4 \
  "six work trees: four prefetched"
assert_eq "$(printf '%s\n' "$ERR" | grep -c 'ferret git work tree: .* index=direct prefetch=none')" 2 \
  "six work trees: the other two read directly when their scans come"

finish
