#!/usr/bin/env bash
# Re-scans that cost what changed (issue 11, item 2), range scans and shallow
# clones (issue 14, item 4). After a complete scan the store remembers each
# repository's ref tips and packs (git_walked); a re-scan under the same rules
# walks only the commits none of those tips reaches, and records their exact
# provenance: a new commit, a new branch on old commits, a force-push, a
# deleted branch, a gc, a rule change. --range / --since scan a slice of
# history; a depth-1 clone scans what it has and exits 0/1 (--strict: 2).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

s1=$($FAKE github 1201); s2=$($FAKE github 1202); s3=$($FAKE github 1203)
s4=$($FAKE github 1204); s5=$($FAKE github 1205); s6=$($FAKE github 1206)
s7=$($FAKE github 1207); s8=$($FAKE github 1208); s9=$($FAKE github 1209)
git init -q repo && cd repo
printf 'A=%s\n' "$s1" > a.env && git add . && gcommit alice "first"
c1=$(git rev-parse HEAD)
mkdir conf && printf 'x\nB=%s\n' "$s2" > conf/b.yml && git add . && gcommit bob "second"
c2=$(git rev-parse HEAD)
cd ..

# the summary's counts of the last scan: "COMMITS TREES BLOBS"
counts() { echo "$(count_of "$ERR" "commits") $(count_of "$ERR" "trees") $(count_of "$ERR" "blobs read")"; }
report() { run_ferret report --db g.db --format jsonl --secret-hashes && printf '%s\n' "$OUT" > "$1"; }
where() { occ "$1" "$(sha256 "$2")" | awk '{print $1, $2, $3, $4, $5, $7}' | sort; }
# the commits the next re-scan hides (git_walked kind 'hide': the tips no other
# tip's history holds), sorted
hides() { sqlite3 "${1:-g.db}" "select oid from git_walked where kind = 'hide' order by 1" | tr '\n' ' ' | sed 's/ $//'; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }

run_ferret scan --db g.db repo
assert_eq "$RC" 1 "first scan: findings"
assert_eq "$(counts)" "2 3 2" "first scan: the whole history"
assert_eq "$(count_of "$ERR" "incremental")" 0 "first scan: not incremental"
assert_eq "$(sqlite3 g.db "select kind || ' ' || name || ' ' || oid from git_walked order by 1")" \
  "$(printf 'hide  %s\ntip %s %s' "$c2" "$(sha256 refs/heads/main)" "$c2")" "the walked tip is remembered by its name's digest (all objects loose: no pack), its commit is the one to hide"

# --- a new commit: only it is walked, only its blob read, exact provenance
cd repo && printf 'C=%s\n' "$s3" > c.txt && git add . && gcommit carol "third" && c3=$(git rev-parse HEAD) && cd ..
run_ferret scan --db g.db repo
assert_eq "$RC" 1 "new commit: exit 1"
assert_eq "$(count_of "$ERR" "incremental")" 1 "new commit: an incremental scan"
assert_eq "$(counts)" "1 1 1" "new commit: one commit, its root tree, its one new blob"
assert_eq "$(sqlite3 g.db "select new_findings from runs order by id desc limit 1")" 1 "new commit: one new finding"
report r1.jsonl
assert_eq "$(where r1.jsonl "$s3")" "git c.txt 1 $c3 carol@example.com refs/heads/main" "new commit: its provenance"
assert_eq "$(where r1.jsonl "$s1")" "git a.env 1 $c1 alice@example.com refs/heads/main" "old provenance unchanged"
assert_eq "$(pyjsonl r1.jsonl "len(rows)")" 3 "three findings"
assert_eq "$(hides)" "$c3" "new commit: it replaces its parent in the hide set"
run_ferret scan --db g.db repo
assert_eq "$RC/$(count_of "$ERR" "unchanged)")" "1/1" "unchanged: not walked, its findings still counted"

# --- a new branch on old commits (its name holds a token): nothing read, the ref scanned
cd repo && git branch old "$c1" && git branch "leak-$s4" "$c1" && cd ..
run_ferret scan --db g.db repo
assert_eq "$(counts)" "0 0 0" "new branches on old commits: no commit walked, no blob read"
assert_eq "$(count_of "$ERR" "refs")" 3 "new branches: three refs"
assert_eq "$(sqlite3 g.db "select new_findings from runs order by id desc limit 1")" 1 "the token in the new branch name is found"
assert_eq "$(sqlite3 g.db "select name || ' ' || oid from git_walked where kind = 'tip' order by 1")" \
  "$(printf '%s\n' "$(sha256 "refs/heads/leak-$s4") $c1" "$(sha256 refs/heads/main) $c3" "$(sha256 refs/heads/old) $c1" | sort)" "the new refs are remembered"
