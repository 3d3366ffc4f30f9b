#!/usr/bin/env bash
# Reports for people (issue 15, item 3): filters (--rule, --severity, --status,
# --repo, --path, --since/--until on the introduction date, --validated), the
# severity-then-date order, the text report grouped per secret (spread line,
# the first 5 locations, --all-locations), --summary (text and JSON), --color
# and NO_COLOR, and the JSON Schemas of schemas/ checked against real output.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

# commit_on DIR DATE MESSAGE: a commit with the given author and committer date
commit_on() {
  (cd "$1" && git add . && GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=bob@example.com GIT_AUTHOR_DATE="$2" \
    GIT_COMMITTER_NAME=CI GIT_COMMITTER_EMAIL=ci@example.com GIT_COMMITTER_DATE="$2" git commit -q -m "$3")
}
g1=$($FAKE github 901) g2=$($FAKE github 902) g3=$($FAKE github 903) s1=$($FAKE sas 904)
git init -q r
printf 'A=%s\n' "$g1" > r/a.env && commit_on r 2025-03-01T10:00:00Z one
printf 'url: %s\n' "$s1" > r/s.yml && commit_on r 2025-06-15T10:00:00Z two
for i in 1 2 3 4 5 6 7; do mkdir -p "r/d$i" && printf 'B=%s\n' "$g2" > "r/d$i/x.env"; done
commit_on r 2026-01-10T10:00:00Z three
git init -q r2
printf 'C=%s\n' "$g3" > r2/z.env && commit_on r2 2025-09-01T10:00:00Z four
run_ferret scan --db d.db r r2
assert_eq "$RC" 1 "four findings"

# names of findings, in report order: g1 g2 g3 by secret, s1 by its rule
names() {
  "$FERRET" report --db d.db --format jsonl --secret-hashes "$@" > n.jsonl || true
  python3 - n.jsonl "$(sha256 "$g1")" "$(sha256 "$g2")" "$(sha256 "$g3")" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {sys.argv[2]: "g1", sys.argv[3]: "g2", sys.argv[4]: "g3"}
print(" ".join(by.get(r["secret_sha256"], "s1" if r["rule"] == "azure.sas-token" else "?") for r in rows))
PY
}
assert_eq "$(names)" "g2 g3 g1 s1" "default order: severity, then the newest introduction first"
rule_order=$(python3 -c "import sys; print(' '.join(n for _, n in sorted([('$(sha256 "$g1")','g1'),('$(sha256 "$g2")','g2'),('$(sha256 "$g3")','g3')])))")
assert_eq "$(names --sort rule)" "s1 $rule_order" "--sort rule: rule id, then secret hash"
assert_eq "$(names --rule 'azure.*')" "s1" "--rule glob"
assert_eq "$(names --rule 'azure.sas-token,github.*')" "g2 g3 g1 s1" "--rule list of globs"
assert_eq "$(names --severity critical)" "g2 g3 g1" "--severity critical"
assert_eq "$(names --severity high)" "g2 g3 g1 s1" "--severity high: at least high"
assert_eq "$(names --repo '*/r2')" "g3" "--repo glob"
assert_eq "$(names --path 'd*/x.env')" "g2" "--path glob"
assert_eq "$(pyjsonl n.jsonl "[len(r['occurrences']) for r in rows]")" "[7]" "--path: the matching occurrences"
assert_eq "$(names --path 'd1/*')" "g2" "--path one directory"
assert_eq "$(pyjsonl n.jsonl "[o['path'] for r in rows for o in r['occurrences']]")" "['d1/x.env']" "--path: only that occurrence"
assert_eq "$(names --since 2025-06)" "g2 g3 s1" "--since a month"
assert_eq "$(names --until 2025-06-15)" "g1 s1" "--until includes its day"
assert_eq "$(names --since 2025-04-01 --until 2025-12-31)" "g3 s1" "--since and --until"
assert_eq "$(names --validated)" "g2 g3 g1" "--validated: checksum-validated tokens only"
assert_eq "$(names --severity critical --repo '*/r' --since 2026)" "g2" "filters combine"
assert_eq "$(pyjsonl n.jsonl "[r['introduced'] for r in rows]")" "['2026-01-10T10:00:00Z']" "introduced: the commit's author date"
run_ferret report --db d.db --severity urgent
assert_eq "$RC" 2 "a bad severity is an error"
run_ferret report --db d.db --since yesterday
assert_eq "$RC" 2 "a bad date is an error"
run_ferret report --db d.db --status closed
assert_eq "$RC" 2 "a bad status is an error"
run_ferret report --db d.db --rule nothing.here
assert_eq "$RC" 0 "no finding selected: exit 0"

