#!/usr/bin/env bash
# Archives and compressed files, on disk and committed into git history: members
# scanned in memory with ARCHIVE!MEMBER provenance (nested), and the bad cases —
# a truncated zip, a gzip bomb (what was read is scanned), a nested bomb (one
# budget per top-level item), nesting past the depth limit, an encrypted member,
# hostile member names. Nothing is extracted to disk.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

t1=$($FAKE github 301); t2=$($FAKE github 302); t3=$($FAKE github 303); t4=$($FAKE github 304)
mkdir -p src/job tree
printf 'step 1\nexport GH=%s\n' "$t1" > src/job/step.log
(cd src && tar czf ../inner.tar.gz job)
printf 'x\ny\nK=%s\n' "$t2" > src/top.txt
(cp inner.tar.gz src/ && cd src && zip -q ../tree/outer.zip inner.tar.gz top.txt)
printf 'a\nTOKEN=%s\n' "$t3" > tree/plain.log && gzip tree/plain.log
(cd src && tar cf ../tree/bundle.tar job && tar czf ../tree/bundle.tgz top.txt)

run_ferret scan --db a.db tree
assert_eq "$RC" 1 "archives with secrets exit 1"
run_ferret report --db a.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > a.jsonl
paths() { occ a.jsonl "$(sha256 "$1")" | awk '{print $2, $3}' | sort | tr '\n' ';'; }
assert_eq "$(paths "$t1")" "tree/bundle.tar!job/step.log 2;tree/outer.zip!inner.tar.gz!job/step.log 2;" "nested member path and line"
assert_eq "$(paths "$t2")" "tree/bundle.tgz!top.txt 3;tree/outer.zip!top.txt 3;" "zip and tgz members"
assert_eq "$(paths "$t3")" "tree/plain.log.gz!plain.log 2;" "a gzip file is one member named without .gz"
[ -z "$(find . -name step.log -newer a.db)" ] && ok || fail "something was extracted to disk"

# --- committed into git history: the member carries the commit's provenance
git init -q repo && cp tree/outer.zip repo/ && cd repo && git add . && gcommit alice "add bundle" && c=$(git rev-parse HEAD) && cd ..
run_ferret scan --db g.db repo
run_ferret report --db g.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > g.jsonl
assert_eq "$(occ g.jsonl "$(sha256 "$t2")" | awk '{print $1, $2, $3, $4, $5}')" "git outer.zip!top.txt 3 $c alice@example.com" "archive member in git history"

# --- bad archives; the sweep goes on past each
mkdir bad
printf 'K=%s\n' "$t4" > bad/fine.env
head -c $(( $(stat -c %s tree/outer.zip) / 2 )) tree/outer.zip > bad/truncated.zip
python3 - bad/bomb.gz <<'PY'
import gzip, sys
with gzip.open(sys.argv[1], "wb", compresslevel=9) as f:
    block = b"A" * (1 << 20)
    for _ in range(300):
        f.write(block)
