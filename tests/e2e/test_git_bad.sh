#!/usr/bin/env bash
# Git-specific bad input, each scanned on its own and then all together: not a
# repository, a shallow clone, a partial clone with missing blobs (skips), a missing and
# a corrupt object, a truncated pack, a ref to a missing commit, an empty
# repository, a blob over the size cap, and a Git LFS pointer. The scan goes on
# past each, says what it skipped, and marks the run incomplete where it was.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 201)
tok2=$($FAKE github 202)
git init -q src && cd src
printf 'T=%s\n' "$tok" > a.env && git add . && gcommit alice one
printf 'U=%s\n' "$tok2" > b.env && git add . && gcommit alice two
echo "three" > c.txt && git add . && gcommit alice three
cd ..
git -C src config uploadpack.allowFilter true

status() { sqlite3 "$1" "select status from runs order by id desc limit 1"; }

# --- not a repository (a .git file pointing nowhere)
mkdir notrepo && echo "gitdir: /nonexistent" > notrepo/.git
run_ferret scan --db n.db notrepo
assert_eq "$RC" 2 "not a repository exits 2"
assert_contains "$ERR" "notrepo: not a git repository" "says it is not a repository"

# --- empty repository: complete, exit 0
git init -q empty
run_ferret scan --db e.db empty
assert_eq "$RC" 0 "empty repository exits 0"
assert_eq "$(status e.db)" complete "empty repository run complete"

# --- shallow clone: what is there is scanned, the cut history is reported
git clone -q --depth 1 "file://$T/src" shallow
run_ferret scan --db s.db shallow
assert_eq "$RC" 1 "shallow clone: what it holds is scanned, exit 1 for its findings (issue 14, item 4)"
assert_eq "$(status s.db)" complete "shallow clone: a complete run (the boundary is a skip)"
assert_contains "$(sqlite3 s.db "select reason from content where status='skipped'")" "shallow clone" "shallow boundary recorded"
assert_eq "$(sqlite3 s.db "select count(*) from findings")" 2 "secrets at the shallow tip still found"

# --- partial clone with missing blobs
git clone -q --filter=blob:none --no-checkout "file://$T/src" partial
run_ferret scan --db p.db partial
# What a partial clone's filter left to its promisor remote is not damage: the
# three blobs are skipped and counted, the run is complete (test_git_partial.sh).
assert_eq "$RC" 0 "partial clone: its missing blobs are skips, not errors"
assert_eq "$(status p.db)" complete "partial clone: a complete run"
assert_eq "$(sqlite3 p.db "select count(*) || ' ' || group_concat(distinct reason) from content where status='skipped'")" "3 not present in this partial clone (its promisor remote holds it)" "missing blobs explained"
assert_eq "$(count_of "$ERR" "blobs (skipped")" 3 "summary: 3 blobs not present"

# --- a missing and a corrupt loose object
cp -r src broken
blob_a=$(git -C broken rev-parse HEAD:a.env)
blob_c=$(git -C broken rev-parse HEAD:c.txt)
rm -f "broken/.git/objects/${blob_a:0:2}/${blob_a:2}"
chmod u+w "broken/.git/objects/${blob_c:0:2}/${blob_c:2}"
printf 'garbage, not zlib' > "broken/.git/objects/${blob_c:0:2}/${blob_c:2}"
run_ferret scan --db b.db broken
assert_eq "$RC" 2 "missing/corrupt objects: incomplete run"
assert_contains "$ERR" "missing or corrupt blob" "missing blob named"
assert_eq "$(sqlite3 b.db "select count(*) from content where status='error'")" 2 "both bad objects recorded as errors"
assert_eq "$(sqlite3 b.db "select count(*) from findings")" 1 "the good blob still scanned"

# --- a truncated pack
cp -r src trunc
git -C trunc repack -q -a -d
pack=$(ls trunc/.git/objects/pack/*.pack)
truncate -s $(( $(stat -c %s "$pack") / 2 )) "$pack"
run_ferret scan --db t.db trunc
assert_eq "$RC" 2 "truncated pack: incomplete run"
assert_eq "$(sqlite3 t.db "pragma integrity_check")" ok "DB consistent"
# the pack no longer matches its index: it is not read at all (libgit2 would
# follow the index into the missing half); the pack and the ref it holds are
# the two errors
assert_eq "$(sqlite3 t.db "select count(*) from content where status='error'")" 2 "truncated pack errors recorded"
assert_eq "$(sqlite3 t.db "select count(*) from content where status='error' and reason like 'corrupt pack index or pack (the index names another pack (checksum))%'")" 1 "the truncated pack is named"

# --- a ref to a missing commit
cp -r src badref
echo 0123456789abcdef0123456789abcdef01234567 > badref/.git/refs/heads/ghost
run_ferret scan --db r.db badref
assert_eq "$RC" 2 "ref to a missing commit: incomplete run"
assert_contains "$ERR" "refs/heads/ghost" "bad ref named"
assert_eq "$(sqlite3 r.db "select count(*) from findings")" 2 "other refs still scanned"

# --- a blob over the size cap, and a Git LFS pointer
git init -q big && cd big
head -c 3000000 /dev/zero | tr '\0' 'a' > huge.txt
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n' > model.bin
printf 'T=%s\n' "$tok" > ok.env
git add . && gcommit alice big && cd ..
run_ferret scan --db big.db --max-file-size 1M big
assert_eq "$RC" 1 "skips are not errors: findings exit 1"
assert_eq "$(sqlite3 big.db "select reason from content c join locations l on l.content_id=c.id where l.path='huge.txt'")" "larger than --max-file-size (1048576 bytes)" "huge blob skipped with reason"
assert_eq "$(sqlite3 big.db "select reason from content c join locations l on l.content_id=c.id where l.path='model.bin'")" "Git LFS pointer (the content is in LFS storage, not in git)" "LFS pointer recognised"
run_ferret report --db big.db --skipped
assert_contains "$OUT" "huge.txt" "skipped blob listed with its path"

# --- all of it in one sweep: one bad repository never stops the others
mkdir all && mv notrepo empty shallow partial broken trunc badref big all/
run_ferret scan --db all.db all
assert_eq "$RC" 2 "sweep with bad repositories exits 2"
assert_eq "$(count_of "$ERR" "repositories")" 8 "every repository visited"
assert_eq "$(sqlite3 all.db "select group_concat(r, ' ') from (select distinct replace(l.repo, '$T/all/', '') r from locations l join matches m on m.content_id=l.content_id where r in ('shallow','broken','badref','big') order by r)")" "badref big broken shallow" "findings from every readable repository"
finish
