#!/usr/bin/env bash
# Content is not failure (issue 11, item 3): a corrupt archive, a truncated
# gzip and an encrypted member committed to history are recorded as skipped
# with their reason, what can be read of them is scanned (the raw bytes of a
# corrupt archive, the decompressed start of a truncated stream), and the run
# is complete: exit 1 for the findings, a one-line warning with the count.
# --strict turns the skips into exit 2.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

t1=$($FAKE github 1101); t2=$($FAKE github 1102); t3=$($FAKE github 1103); t4=$($FAKE github 1104)
git init -q repo && cd repo
printf 'GH=%s\n' "$t1" > app.env && git add . && gcommit alice "config"
c1=$(git rev-parse HEAD)
# a gzip stream cut before its end: the token is in the part that decompresses
python3 - cut.log.gz "$t2" <<'PY'
import gzip, random, sys
random.seed(7)
noise = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789 \n") for _ in range(200000))
data = gzip.compress(f"start\nK={sys.argv[2]}\n{noise}".encode(), 9)
open(sys.argv[1], "wb").write(data[: len(data) // 2])
PY
# zip magic, then garbage: no archive reader opens it, its bytes hold a token
printf 'PK\003\004\377\377garbage\nKEY=%s\n' "$t3" > broken.zip
printf 'locked %s\n' "$t4" > locked.txt && zip -q -P hunter2 encrypted.zip locked.txt && rm locked.txt
git add . && gcommit bob "artifacts"
c2=$(git rev-parse HEAD)
cd ..

run_ferret scan --db g.db repo
assert_eq "$RC" 1 "damaged content is not a failure: exit 1 for the findings"
assert_eq "$(count_of "$ERR" "skipped")" "4" "the summary counts the four skips"
assert_eq "$(count_of "$ERR" "failed")" "0" "nothing failed"
assert_eq "$(printf '%s\n' "$ERR" | grep -c '^ferret: warning: 4 items skipped or read in part')" 1 "one warning line"
assert_eq "$(sqlite3 g.db "select status from runs")" "complete" "the run is complete"
assert_eq "$(sqlite3 g.db "select l.path || ' => ' || c.status || ': ' || c.reason from content c join locations l on l.content_id = c.id where c.status != 'scanned' order by 1")" \
"broken.zip => skipped: corrupt or truncated archive: unreadable header
cut.log.gz => skipped: corrupt or truncated archive: truncated gzip input
cut.log.gz!cut.log => skipped: corrupt or truncated archive member: truncated gzip input: first $(sqlite3 g.db "select size from content where status = 'skipped' and size > 0 and key like 'partial:%'") bytes scanned
encrypted.zip!locked.txt => skipped: encrypted archive member" "each skip recorded with its reason"
run_ferret report --db g.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > g.jsonl
assert_eq "$(pyjsonl g.jsonl "len(rows)")" 3 "three findings: the file, the truncated stream's start, the corrupt archive's raw bytes"
assert_eq "$(occ g.jsonl "$(sha256 "$t1")" | awk '{print $1, $2, $3, $4, $5}')" "git app.env 1 $c1 alice@example.com" "finding elsewhere"
assert_eq "$(occ g.jsonl "$(sha256 "$t2")" | awk '{print $1, $2, $3, $4, $5}')" "git cut.log.gz!cut.log 2 $c2 bob@example.com" "truncated gzip: its readable start scanned"
assert_eq "$(occ g.jsonl "$(sha256 "$t3")" | awk '{print $1, $2, $3, $4, $5}')" "git broken.zip 2 $c2 bob@example.com" "corrupt archive: raw bytes scanned"
assert_eq "$(occ g.jsonl "$(sha256 "$t4")")" "" "the encrypted member's secret is not readable"

run_ferret scan --db s.db --strict repo
assert_eq "$RC" 2 "--strict: skipped content exits 2"
assert_eq "$(count_of "$ERR" "skipped")" "4" "--strict: the same four skips"
run_ferret scan --db q.db --quiet repo
assert_eq "$RC" 1 "--quiet: exit 1"
assert_eq "$ERR" "" "--quiet: no warning"

# an archive with an empty member (delivered as content, not as unread)
mkdir em && : > em/empty.txt && printf 'T=%s\n' "$t1" > em/full.txt && tar cf em.tar -C em empty.txt full.txt
run_ferret scan --db em.db em.tar
assert_eq "$RC" 1 "an empty member: exit 1"
assert_eq "$(sqlite3 em.db "select count(*) from content where status = 'scanned' and size = 0")" 1 "the empty member is scanned content"

# the same files on disk: the same skips, the same exit
cp -r repo tree && rm -rf tree/.git
run_ferret scan --db f.db tree
assert_eq "$RC" 1 "on disk: exit 1"
assert_eq "$(sqlite3 f.db "select count(*) from content where status = 'skipped'")" 4 "on disk: four skips"
assert_eq "$(sqlite3 f.db "select count(*) from findings")" 3 "on disk: three findings"
finish