# the text report: one block per secret, the first 5 locations, the rest counted
run_ferret report --db d.db --path 'd*/x.env'
printf '%s\n' "$OUT" > t.txt
assert_eq "$(grep -c '^    at  ' t.txt)" 5 "5 locations shown"
assert_eq "$(grep -c "" t.txt)" 11 "header, secret, spread, 5 locations, the rest, a blank line and the count: 11 lines"
assert_eq "$(sed -n 3p t.txt)" "    spread  introduced 2026-01-10T10:00:00Z; 7 locations, 1 commit, 7 paths, 1 repository" "the spread line"
assert_eq "$(sed -n 9p t.txt)" "    ...     2 more locations (--all-locations)" "the rest counted"
run_ferret report --db d.db --path 'd*/x.env' --all-locations
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^    at  ')" 7 "--all-locations: all 7"
assert_not_contains "$OUT" "more location" "--all-locations: nothing left"
run_ferret report --db d.db
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^    at  ')" 8 "the whole report: 8 location lines for 4 secrets (10 occurrences)"
assert_eq "$(printf '%s\n' "$OUT" | tail -1)" "4 findings" "the count line"
assert_not_contains "$OUT" "$(sha256 "$g1")" "no secret hash in the text report"

# --summary: exact text, then JSON
"$FERRET" triage --db d.db "$(pyjsonl <("$FERRET" report --db d.db --format jsonl --rule 'azure.*') "rows[0]['id']")" --status accepted > /dev/null
run_ferret report --db d.db --summary
assert_eq "$RC" 1 "summary of findings: exit 1"
expected="4 findings

by severity
         3  critical
         1  high

by rule
         3  github.pat
         1  azure.sas-token

by repository
         3  $T/r
         1  $T/r2

by status
         3  open
         1  accepted

by kind
         4  secret"
assert_eq "$OUT" "$expected" "the text summary"
run_ferret report --db d.db --summary --format json --severity critical
printf '%s\n' "$OUT" > sum.json
assert_eq "$(python3 -c "import json; d = json.load(open('sum.json')); print(d['findings'], d['by_severity'], d['by_status'], d['by_repository'])")" \
  "3 {'critical': 3} {'open': 3} {'$T/r': 2, '$T/r2': 1}" "JSON summary with a filter"
run_ferret report --db d.db --summary --status open --format jsonl
assert_eq "$(printf '%s\n' "$OUT" | grep -c '')" 1 "JSONL summary: one line"
# Repositories per finding: g1 and g3 again in a third repository (same blobs,
# and g1 in a new file too). The summary reads them from the indexes, or from
# every location when it has a date bound: both agree, filter by filter.
git init -q r3
printf 'A=%s\n' "$g1" > r3/a.env && printf 'C=%s\n' "$g3" > r3/z.env && printf 'AA=%s\n' "$g1" > r3/b.env
commit_on r3 2025-10-01T10:00:00Z five
run_ferret scan --db d2.db r r2 r3
run_ferret report --db d2.db --summary --format json
assert_eq "$(printf '%s' "$OUT" | python3 -c "import json, sys; d = json.load(sys.stdin); print(d['findings'], sorted(d['by_repository'].items()))")" \
  "4 [('$T/r', 3), ('$T/r2', 1), ('$T/r3', 2)]" "summary: a finding counts once per repository it is in"
