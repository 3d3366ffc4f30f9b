#!/usr/bin/env bash
# Git-specific bad input, each scanned on its own and then all together: not a
# repository, a shallow clone, a partial clone with missing blobs, a missing and
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
assert_eq "$RC" 2 "shallow clone: incomplete run"
assert_eq "$(status s.db)" incomplete "shallow clone run incomplete"
assert_contains "$(sqlite3 s.db "select reason from content where status='skipped'")" "shallow clone" "shallow boundary recorded"
assert_eq "$(sqlite3 s.db "select count(*) from findings")" 2 "secrets at the shallow tip still found"

# --- partial clone with missing blobs
git clone -q --filter=blob:none --no-checkout "file://$T/src" partial
run_ferret scan --db p.db partial
assert_eq "$RC" 2 "partial clone: incomplete run"
assert_eq "$(sqlite3 p.db "select group_concat(distinct reason) from content where status='error'")" "blob not present locally (partial clone)" "missing blobs explained"

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

# --- a corrupt pack index (issue 10, defect 2): flipped bytes in the offset
# table, the fanout and the 64-bit offset table of one pack; another pack holds
# the newer history. Never a crash. An index that points outside its pack is
# never followed (libgit2 would: it crashes): the pack is recorded unreadable
# with what only it holds. One whose offsets stay inside leaves its objects to
# libgit2, which reads what it can by id and reports the rest.
git init -q twopacks && cd twopacks
printf 'T=%s\n' "$tok" > a.env && git add . && gcommit alice one
git repack -q -a -d
old_idx=$(ls .git/objects/pack/*.idx)
# the same pack indexed again with 64-bit offsets for every entry past 100 bytes
git index-pack --index-version=2,100 -o "$T/large.idx" "${old_idx%.idx}.pack" > /dev/null
printf 'U=%s\n' "$tok2" > b.env && git add . && gcommit alice two
git repack -q -d
cd ..
assert_eq "$(ls twopacks/.git/objects/pack/*.idx | wc -l)" 2 "two packs"
run_ferret scan --db 2p.db twopacks
assert_eq "$RC" 1 "intact packs: findings"
assert_eq "$(sqlite3 2p.db "select count(*) from findings")" 2 "intact packs: both secrets"
# flipidx NAME OFFSET-EXPR MASK [IDX]: a copy of twopacks with one byte of the
# old pack's index (or of IDX put in its place) xor-ed with MASK; OFFSET-EXPR
# sees n (objects) and offs / large (where those tables start)
flipidx() {
  rm -rf "$1" && cp -r twopacks "$1"
  local idx="$1/.git/objects/pack/$(basename "$old_idx")"
  chmod u+w "$idx"
  if [ -n "${4:-}" ]; then cp "$4" "$idx"; fi
  python3 - "$idx" "$2" "$3" <<'PY'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
n = struct.unpack(">I", d[8 + 255 * 4:8 + 256 * 4])[0]
offs = 8 + 1024 + n * 24
large = offs + n * 4
assert large < len(d) - 40 or "large" not in sys.argv[2]
at = eval(sys.argv[2])
d[at] ^= int(sys.argv[3], 16)
open(p, "wb").write(d)
PY
}
# corrupt_case NAME FINDINGS ERRORS PACK-RECORDS: scan the copy; exact counts
# of findings, unreadable things, and records naming the pack itself
corrupt_case() {
  run_ferret scan --db "$1.db" "$1"
  assert_eq "$RC" 2 "$1: an incomplete run"
  assert_eq "$(status "$1.db")" incomplete "$1: run recorded incomplete"
  assert_eq "$(sqlite3 "$1.db" "select count(*) from findings")" "$2" "$1: findings"
  assert_eq "$(sqlite3 "$1.db" "select count(*) from findings where secret_sha256 = '$(sha256 "$tok2")'")" 1 "$1: the intact pack's secret"
  assert_eq "$(sqlite3 "$1.db" "select count(*) from content where status='error'")" "$3" "$1: unreadable things recorded"
  assert_eq "$(sqlite3 "$1.db" "select count(*) from content where status='error' and reason like 'corrupt pack index or pack (%): none of its objects are read'")" "$4" "$1: the pack itself recorded"
}
# entry 0 moved ~1 GiB past the pack: not followed; the pack, its commit and
# its blob are unreadable, the other pack's secret is found
flipidx offhigh offs+1 40
corrupt_case offhigh 1 3 1
# a 64-bit offset ~2^40 past the pack: the same
flipidx largeoff large+3 7f "$T/large.idx"
corrupt_case largeoff 1 3 1
# the last entry moved by a byte, still inside: libgit2 reads both secrets and
# reports the one object it cannot read
flipidx offlow "offs+4*(n-1)+3" 01
corrupt_case offlow 2 1 0
assert_contains "$ERR" "corrupt pack index (" "offlow: the ahead scan says it left the pack"
# a fanout that decreases: libgit2 refuses the index itself; the commit and
# blob only it holds are reported
flipidx fanout 8+4*200 01
corrupt_case fanout 1 2 0

# --- text after a NUL in a commit or tag message (issue 10, defect 12), and a
# path name with a newline (defect 14): all of it is scanned. git refuses NULs
# in messages, so those objects are written by hand.
tok3=$($FAKE github 203)
tok4=$($FAKE github 204)
tok5=$($FAKE github 205)
git init -q oddtext && cd oddtext
echo plain > p.txt && git add . && gcommit alice base
c=$( (printf 'tree %s\nparent %s\nauthor a <a@x> 1767225600 +0000\ncommitter a <a@x> 1767225600 +0000\n\nsubject\n' \
  "$(git rev-parse 'HEAD^{tree}')" "$(git rev-parse HEAD)"; printf 'x\0 key %s\n' "$tok3") |
  git hash-object -t commit -w --stdin --literally)
git update-ref refs/heads/main "$c"
t=$( (printf 'object %s\ntype commit\ntag nul\ntagger a <a@x> 1767225600 +0000\n\nrelease\n' "$c"
  printf '\0 key %s\n' "$tok4") | git hash-object -t tag -w --stdin --literally)
git update-ref refs/tags/nul "$t"
printf 'clean\n' > "$(printf 'dir\n%s' "$tok5")"
git add . && gcommit alice "odd path"
cd ..
run_ferret scan --db odd.db oddtext
assert_eq "$RC" 1 "NULs and newlines: findings"
run_ferret report --db odd.db --format jsonl
printf '%s\n' "$OUT" > odd.jsonl
assert_eq "$(pyjsonl odd.jsonl "len(rows)")" 3 "three findings"
# where FILE SECRET KEYS...: the listed fields of each occurrence of one secret
where() {
  local f=$1 sha=$2
  shift 2
  python3 - "$f" "$sha" "$@" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["secret_sha256"] == sys.argv[2]:
        print([[o.get(k) for k in sys.argv[3:]] for o in r["occurrences"]])
PY
}
assert_eq "$(where odd.jsonl "$(sha256 "$tok3")" source path commit)" "[['git-message', '<commit message>', '$c']]" "after a NUL in a commit message"
assert_eq "$(where odd.jsonl "$(sha256 "$tok4")" source path ref)" "[['git-message', '<tag message: nul>', 'refs/tags/nul']]" "after a NUL in a tag message"
assert_eq "$(where odd.jsonl "$(sha256 "$tok5")" source)" "[['git-path']]" "in a path name after a newline"

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
