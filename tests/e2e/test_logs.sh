#!/usr/bin/env bash
# Pipeline-log sweeps end to end: GitHub Actions (zip of per-step logs), Azure
# Pipelines, GitLab CI and Jenkins logs, plain and gzipped, with decoration that
# would hide secrets (timestamps, ANSI codes, runner markers, CRLF). Asserts the
# exact member paths and original line numbers, that a second sweep reads
# nothing and records nothing twice, that an appended log is read again, and the
# scheduler exit code (--exit-on-new).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

g1=$($FAKE github 501); g2=$($FAKE github 502); g3=$($FAKE github 503); g4=$($FAKE github 504); g5=$($FAKE github 505)
mkdir -p gha/build logs
ts="2026-03-04T05:06:07.1234567Z"
printf '%s ##[group]Run actions/checkout@v4\r\n%s ##[endgroup]\r\n' "$ts" "$ts" > "gha/build/1_Set up job.txt"
# the token is split by a colour reset: only normalisation makes it whole
printf '%s ##[group]Run env\r\n%s \033[36;1mecho start\033[0m\r\n%s GITHUB_TOKEN=%s\033[0m%s\r\n' \
  "$ts" "$ts" "$ts" "${g1:0:17}" "${g1:17}" > "gha/build/2_Run tests.txt"
(cd gha && zip -q -r ../logs/logs_4242.zip build)
printf '%s ##[section]Starting: Deploy\n%s ##vso[task.setvariable variable=pat;issecret=true]%s\n' "$ts" "$ts" "$g2" > logs/azure-deploy.log
printf 'section_start:1700000000:prepare\r\033[0KPreparing\n$ git clone https://oauth2:%s@gitlab.example.com/x.git\nsection_end:1700000001:prepare\r\033[0K\n' "$g3" > logs/gitlab-job.log
gzip logs/gitlab-job.log
printf '[2026-03-04T05:06:07.123Z] Started by timer\n[2026-03-04T05:06:08.000Z] + curl -H "Authorization: token %s" https://api\n' "$g4" > logs/jenkins-console.log
printf 'bin\0ary junk %s\n' "$g5" > logs/junk.log
touch -d "2026-03-05 10:00:00 UTC" logs/jenkins-console.log
g7=$($FAKE github 507)
mkdir -p logs/jobs/deploy-prod/builds/17
printf '[2026-03-04T05:06:07.000Z] + export TOKEN=%s\n' "$g7" > logs/jobs/deploy-prod/builds/17/log

run_ferret scan --db s.db --exit-on-new logs
assert_eq "$RC" 1 "first sweep: new findings, exit 1"
run_ferret report --db s.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r1.jsonl
where() { pyjsonl r1.jsonl "'; '.join(o['path'] + ' ' + str(o['line']) for r in rows if r['secret_sha256'] == '$(sha256 "$1")' for o in r['occurrences'])"; }
assert_eq "$(where "$g1")" "logs/logs_4242.zip!build/2_Run tests.txt 3" "GitHub Actions zip member, token split by ANSI codes"
assert_eq "$(where "$g2")" "logs/azure-deploy.log 2" "Azure ##vso setvariable value"
assert_eq "$(where "$g3")" "logs/gitlab-job.log.gz!gitlab-job.log 2" "GitLab log, gzipped, section markers"
assert_eq "$(where "$g4")" "logs/jenkins-console.log 2" "Jenkins console log"
assert_eq "$(pyjsonl r1.jsonl "[o.get('mtime') for r in rows for o in r['occurrences'] if o['path']=='logs/jenkins-console.log']")" "['2026-03-05T10:00:00Z']" "file mtime in provenance"
# a NUL byte hides nothing (issue 10, defect 12): the log is scanned through its text view
assert_eq "$(where "$g5")" "logs/junk.log 1" "secret after a NUL in a .log found"
assert_eq "$(sqlite3 s.db "select count(*) from content where status != 'scanned'")" 0 "nothing skipped as binary"
ci() { pyjsonl r1.jsonl "[o.get('ci') for r in rows if r['secret_sha256'] == '$(sha256 "$1")' for o in r['occurrences']]"; }
assert_eq "$(ci "$g1")" "[{'run': '4242', 'job': 'build', 'step': 'Run tests'}]" "GitHub Actions run, job and step from the archive layout"
assert_eq "$(ci "$g7")" "[{'run': '17', 'job': 'deploy-prod'}]" "Jenkins job and build from the path"

# a Jenkins job named "builds" (defect 1: the path describer underflowed, SIGSEGV)
mkdir -p jb/jobs/builds/1 jb2/jobs/builds/builds/7
echo hi > jb/jobs/builds/1/log
run_ferret scan --db jb.db jb
assert_eq "$RC" 0 "jobs/builds/1/log (not a build log): exit 0"
assert_eq "$(sqlite3 jb.db "select count(*) from findings")" 0 "jobs/builds/1/log: no findings"
g11=$($FAKE github 511)
printf '[2026-03-04T05:06:07.000Z] + export TOKEN=%s\n' "$g11" > jb2/jobs/builds/builds/7/log
run_ferret scan --db jb2.db jb2
assert_eq "$RC" 1 "job named builds: its finding, exit 1"
run_ferret report --db jb2.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > jb2.jsonl
assert_eq "$(pyjsonl jb2.jsonl "[(r['secret_sha256'] == '$(sha256 "$g11")', o.get('ci')) for r in rows for o in r['occurrences']]")" \
  "[(True, {'run': '7', 'job': 'builds'})]" "job named builds: one finding, run 7 of job builds"