set -f # (the globs are ferret's)
for f in "" "--repo *r3" "--path d1/*" "--path *.env" "--severity critical" "--status open" "--rule github.*" \
  "--repo *r2 --severity high" "--kind indicator"; do
  # shellcheck disable=SC2086
  fast=$("$FERRET" report --db d2.db --summary --format json $f || true)
  # shellcheck disable=SC2086
  slow=$("$FERRET" report --db d2.db --summary --format json $f --since 1970 || true)
  assert_eq "$fast" "$slow" "summary ${f:-(no filter)}: the indexes and the locations agree"
done
set +f
assert_eq "$("$FERRET" report --db d2.db --summary --format json --repo '*r3' | python3 -c "import json, sys; d = json.load(sys.stdin); print(d['findings'], d['by_repository'])")" \
  "2 {'$T/r3': 2}" "summary --repo: the findings seen there"
assert_eq "$("$FERRET" report --db d2.db --summary --format json --path 'd1/*' | python3 -c "import json, sys; d = json.load(sys.stdin); print(d['findings'], d['by_repository'], d['by_rule'])")" \
  "1 {'$T/r': 1} {'github.pat': 1}" "summary --path: only findings with a location there, counted there"

# --color: always (even with NO_COLOR), never; auto is off when not on a terminal
run_ferret report --db d.db --color always
assert_contains "$OUT" $'\033[1;31m[critical]' "--color always colours severities"
run_ferret report --db d.db --color never
assert_not_contains "$OUT" $'\033[' "--color never"
run_ferret report --db d.db
assert_not_contains "$OUT" $'\033[' "auto, not a terminal: no colour"
if command -v script > /dev/null; then
  NO_COLOR= script -qec "$FERRET report --db $T/d.db --rule 'azure.*'" /dev/null > tty.txt || true
  assert_contains "$(cat tty.txt)" $'\033[31m[high]' "auto on a terminal: colour"
  NO_COLOR=1 script -qec "$FERRET report --db $T/d.db --rule 'azure.*'" /dev/null > tty2.txt || true
  assert_not_contains "$(cat tty2.txt)" $'\033[31m' "auto on a terminal with NO_COLOR: none"
fi

# the JSON Schemas hold for what ferret writes
"$FERRET" report --db d.db --format jsonl > all.jsonl || true
"$FERRET" report --db d.db --format json > all.json || true
"$FERRET" report --db d.db --summary --format json > sum.json || true
"$FERRET" triage --db d.db --export tri.json 2> /dev/null
"$FERRET" report --db d.db --format jsonl --no-secret-hashes > nohash.jsonl || true
"$FERRET" report --db d.db --format jsonl --secret-hashes > hash.jsonl || true
"$FERRET" report --db d.db --format json --secret-hashes > hash.json || true
# a bare hash of a secret only when asked for (it confirms a guessed weak secret)
assert_eq "$(grep -c secret_sha256 all.jsonl all.json || true)" "all.jsonl:0
all.json:0" "by default: no bare hash of a secret in JSON or JSONL"
assert_eq "$(cmp nohash.jsonl all.jsonl && echo same)" same "--no-secret-hashes: the default, accepted"
assert_eq "$(pyjsonl hash.jsonl "sorted(r['secret_sha256'] for r in rows if r['rule'] != 'azure.sas-token')")" \
  "$(printf '%s\n' "$(sha256 "$g1")" "$(sha256 "$g2")" "$(sha256 "$g3")" | sort | python3 -c 'import sys; print(sorted(l.strip() for l in sys.stdin))')" \
  "--secret-hashes: each finding's bare hash"