assert_eq "$(sqlite3 g.db .dump | grep -c "$s4")" 0 "the token in a ref name is not stored in plain"
assert_eq "$(hides)" "$c3" "new branches on old commits: nothing more to hide"
cd repo && git branch -q -D "leak-$s4" && cd ..

# --- a force-push: the new commit is walked, the old one's findings are kept
cd repo && git checkout -q -b feature "$c2" && printf 'F=%s\n' "$s5" > f.txt && git add . && gcommit dave "feature" && f1=$(git rev-parse HEAD) && cd ..
run_ferret scan --db g.db repo
assert_eq "$(counts)" "1 1 1" "feature branch: one commit"
assert_eq "$(hides)" "$(sorted "$c3" "$f1")" "feature branch: its tip hidden too"
cd repo && printf 'F=%s\n' "$s6" > f.txt && git add . && gcommit dave "feature, amended" --amend && f2=$(git rev-parse HEAD) && cd ..
run_ferret scan --db g.db repo
assert_eq "$(counts)" "1 1 1" "force-push: only the new commit walked, its blob read"
report r2.jsonl
assert_eq "$(where r2.jsonl "$s6")" "git f.txt 1 $f2 dave@example.com refs/heads/feature" "force-push: the new commit's provenance"
assert_eq "$(where r2.jsonl "$s5")" "git f.txt 1 $f1 dave@example.com refs/heads/feature" "force-push: the old commit's finding kept"
assert_eq "$(sqlite3 g.db "select oid from git_walked where kind = 'tip' and name = '$(sha256 refs/heads/feature)' order by 1")" \
  "$(printf '%s\n' "$f1" "$f2" | sort)" "force-push: the old tip is kept while its commit exists"
assert_eq "$(hides)" "$(sorted "$c3" "$f1" "$f2")" "force-push: the old tip still hidden, the new one too"

# --- a deleted branch: nothing walked, its findings kept and still counted
cd repo && git checkout -q main && git branch -q -D feature && cd ..
run_ferret scan --db g.db repo
assert_eq "$RC" 1 "deleted branch: exit 1"
assert_eq "$(counts)" "0 0 0" "deleted branch: nothing walked"
report r3.jsonl
assert_eq "$(where r3.jsonl "$s6")" "git f.txt 1 $f2 dave@example.com refs/heads/feature" "deleted branch: its finding kept"
assert_eq "$(pyjsonl r3.jsonl "len(rows)")" 6 "deleted branch: all six findings"
assert_eq "$(hides)" "$(sorted "$c3" "$f1" "$f2")" "deleted branch: its commits still hidden"

# an incremental re-scan writes only the rows that changed; rows saved under
# another rule set (a merged store's) or of a kind this version does not know
# go, as a full save drops them
repo_key=$(sqlite3 g.db "select repo from git_walked limit 1")
rh=$(sqlite3 g.db "select rules_hash from git_walked limit 1")
sqlite3 g.db "insert into git_walked values ('$repo_key', 'tip', 'x', 'y', 'other-rules');
  insert into git_walked values ('$repo_key', 'future', 'x', 'y', '$rh')"

# --- git gc: one new pack, loose objects gone; nothing is new
cd repo && git gc -q && cd ..
run_ferret scan --db g.db repo
assert_eq "$(sqlite3 g.db "select count(*) from git_walked where rules_hash <> '$rh' or kind = 'future'")" 0 \
  "gc: the other rule set's row and the unknown kind's are gone"
assert_eq "$(sqlite3 g.db "select kind, count(*) from git_walked group by kind order by 1" | tr '\n' ' ')" \
  "hide|3 pack|1 tip|4 " "gc: four tips (main, old, feature's two), three hides, the new pack"
assert_eq "$RC" 1 "gc: exit 1"
assert_eq "$(count_of "$ERR" "incremental")" 1 "gc: incremental"
assert_eq "$(counts)" "0 0 0" "gc: no commit walked, no blob read"
assert_eq "$(count_of "$ERR" "unreachable")" 0 "gc: a repacked blob is not unreachable"
assert_eq "$(sqlite3 g.db "select count(*) from git_walked where kind = 'pack'")" 1 "gc: its pack remembered"
# a commit after the gc, loose beside the pack
cd repo && printf 'G=%s\n' "$s7" > conf/g.yml && git add . && gcommit erin "after gc" && c4=$(git rev-parse HEAD) && cd ..
run_ferret scan --db g.db repo
assert_eq "$(counts)" "1 2 1" "after gc: one commit, its root and conf trees, one blob"
report r4.jsonl
assert_eq "$(where r4.jsonl "$s7")" "git conf/g.yml 1 $c4 erin@example.com refs/heads/main" "after gc: provenance"
assert_eq "$(hides)" "$(sorted "$c4" "$f1" "$f2")" "after gc: the new commit replaces its parent"

