#!/usr/bin/env bash
# Packs as real repositories have them (issue 11, item 1): deep delta chains,
# several packs with the same objects in more than one, loose objects, a
# multi-pack-index, an alternate object store, and a corrupt delta. Every blob
# is read exactly once (one content row per blob id, the summary's count equal
# to git's own count of blobs) or recorded as an error; never a crash.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok1=$($FAKE github 301)
tok2=$($FAKE github 302)
tok3=$($FAKE github 303)
tok4=$($FAKE github 304)
tok5=$($FAKE github 305)
blobs_of() { git -C "$1" cat-file --batch-all-objects --batch-check='%(objecttype)' | grep -c '^blob$'; }
git_rows() { sqlite3 "$1" "select count(*) from content where key like 'git:%'"; }
found() { sqlite3 "$1" "select count(*) from findings where secret_sha256 = '$(sha256 "$2")'"; }

# --- deep chains: 150 versions of one file, each changing one more line, the
# token added at version 37; repacked with --depth=250 --window=250.
git init -q deep && cd deep
for i in $(seq 1 150); do
  seq 1 300 | awk -v i="$i" '{ print ($1 <= i ? "changed " $1 * 7919 % 1000003 : $1) }' > big.txt
  if [ "$i" -ge 37 ]; then printf 'key = "%s"\n' "$tok1" >> big.txt; fi
  git add big.txt && gcommit alice "v$i"
done
git repack -q -adf --depth=250 --window=250
depth=$(git verify-pack -v .git/objects/pack/*.idx | awk '$1 == "chain" && $2 == "length" { d = $4 + 0 } END { print d }')
cd ..
[ "$depth" -ge 10 ] && ok || fail "deep: chains $depth deep"
run_ferret scan --db deep.db deep
assert_eq "$RC" 1 "deep: findings"
assert_eq "$(count_of "$ERR" "blobs read")" "$(blobs_of deep)" "deep: every blob read"
assert_eq "$(git_rows deep.db)" "$(blobs_of deep)" "deep: one content row per blob"
assert_eq "$(found deep.db "$tok1")" 1 "deep: the token, once"
# the token is in versions 37 to 150 (114 distinct blobs), on line 301 of
# big.txt; version 37 is the commit that introduced the first of them
"$FERRET" report --db deep.db --format jsonl > deep.jsonl || true
v37=$(git -C deep log --format=%H --grep='^v37$')
assert_eq "$(pyjsonl deep.jsonl "len(rows[0]['occurrences'])")" 114 "deep: one occurrence per version"
assert_eq "$(pyjsonl deep.jsonl "[str(o['line']) + ' ' + o['path'] for o in rows[0]['occurrences'] if o['commit'] == '$v37']")" "['301 big.txt']" "deep: version 37, line 301"

# --- several packs (one holding everything again), loose objects, a midx
git init -q multi && cd multi
printf 'A=%s\n' "$tok1" > a.env && seq 1 500 > filler.txt && git add . && gcommit alice one
git repack -q -ad
printf 'B=%s\n' "$tok2" > b.env && seq 1 510 > filler.txt && git add . && gcommit bob two
git repack -q -d
# a third pack with every object again: each blob is in two packs
git rev-list --objects --all | git pack-objects -q .git/objects/pack/pack > /dev/null
printf 'C=%s\n' "$tok3" > c.env && git add . && gcommit carol three # loose
git multi-pack-index write
cd ..
assert_eq "$(ls multi/.git/objects/pack/*.pack | wc -l)" 3 "multi: three packs"
[ -f multi/.git/objects/pack/multi-pack-index ] && ok || fail "multi: a multi-pack-index"
run_ferret scan --db multi.db multi
assert_eq "$RC" 1 "multi: findings"
assert_eq "$(count_of "$ERR" "blobs read")" "$(blobs_of multi)" "multi: every blob read once"
assert_eq "$(git_rows multi.db)" "$(blobs_of multi)" "multi: one content row per blob"
for t in "$tok1" "$tok2" "$tok3"; do assert_eq "$(found multi.db "$t")" 1 "multi: each token once"; done

# --- an alternate object store: the borrowed history is scanned with the own
git clone -q --shared multi alt
cd alt && printf 'D=%s\n' "$tok4" > d.env && git add . && gcommit dave four && git repack -q -d && cd ..
[ -s alt/.git/objects/info/alternates ] && ok || fail "alt: borrows objects"
run_ferret scan --db alt.db alt
assert_eq "$RC" 1 "alt: findings"
assert_eq "$(count_of "$ERR" "blobs read")" "$(blobs_of alt)" "alt: every blob read once"
for t in "$tok1" "$tok2" "$tok3" "$tok4"; do assert_eq "$(found alt.db "$t")" 1 "alt: each token once"; done

# --- a corrupt delta: one leaf delta (no other delta built on it) gets a byte
# of its zlib stream flipped. That one blob is recorded as an error (exit 2),
# the rest of the history is still read and its tokens found.
cp -r deep broken
cd broken
printf 'K=%s\n' "$tok5" > other.env && git add . && gcommit erin other && git repack -q -ad --depth=250 --window=250
read -r leaf off < <(git verify-pack -v .git/objects/pack/*.idx | awk '
  NF == 7 && $2 == "blob" { base[$7] = 1; d[$1] = $5 }
  END { for (x in d) if (!(x in base)) { print x, d[x]; exit } }')
cd ..
[ -n "$leaf" ] && ok || fail "broken: a leaf delta"
python3 - broken/.git/objects/pack/*.pack "$off" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
d = bytearray(open(p, "rb").read())
i = off
while d[i] & 0x80: i += 1   # the size varint
i += 1
while d[i] & 0x80: i += 1   # the base distance
i += 1
d[i + 4] ^= 0x55            # inside the zlib stream
open(p, "wb").write(d)
PY
run_ferret scan --db broken.db broken
assert_eq "$RC" 2 "broken: an incomplete run"
assert_eq "$(sqlite3 broken.db "select count(*) from content where status = 'error' and key = 'git:$leaf'")" 1 "broken: the leaf recorded as an error"
assert_eq "$(sqlite3 broken.db "select count(*) from content where status = 'error' and key like 'git:%'")" 1 "broken: only the leaf"
assert_eq "$(git_rows broken.db)" "$(blobs_of broken)" "broken: every blob recorded once"
assert_eq "$(found broken.db "$tok5")" 1 "broken: the other token"
assert_eq "$(found broken.db "$tok1")" 1 "broken: the chain's token"

finish
