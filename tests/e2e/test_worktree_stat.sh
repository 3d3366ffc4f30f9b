#!/usr/bin/env bash
# Work-tree re-scans cost what changed (issue 11, item 2): a tracked file is
# read only when its lstat matches neither the index entry's nor the row
# ferret's stat cache kept when it last hashed the file (libgit2 never writes
# the index back, so a copied or touched checkout was re-hashed whole on every
# sweep). Counted in the summary: "N tracked (H hashed: stat changed)" and
# "R files read". Files get fixed old timestamps (git's and ferret's racy-entry
# rule distrusts stat data younger than the look), so every count is exact.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tokK=$($FAKE github 51) # committed
tokB=$($FAKE github 52) # a tracked file changed in the work tree
tokU=$($FAKE github 53) # a new untracked file
tokS=$($FAKE github 54) # a staged change
old() { touch -h -d "@$((1767225600 + $1))" "${@:2}"; } # old N FILE...: mtime 2026-01-01 + N s

git init -q r
cd r
printf 'plain text\n' >a.txt
printf 'NAME=app\n' >b.env
printf 'TOKEN=%s\n' "$tokK" >k.env
printf 'NAME=d\n' >d.env
printf '*.log\n' >.gitignore
old 0 a.txt b.env k.env d.env .gitignore
git add -A
gcommit alice "first"
cd ..
R=$(realpath r)
# a copy made with hard links (as scripts/bench-incr.sh makes its clone): every
# file's ctime changes, so the index's stat data no longer matches any file
cp -al r w
cp --remove-destination r/.git/index w/.git/index
W=$(realpath w)

hashed() { count_of "$ERR" "hashed: stat changed)"; }
read_() { count_of "$ERR" "files read"; }
findings() { sqlite3 w.db "select count(*) from findings"; }

run_ferret scan --db w.db w
assert_eq "$RC" 1 "first scan exits 1"
assert_eq "$(count_of "$ERR" "tracked (")" 5 "5 tracked files"
assert_eq "$(hashed)" 5 "first scan: every file's stat differs from the index's: 5 hashed"
assert_eq "$(read_)" 0 "first scan: no work-tree file scanned (all equal the index)"
assert_eq "$(count_of "$ERR" "modified")" 0 "nothing modified"
assert_eq "$(sqlite3 w.db "select count(*) from worktree_stat where path like '$W/%' and mode != 16384")" 5 "5 rows in the stat cache"
# and one for the root directory, whose names are the index's (worktree.c's clean_dir: their digest, no name)
assert_eq "$(sqlite3 w.db "select replace(path, '$W', 'W') || ' ' || length(oid) from worktree_stat where path like '$W/%' and mode = 16384")" \
  "W// 40" "the root directory's row"
assert_eq "$(sqlite3 w.db "select oid from worktree_stat where path = '$W/k.env'")" "$(git -C w rev-parse HEAD:k.env)" "a row holds the file's blob id"

# unchanged: no file read at all
run_ferret scan --db w.db w
assert_eq "$RC" 1 "unchanged re-scan exits 1"
assert_eq "$(hashed)" 0 "unchanged re-scan: 0 files hashed"
assert_eq "$(read_)" 0 "unchanged re-scan: 0 files read"
assert_eq "$(count_of "$ERR" "unchanged), 0 incremental")" 1 "history unchanged too"

# a touched file with the same content: hashed once, not scanned, then trusted again
old 100 w/a.txt
run_ferret scan --db w.db w
assert_eq "$(hashed)" 1 "touched file: 1 hashed"
assert_eq "$(read_)" 0 "touched file: not read for scanning"
assert_eq "$(count_of "$ERR" "modified")" 0 "touched file: not modified"
run_ferret scan --db w.db w
assert_eq "$(hashed)" 0 "touched file trusted on the next scan: 0 hashed"

# a changed file: hashed, read, its secret found; the next scan reads nothing
printf 'NAME=app\nTOKEN=%s\n' "$tokB" >w/b.env
old 200 w/b.env
run_ferret scan --db w.db w
assert_eq "$(hashed)" 1 "changed file: 1 hashed"
assert_eq "$(count_of "$ERR" "modified")" 1 "changed file: 1 modified"
assert_eq "$(read_)" 1 "changed file: 1 read"
assert_eq "$(findings)" 2 "its secret found"
assert_eq "$(sqlite3 w.db "select l.source_kind || ' ' || l.path from locations l join matches m on m.content_id = l.content_id join findings f on f.id = m.finding_id where f.secret_sha256 = '$(sha256 "$tokB")'")" "worktree b.env" "as a work-tree file"
run_ferret scan --db w.db w
assert_eq "$(hashed)" 0 "changed file, next scan: 0 hashed"
assert_eq "$(read_)" 0 "changed file, next scan: 0 read"
assert_eq "$(count_of "$ERR" "unchanged since the last sweep")" 1 "still modified, remembered"