PY
printf 'deep %s\n' "$t4" > d0.txt && zip -q d1.zip d0.txt && zip -q d2.zip d1.zip && zip -q d3.zip d2.zip && zip -q bad/d4.zip d3.zip
printf 'secret in locked zip %s\n' "$t4" > locked.txt && zip -q -P hunter2 bad/encrypted.zip locked.txt
python3 - bad/names.tar "$t4" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ["../../escape.txt", "/etc/abs.txt", "ctl\x1b[31m.txt", "bad-\udcff.txt"]:
        data = f"T={sys.argv[2]}\n".encode()
        info = tarfile.TarInfo(name.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape"))
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
run_ferret scan --db b.db bad
assert_eq "$RC" 1 "a corrupt archive is skipped, not a failure: exit 1 for the findings (issue 11, item 3)"
skipped=$(sqlite3 b.db "select l.path || ' => ' || c.reason from content c join locations l on l.content_id = c.id where c.status != 'scanned' order by 1")
assert_contains "$skipped" "bad/truncated.zip => corrupt or truncated archive" "truncated zip recorded with its reason"
# a ratio hit scans what was read and says so (issue 10, defect 13a)
assert_eq "$(sqlite3 b.db "select l.path || ' => ' || c.reason from content c join locations l on l.content_id = c.id where l.path like 'bad/bomb.gz%' order by 1" \
  | sed -E 's/first [0-9]+ bytes/first N bytes/')" \
  "bad/bomb.gz => archive read in part, the rest was skipped: decompression bomb: expands more than 200 times
bad/bomb.gz!bomb => decompression bomb: expands more than 200 times: first N bytes scanned" "gzip bomb stopped by the ratio limit, read part scanned"
bomb_read=$(sqlite3 b.db "select c.size from content c join locations l on l.content_id = c.id where l.path = 'bad/bomb.gz!bomb'")
[ "$bomb_read" -gt $((1 << 20)) ] && [ "$bomb_read" -lt $((300 << 20)) ] && ok || fail "bomb member read in part: $bomb_read bytes"
assert_contains "$skipped" "bad/d4.zip!d3.zip!d2.zip!d1.zip => archive nested deeper than 3 levels" "nesting limit"
assert_contains "$skipped" "bad/encrypted.zip!locked.txt => encrypted archive member" "encrypted member skipped"
assert_eq "$(sqlite3 b.db "select count(*) from findings")" 2 "members before the damage, the fine file and the hostile-name members are scanned"
assert_contains "$(sqlite3 b.db "select group_concat(path) from locations")" "bad/truncated.zip!inner.tar.gz!job/step.log" "the member before the damage was read"
run_ferret report --db b.db --format jsonl --secret-hashes
assert_contains "$OUT" 'bad/names.tar!../../escape.txt' "relative member name shown as is"
assert_contains "$OUT" 'bad/names.tar!ctl\u001B[31m.txt' "control characters escaped in JSON"
assert_not_contains "$OUT" $'\x1b' "no raw escape in the report"
[ ! -e "$T/escape.txt" ] && [ ! -e /etc/abs.txt ] && ok || fail "a member name was used as a path"
run_ferret report --db b.db
assert_contains "$OUT" 'bad/names.tar!ctl\x1B[31m.txt' "control characters escaped in text"
assert_not_contains "$OUT" $'\x1b' "no raw escape in the text report"

# --- a nested bomb, 42.zip-style (issue 10, defect 7): 2 KB on disk, 64 zips
# of 64 tgz of a 1 MB member = 4 GB at three levels. One budget per top-level
# item, shared by every level (64 x --max-file-size = 64 MiB here), cuts it.
mkdir nb
t5=$($FAKE github 305)
sizes=$(python3 - nb/nested.tar.xz "$t5" <<'PY'
import io, sys, tarfile, zipfile
out, secret = sys.argv[1], sys.argv[2]
def tar(members, mode):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for name, data in members:
            i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 0
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
leaf = f"KEY={secret}\n".encode().ljust(1000000, b"A")
c = tar([("leaf.txt", leaf)], "w:gz")
zb = io.BytesIO()
with zipfile.ZipFile(zb, "w", zipfile.ZIP_STORED) as z:
    for i in range(64):
        z.writestr(zipfile.ZipInfo(f"c{i:02d}.tgz", (1980, 1, 1, 0, 0, 0)), c)
b = zb.getvalue()
open(out, "wb").write(tar([(f"b{i:02d}.zip", b) for i in range(64)], "w:xz"))
print(len(c), len(b))
PY
)
read -r csize bsize <<< "$sizes"
[ "$(stat -c %s nb/nested.tar.xz)" -lt 10000 ] && ok || fail "the nested bomb is small on disk"
start=$(date +%s)
run_ferret scan --db nb.db --max-file-size 1M nb
assert_eq "$RC" 1 "nested bomb: its secret found, exit 1"
[ $(( $(date +%s) - start )) -lt 60 ] && ok || fail "nested bomb took $(( $(date +%s) - start )) s"
# What the budget allows, in reading order: all of b00 (the zip, its 64 tgz, their
# members), then b01, its c00 and c01 whole, c02, and what is left of c02's member.
left=$(( (64 << 20) - (bsize + 64 * (csize + 1000000)) - bsize - 2 * (csize + 1000000) - csize ))
cause="expansion budget of the top-level item exhausted (bytes decompressed across all nesting levels)"
assert_eq "$(sqlite3 nb.db "select l.path || ' => ' || c.reason from content c join locations l on l.content_id = c.id where c.status != 'scanned' order by 1")" \
"nb/nested.tar.xz => archive read in part, the rest was skipped: $cause
nb/nested.tar.xz!b01.zip => archive read in part, the rest was skipped: $cause
nb/nested.tar.xz!b01.zip!c02.tgz => archive read in part, the rest was skipped: $cause
nb/nested.tar.xz!b01.zip!c02.tgz!leaf.txt => $cause: first $left bytes scanned
nb/nested.tar.xz!b01.zip!c03.tgz => $cause
nb/nested.tar.xz!b02.zip => $cause" "exact skip records: each level says the budget cut it"
run_ferret report --db nb.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > nb.jsonl
assert_eq "$(pyjsonl nb.jsonl "[len(r['occurrences']) for r in rows if r['secret_sha256'] == '$(sha256 "$t5")']")" "[67]" \
  "the secret in 64 + 2 whole members and the part read of the third"
assert_eq "$(sqlite3 nb.db "select bytes_scanned <= (64 << 20) + 2000 from runs")" 1 "work bounded by the budget"
finish