# second sweep of the unchanged directory: nothing read, nothing duplicated
run_ferret scan --db s.db --exit-on-new logs
assert_eq "$RC" 0 "second sweep: nothing new, exit 0"
assert_eq "$(count_of "$ERR" "files unchanged since the last sweep")" 6 "unchanged files not read again"
assert_eq "$(sqlite3 s.db "select items_scanned || ' ' || new_findings from runs order by id desc limit 1")" "0 0" "nothing scanned, nothing new"
run_ferret report --db s.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r2.jsonl
assert_eq "$(pyjsonl r2.jsonl "sum(len(r['occurrences']) for r in rows)")" "$(pyjsonl r1.jsonl "sum(len(r['occurrences']) for r in rows)")" "no duplicate occurrences"
run_ferret scan --db s.db logs
assert_eq "$RC" 1 "without --exit-on-new, exit 1 while the targets hold findings"

# a truncated gzip stream: recorded, the sweep goes on
mkdir -p more && cp logs/gitlab-job.log.gz more/ && head -c 100 logs/gitlab-job.log.gz > more/cut.log.gz
printf 'K=%s\n' "$($FAKE github 508)" > more/ok.log
run_ferret scan --db t.db more
assert_eq "$RC" 1 "truncated gzip: skipped, not a failure (issue 11, item 3): exit 1 for the findings"
assert_eq "$(sqlite3 t.db "select group_concat(l.path) from content c join locations l on l.content_id = c.id where c.status != 'scanned'")" "more/cut.log.gz" "truncated gzip recorded"
assert_eq "$(sqlite3 t.db "select count(*) from findings")" 2 "the other logs still scanned"

# a log that grew is read again; only the new secret is new
g6=$($FAKE github 506)
printf '[2026-03-05T11:00:00.000Z] token=%s\n' "$g6" >> logs/jenkins-console.log
run_ferret scan --db s.db --exit-on-new logs
assert_eq "$RC" 1 "appended log: a new finding"
assert_eq "$(sqlite3 s.db "select new_findings from runs order by id desc limit 1")" 1 "exactly one new finding"
run_ferret report --db s.db --new-only --format jsonl --secret-hashes
assert_eq "$(printf '%s\n' "$OUT" | pyjsonl /dev/stdin "[r['secret_sha256'] for r in rows]")" "['$(sha256 "$g6")']" "--new-only lists it"
assert_eq "$(occ <(printf '%s\n' "$OUT") "$(sha256 "$g6")" | awk '{print $2, $3}')" "logs/jenkins-console.log 3" "at the appended line"
# a log that changes while it is read: no crash, a consistent DB, and the next
# sweep reads it again (its size and mtime moved) and sees what was appended
mkdir -p live && : > live/run.log
( for i in $(seq 1 4000); do printf '%s step %d running\n' "$ts" "$i"; done >> live/run.log ) &
writer=$!
run_ferret scan --db live.db live
wait $writer
[ "$RC" -le 1 ] && ok || fail "scan of a growing log exited $RC"
assert_eq "$(sqlite3 live.db "pragma integrity_check")" ok "DB consistent"
g9=$($FAKE github 509)
printf 'late TOKEN=%s\n' "$g9" >> live/run.log
run_ferret scan --db live.db --exit-on-new live
assert_eq "$RC" 1 "the grown log is read again"
assert_not_contains "$ERR" "unchanged since the last sweep" "not taken for unchanged"

# one enormous line (60 MB, no newline; larger is skipped by the size cap, see
# test_bad_input) with the token at its very end
mkdir -p huge
python3 - huge/one-line.log "$($FAKE github 510)" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("x=" + "ab " * (60 * 1024 * 1024 // 3) + " TOKEN=" + sys.argv[2])
PY
run_ferret scan --db huge.db huge
assert_eq "$RC" 1 "a 60 MB single-line log is scanned"
assert_eq "$(sqlite3 huge.db "select line from matches")" 1 "found on its only line"

# the scheduler wrapper: new findings exit 1 with a SARIF report, then quiet
mkdir -p sweep && cp logs/azure-deploy.log sweep/
set +e
FERRET="$FERRET" bash "$FERRET_SRC/scripts/schedule/ferret-sweep.sh" "$T/w.db" sweep > w1.out 2>&1; w1=$?
FERRET="$FERRET" bash "$FERRET_SRC/scripts/schedule/ferret-sweep.sh" "$T/w.db" sweep > w2.out 2>&1; w2=$?
set -e
assert_eq "$w1:$w2" "1:0" "sweep wrapper: 1 on new findings, then 0"
assert_eq "$(ls w-new-*.sarif | wc -l)" 1 "one SARIF report of the new findings"
assert_eq "$(cat w2.out)" "" "a sweep with nothing new prints nothing"
finish