# a deleted file: nothing to read
rm w/d.env
run_ferret scan --db w.db w
assert_eq "$(count_of "$ERR" "tracked (")" 5 "deleted file: still in the index"
assert_eq "$(hashed)" 0 "deleted file: 0 hashed"
assert_eq "$(read_)" 0 "deleted file: 0 read"

# a new untracked file: read once
printf 'TOKEN=%s\n' "$tokU" >w/new.env
old 300 w/new.env
run_ferret scan --db w.db w
assert_eq "$(count_of "$ERR" "untracked")" 1 "new file: 1 untracked"
assert_eq "$(hashed)" 0 "new file: 0 hashed"
assert_eq "$(read_)" 1 "new file: 1 read"
assert_eq "$(findings)" 3 "its secret found"
run_ferret scan --db w.db w
assert_eq "$(read_)" 0 "new file, next scan: 0 read"

# a staged change: the index's new stat data matches the file (no hash), the
# staged blob gets its index location
printf 'TOKEN=%s\n' "$tokS" >w/k.env
old 400 w/k.env
git -C w add k.env
run_ferret scan --db w.db w
assert_eq "$(count_of "$ERR" "staged")" 1 "staged change: 1 staged"
assert_eq "$(hashed)" 0 "staged change: 0 hashed (the index's stat data is the file's)"
assert_eq "$(count_of "$ERR" "modified")" 1 "only b.env modified"
assert_eq "$(findings)" 4 "the staged secret found"
assert_eq "$(sqlite3 w.db "select group_concat(l.source_kind || ' ' || l.path, ', ') from locations l join matches m on m.content_id = l.content_id join findings f on f.id = m.finding_id where f.secret_sha256 = '$(sha256 "$tokS")' order by 1")" "git-unreachable , index k.env" "as a staged blob"
run_ferret scan --db w.db w
assert_eq "$(hashed)" 0 "staged change, next scan: 0 hashed"
assert_eq "$(read_)" 0 "staged change, next scan: 0 read"

# a merge carries the cache (the later look at a path wins)
run_ferret merge --db m.db --key w.db.key w.db
assert_eq "$RC" 0 "merge exits 0"
assert_eq "$(sqlite3 m.db "select count(*) from worktree_stat where path like '$W/%'")" \
  "$(sqlite3 w.db "select count(*) from worktree_stat where path like '$W/%'")" "merged: every row"
assert_eq "$(sqlite3 m.db "select oid from worktree_stat where path = '$W/b.env'")" \
  "$(sqlite3 w.db "select oid from worktree_stat where path = '$W/b.env'")" "merged: b.env's latest id"

# --full reads everything again, the cache aside
run_ferret scan --db w.db --full w
# (a.txt, b.env, .gitignore: k.env's index entry is fresh from 'git add', d.env is gone)
assert_eq "$(hashed)" 3 "--full: every file whose stat differs from the index's hashed"

# a file whose name holds a secret: hashed like the others, but its path is not
# kept in the stat cache (the files table's rule: a path with a secret in it
# would stay plain in the store)
tokP=$($FAKE github 55)
git init -q p
printf 'x\n' >"p/notes-$tokP.txt"
printf 'y\n' >p/plain.txt
old 0 p/*.txt
(cd p && git add -A && gcommit alice "named")
cp -al p q
cp --remove-destination p/.git/index q/.git/index
Q=$(realpath q)
run_ferret scan --db w.db q
assert_eq "$(hashed)" 2 "a secret in a file name: both files hashed"
assert_eq "$(sqlite3 w.db "select count(*) from worktree_stat where path like '$Q/%' and mode != 16384")" 1 "only the plain path kept in the stat cache"
assert_eq "$(sqlite3 w.db "select count(*) from worktree_stat where instr(path, '$tokP') > 0")" 0 "the secret is in no stat-cache row"
finish