assert_eq "$(pyjsonl hash.jsonl "[r['id'] for r in rows]")" "$(pyjsonl all.jsonl "[r['id'] for r in rows]")" "--secret-hashes: the same findings, same order"
assert_eq "$(python3 -c 'import json,sys; print(sum(1 for f in json.load(open(sys.argv[1])) if len(f["secret_sha256"]) == 64))' hash.json)" 4 "--format json --secret-hashes: every finding's hash"
printf 'version: 1\nexclude: [vendor/]\ndisable: [generic.*]\nseverity: {github.pat: low}\nallowlist: {values: [x], regexes: ["^t"], paths: [docs/]}\nrules:\n  aws.key: {allowlist: {paths: [a/]}, disable: true}\nbaseline:\n  - {id: 0123456789ab, reason: r, expires: "2030-01-01"}\n' > cfg.yml
python3 - "$FERRET_SRC/schemas" <<'PY' && ok || fail "schema validation"
import json, sys, yaml, jsonschema
d = sys.argv[1]
rep = json.load(open(d + "/report.schema.json"))
jsonschema.Draft202012Validator.check_schema(rep)
v = jsonschema.Draft202012Validator(rep)
lines = [json.loads(l) for l in open("all.jsonl") if l.strip()]
assert len(lines) == 4, len(lines)
for l in lines:
    v.validate(l)
for l in open("hash.jsonl"):
    v.validate(json.loads(l))
arr = json.load(open("all.json"))
assert isinstance(arr, list) and len(arr) == 4
for f in arr:
    v.validate(f)
summary = dict(rep["$defs"]["summary"], **{"$defs": rep["$defs"]})
jsonschema.Draft202012Validator(summary).validate(json.load(open("sum.json")))
tri = json.load(open(d + "/triage.schema.json"))
jsonschema.Draft202012Validator(tri).validate(json.load(open("tri.json")))
cfg = json.load(open(d + "/ferret-config.schema.json"))
jsonschema.Draft202012Validator(cfg).validate(yaml.safe_load(open("cfg.yml")))
# and a wrong document is refused (the schemas are not vacuous)
bad = dict(lines[0]); bad["format_version"] = 2
assert not v.is_valid(bad)
PY
run_ferret scan --db cfg.db --config cfg.yml r2
assert_eq "$RC" 1 "the schema-valid sample config loads: one finding"
run_ferret report --db cfg.db --format jsonl
assert_eq "$(pyjsonl <(printf '%s\n' "$OUT") "[r['severity'] for r in rows]")" "['low']" "with its severity override"

# Over 2,048 findings, JSONL and text are made on two threads in batches: the
# same findings, in the same order and with the same content as the JSON
# report (made on one thread), and the text lists them in that order too.
mkdir -p empty && run_ferret scan --db many.db empty
python3 "$FERRET_SRC/tests/tools/synth_store.py" many.db 6000 9000 --repos 7
"$FERRET" report --db many.db --format json > many.json || true
"$FERRET" report --db many.db --format jsonl > many.jsonl || true
"$FERRET" report --db many.db > many.txt || true
assert_eq "$(python3 - many.json many.jsonl many.txt <<'PY'
import json, re, sys
a = json.load(open(sys.argv[1]))
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ids = re.findall(r"  id (\S+)  ", open(sys.argv[3]).read())
print(len(a), a == b, ids == [r["id"] for r in a], sum(len(r["occurrences"]) for r in b))
PY
)" "6000 True True 9000" "6,000 findings: JSONL and text (two threads) as JSON (one)"
assert_eq "$(tail -1 many.txt)" "6000 findings" "the text report's count"
# One CPU (FERRET_REPORT_THREADS=1): the same batches made on one thread, each
# written when made (not the whole report held in memory first): same bytes.
FERRET_REPORT_THREADS=1 "$FERRET" report --db many.db --format jsonl > one.jsonl || true
FERRET_REPORT_THREADS=1 "$FERRET" report --db many.db > one.txt || true
assert_eq "$(cmp -s one.jsonl many.jsonl && cmp -s one.txt many.txt && echo same)" "same" \
  "6,000 findings on one thread: JSONL and text as on two"
# A report that cannot be written (a full device) is an error, exit 2, said
# so, in every format (on one thread and on two).
if [ -w /dev/full ]; then
  for fmt in text json jsonl sarif html; do
    for th in 1 2; do
      set +e
      FERRET_REPORT_THREADS=$th "$FERRET" report --db many.db --format $fmt > /dev/full 2> full.err
      rc=$?
      set -e
      assert_eq "$rc $(cat full.err)" "2 ferret: error: cannot write the report" \
        "$fmt ($th thread(s)) to a full device"
    done
  done
fi
finish
