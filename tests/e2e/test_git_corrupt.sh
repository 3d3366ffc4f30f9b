#!/usr/bin/env bash
# Corrupt pack indexes and text git tools would not write (issue 10, defects 2,
# 12 and 14). Apart from test_git_bad so that the ASan build runs it with the
# default (fast) unwinder: that test needs the slow one for a libgit2 leak.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 201)
tok2=$($FAKE github 202)
status() { sqlite3 "$1" "select status from runs order by id desc limit 1"; }

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
# the same wild index in an ALTERNATE (a --shared clone reads the packs of its
# source): checked like the repository's own, never followed
tok6=$($FAKE github 206)
git clone -q --shared twopacks shared
(cd shared && printf 'V=%s\n' "$tok6" > c.env && git add . && gcommit alice three)
echo "$T/offhigh/.git/objects" > shared/.git/objects/info/alternates
run_ferret scan --db alt.db shared
assert_eq "$RC" 2 "alternate: an incomplete run"
assert_eq "$(sqlite3 alt.db "select count(*) from findings")" 2 "alternate: the intact pack's and the clone's own secret"
assert_eq "$(sqlite3 alt.db "select count(*) from findings where secret_sha256 in ('$(sha256 "$tok2")', '$(sha256 "$tok6")')")" 2 "alternate: which secrets"
assert_eq "$(sqlite3 alt.db "select count(*) from content where status='error' and reason like 'corrupt pack index or pack (%): none of its objects are read'")" 1 "alternate: its pack recorded"
assert_eq "$(sqlite3 alt.db "select count(*) from content where status='error'")" 3 "alternate: the pack, its commit and its blob unreadable"

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
run_ferret report --db odd.db --format jsonl --secret-hashes
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

finish
