#!/usr/bin/env bash
# A partial clone (issue 11, item 2): the blobs its filter left to the promisor
# remote are not damage. They are recorded as skipped with their reason and
# counted in the summary; the exit code follows the findings (--strict makes
# it 2); the walk's state is kept, so the next scan is incremental. A blob
# missing from a repository that is not a partial clone stays an error (exit
# 2: test_git_bad.sh).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok1=$($FAKE github 211) # in a.env's first version only: not in the clone
tok2=$($FAKE github 212) # a.env at the tip: fetched by the checkout
tok3=$($FAKE github 213) # committed in the clone afterwards
git init -q src && cd src
printf 'T=%s\n' "$tok1" >a.env && git add . && gcommit alice one
printf 'plain\n' >b.txt && git add . && gcommit alice two
printf 'T=%s\n' "$tok2" >a.env && git add . && gcommit bob three
cd ..
git -C src config uploadpack.allowFilter true
git clone -q --filter=blob:none "file://$T/src" part
# the blobs the clone lacks: a.env's first version (b.txt and a.env's tip were checked out)
assert_eq "$(git -C part rev-list --objects --all --missing=print | grep -c '^?')" 1 "the clone lacks one blob"
absent=$(git -C src rev-parse HEAD~2:a.env)

run_ferret scan --db p.db part
assert_eq "$RC" 1 "partial clone: exit 1 for its findings, not 2"
assert_eq "$(sqlite3 p.db "select status from runs order by id desc limit 1")" complete "a complete run"
assert_eq "$(count_of "$ERR" "blob (skipped")" 1 "summary: 1 blob not present in this partial clone"
assert_contains "$ERR" "not present in this partial clone: 1 blob (skipped" "summary names it"
assert_eq "$(sqlite3 p.db "select key || ' ' || status || ' ' || reason from content where status <> 'scanned'")" \
  "git:$absent skipped not present in this partial clone (its promisor remote holds it)" "the absent blob recorded as skipped"
assert_eq "$(sqlite3 p.db "select count(*) from findings")" 1 "the tip's secret found"
assert_eq "$(sqlite3 p.db "select count(*) from git_walked where kind = 'tip'")" 3 "walk state kept (HEAD, main, origin/main)"

run_ferret scan --db p.db part
assert_eq "$RC" 1 "second scan exits 1"
assert_eq "$(count_of "$ERR" "unchanged)")" 1 "second scan: the repository is unchanged"

# a commit made in the clone: the next scan walks only it
cd part
printf 'T=%s\n' "$tok3" >c.env && git add c.env && gcommit carol four
cd ..
run_ferret scan --db p.db part
assert_eq "$RC" 1 "third scan exits 1"
assert_eq "$(count_of "$ERR" "incremental")" 1 "third scan is incremental"
assert_eq "$(count_of "$ERR" "commits")" 1 "one commit walked"
assert_eq "$(count_of "$ERR" "blobs read")" 1 "one blob read"
assert_eq "$(sqlite3 p.db "select count(*) from findings")" 2 "the new commit's secret found"
report() { "$FERRET" report --db p.db --format jsonl --secret-hashes >"$1" || true; }
report p.jsonl
assert_eq "$(occ p.jsonl "$(sha256 "$tok3")" | cut -d' ' -f1-3,5)" "git c.env 1 carol@example.com" "its provenance"

# --strict: a skip, absent blobs included, makes the exit code 2
run_ferret scan --db s.db --strict part
assert_eq "$RC" 2 "--strict: exit 2"
assert_contains "$ERR" "--strict makes this exit 2" "--strict says why"

# a copy that lost its promisor settings (as a local clone of one does) keeps
# its .promisor packs: still a partial clone
cp -r part bare-settings
git -C bare-settings config --unset remote.origin.promisor
git -C bare-settings config --unset remote.origin.partialclonefilter
git -C bare-settings config --unset-all extensions.partialclone || true
run_ferret scan --db c.db bare-settings
assert_eq "$RC" 1 "copy without promisor settings: exit 1"
assert_eq "$(count_of "$ERR" "blob (skipped")" 1 "copy: 1 blob not present"

# a blob missing from a repository that is not a partial clone stays an error
cp -r src broken
rm -f "broken/.git/objects/${absent:0:2}/${absent:2}"
run_ferret scan --db b.db broken
assert_eq "$RC" 2 "a missing blob elsewhere: exit 2"
assert_eq "$(sqlite3 b.db "select count(*) from content where status = 'error'")" 1 "recorded as an error"
assert_not_contains "$ERR" "partial clone" "not called a partial clone"
finish