# --- a rule change: everything again
mkdir rules && cp "$FERRET_SRC/patterns/github.yml" rules/github.yml && printf '\n# changed\n' >> rules/github.yml
run_ferret scan --db g.db --rules rules repo
assert_eq "$(count_of "$ERR" "incremental")" 0 "rule change: not incremental"
assert_eq "$(count_of "$ERR" "blobs read")" 6 "rule change: all six blobs read again (the deleted branch's too: its commits are kept by the reflog)"
assert_eq "$(sqlite3 g.db "select new_findings from runs order by id desc limit 1")" 0 "rule change: no new finding"
report r5.jsonl
assert_eq "$(where r5.jsonl "$s3")" "git c.txt 1 $c3 carol@example.com refs/heads/main" "rule change: provenance as first recorded"
assert_eq "$(where r5.jsonl "$s5")" "git f.txt 1 $f1 dave@example.com refs/heads/feature" "rule change: the force-pushed commit's finding kept"
assert_eq "$(hides g.db)" "$c4" "rule change: a full walk, one tip"

# --- the hide set: tags on main's history and a merged branch are in main's
# history (not hidden), a side branch and a tag on it are (once); when a hidden
# commit is gone (its branch deleted, the reflog expired, pruned) every tip is
# hidden again, and a commit on a tag its history held is all that is walked
git init -q hs && cd hs && for i in 1 2 3; do printf 'n=%s\n' "$i" > n.txt && git add . && gcommit alice "m$i" && git tag "v$i"; done
git checkout -q -b side v2 && printf 's\n' > s.txt && git add . && gcommit bob "side" && sd=$(git rev-parse HEAD) && git tag side-tag
git checkout -q -b merged main && printf 'x\n' > x.txt && git add . && gcommit bob "merged"
git checkout -q main && git merge -q --no-ff --no-edit merged && m=$(git rev-parse HEAD)
git checkout -q -b gone v3 && printf 'g\n' > g.txt && git add . && gcommit carol "gone" && gn=$(git rev-parse HEAD) && git checkout -q main && cd ..
run_ferret scan --db hs.db hs
assert_eq "$(count_of "$ERR" "refs")" 8 "hide set: eight refs"
assert_eq "$(hides hs.db)" "$(sorted "$m" "$sd" "$gn")" "hide set: main, side (its tag the same commit) and gone; the tags and the merged branch are in main's history"
cd hs && git tag -a -m "annotated on side" side-ann "$sd" && printf 'n=4\n' > n.txt && git add . && gcommit alice "m4" && m4=$(git rev-parse HEAD) && cd ..
run_ferret scan --db hs.db hs
assert_eq "$(counts)" "1 1 1" "hide set: one new commit walked"
assert_eq "$(hides hs.db)" "$(sorted "$m4" "$sd" "$gn")" "hide set: the new commit replaces main's old tip; an annotated tag on a hidden commit adds nothing"
cd hs && git branch -q -D gone && git reflog expire --expire=now --all && git gc -q --prune=now && git cat-file -e "$gn" 2>/dev/null && echo "still there" ; git checkout -q -b after v3 && printf 'a\n' > a.txt && git add . && gcommit dave "after" && af=$(git rev-parse HEAD) && git checkout -q main && cd ..
run_ferret scan --db hs.db hs
assert_eq "$(count_of "$ERR" "incremental")" 1 "hidden commit gone: still incremental"
assert_eq "$(counts)" "1 1 1" "hidden commit gone: every tip hidden, only the new commit on v3 walked"
assert_eq "$(hides hs.db)" "" "hidden commit gone: no hide set saved (the next scan hides every tip)"
cd hs && printf 'b\n' > b.txt && git add . && gcommit dave "after 2" && cd ..
run_ferret scan --db hs.db hs
assert_eq "$(counts)" "1 1 1" "without a hide set: only the new commit walked"

# --- one new commit moving a directory and adding a file below it (its
# parent's tree marked only where the new tree asks): the moved secret's new
# path recorded with the new commit, its old one kept
git init -q mv && cd mv && mkdir -p d/e && printf 'S=%s\n' "$s1" > d/s.env && printf 'plain\n' > d/e/x.txt \
  && printf 'top\n' > top.txt && git add . && gcommit alice "one" && m1=$(git rev-parse HEAD) && cd ..
run_ferret scan --db mv.db mv
cd mv && git mv d d2 && printf 'T=%s\n' "$s2" > d2/e/t.env && printf 'top 2\n' > top.txt && git add -A \
  && gcommit bob "two" && m2=$(git rev-parse HEAD) && cd ..
run_ferret scan --db mv.db mv
assert_eq "$(count_of "$ERR" "commits") $(count_of "$ERR" "blobs read")" "1 2" "moved directory: one commit, its two new blobs"
run_ferret report --db mv.db --format jsonl --secret-hashes && printf '%s\n' "$OUT" > mv.jsonl
assert_eq "$(where mv.jsonl "$s1")" "$(printf '%s\n' "git d/s.env 1 $m1 alice@example.com refs/heads/main" "git d2/s.env 1 $m2 bob@example.com refs/heads/main" | sort)" \
  "moved directory: the secret at its new path in the new commit, its old path kept"
assert_eq "$(where mv.jsonl "$s2")" "git d2/e/t.env 1 $m2 bob@example.com refs/heads/main" "moved directory: the new file's provenance"

# --- a range: only the commits in it, labelled with its end
cd repo && git checkout -q -b pr main && printf 'P=%s\n' "$s8" > p.txt && git add . && gcommit fay "pr 1" \
  && p1=$(git rev-parse HEAD) && printf 'Q=%s\n' "$s9" > conf/q.yml && git add . && gcommit fay "pr 2" \
  && p2=$(git rev-parse HEAD) && git checkout -q main && cd ..
run_ferret scan --db rg.db --range main..pr repo
assert_eq "$RC" 1 "range: exit 1"
assert_eq "$(counts)" "2 3 2" "range: two commits, their new trees, two blobs"
run_ferret report --db rg.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > rg.jsonl
assert_eq "$(pyjsonl rg.jsonl "len(rows)")" 2 "range: only its two findings"
assert_eq "$(where rg.jsonl "$s9")" "git conf/q.yml 1 $p2 fay@example.com pr" "range: provenance"
assert_eq "$(sqlite3 rg.db "select count(*) from git_walked") $(sqlite3 rg.db "select count(*) from repos")" "0 0" "range: no state saved"
(cd repo && git checkout -q pr)
run_ferret scan --db sn.db --since "$p1" repo
assert_eq "$(counts)" "1 2 1" "--since REV: the commits after REV up to HEAD"
assert_eq "$(sqlite3 sn.db "select count(*) from findings")" 1 "--since: one finding"
run_ferret scan --db bad.db --range nosuch..pr repo
assert_eq "$RC" 2 "a range that does not resolve: exit 2"
assert_contains "$ERR" "cannot resolve the range 'nosuch..pr'" "a bad range is named"
(cd repo && git checkout -q main)

# --- a new pack whose index points outside it, after a complete scan: no
# reader follows it (the incremental scan checks new packs before reading by
# id), the run is incomplete, the pack is named
git init -q cp && cd cp && printf 'A=%s\n' "$s1" > a.env && git add . && gcommit alice "one" && cd ..
run_ferret scan --db cp.db cp
cd cp && printf 'B=%s\n' "$s2" > b.env && git add . && gcommit alice "two" && git repack -q -d && cd ..
idx=$(ls cp/.git/objects/pack/*.idx) && chmod u+w "$idx"
python3 - "$idx" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack(">I", d[8 + 255 * 4:8 + 256 * 4])[0]
d[8 + 1024 + n * 24] ^= 0x7f  # the first object's offset: far past the pack's end
open(sys.argv[1], "wb").write(d)
PY
run_ferret scan --db cp.db cp
assert_eq "$RC" 2 "corrupt new pack: an incomplete run, no crash"
assert_eq "$(sqlite3 cp.db "select count(*) from content where status = 'error' and reason like 'corrupt pack index or pack%'")" 1 "corrupt new pack: recorded once"

# --- a depth-1 clone: what it has is scanned, the boundary recorded, exit 0/1
git clone -q --depth 1 "file://$T/repo" shallow
run_ferret scan --db sh.db shallow
assert_eq "$RC" 1 "shallow: exit 1 for the findings at its tip"
assert_eq "$(sqlite3 sh.db "select status from runs")" "complete" "shallow: a complete run"
assert_eq "$(sqlite3 sh.db "select l.path || ': ' || c.reason from content c join locations l on l.content_id = c.id where c.status = 'skipped'")" \
  "$(git -C repo rev-parse main~1): shallow clone: commit $(git -C repo rev-parse main~1) (beyond the shallow boundary) and its history are not in the repository" "shallow: the boundary recorded"
assert_eq "$(printf '%s\n' "$ERR" | grep -c '^ferret: warning: 1 shallow clone: ')" 1 "shallow: one warning line"
assert_eq "$(sqlite3 sh.db "select count(*) from findings")" 4 "shallow: the four secrets of the tip's tree"
run_ferret scan --db sh2.db --strict shallow
assert_eq "$RC" 2 "shallow --strict: exit 2"
finish
