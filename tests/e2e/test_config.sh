#!/usr/bin/env bash
# .ferret.yml (issue 15, item 2): path exclusions (gitignore syntax, negation),
# global and per-rule allowlists by value, regex and path, disabled rules,
# severity overrides, a baseline with reasons and expiry; found at the scanned
# root or given with --config; errors as FILE:LINE. Exact finding sets from the
# JSONL report.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok() { $FAKE github "$1"; }
keep=$(tok 801) vend=$(tok 802) vkeep=$(tok 803) docs=$(tok 804) val=$(tok 805) rx=$(tok 806)
rulev=$(tok 807) sas=$($FAKE sas 808) old=$(tok 809) gone=$(tok 810)
mkdir -p tree/src tree/vendor/lib tree/docs tree/test
printf 'A=%s\n' "$keep" > tree/src/app.env
printf 'A=%s\n' "$vend" > tree/vendor/lib/x.env
printf 'A=%s\n' "$vkeep" > tree/vendor/ours.env
printf 'A=%s\n' "$docs" > tree/docs/guide.md
printf 'A=%s\nB=%s\nC=%s\n' "$val" "$rx" "$rulev" > tree/test/fixture.env
printf 'url: %s\n' "$sas" > tree/src/storage.yml
printf 'A=%s\nB=%s\n' "$old" "$gone" > tree/src/legacy.env

found() { "$FERRET" report --db "$1" --format jsonl --secret-hashes --sort rule > r.jsonl || true; python3 - r.jsonl "$2" <<'PY'
import json, sys, hashlib
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = dict(x.split("=", 1) for x in sys.argv[2].split())
by = {hashlib.sha256(v.encode()).hexdigest(): k for k, v in names.items()}
print(" ".join(sorted(by.get(r["secret_sha256"], r["rule"]) for r in rows)))
PY
}
ALL="keep=$keep vend=$vend vkeep=$vkeep docs=$docs val=$val rx=$rx rulev=$rulev old=$old gone=$gone"

# without a config: everything
run_ferret scan --db plain.db tree
assert_eq "$(found plain.db "$ALL")" "azure.sas-token docs gone keep old rulev rx val vend vkeep" "no config: ten findings"
run_ferret report --db plain.db --format jsonl --secret-hashes
oldid=$(pyjsonl <(printf '%s\n' "$OUT") "[r['id'] for r in rows if r['secret_sha256'] == '$(sha256 "$old")'][0]")
goneid=$(pyjsonl <(printf '%s\n' "$OUT") "[r['id'] for r in rows if r['secret_sha256'] == '$(sha256 "$gone")'][0]")

cat > tree/.ferret.yml <<EOF
version: 1
exclude:
  - vendor/
  - "!vendor/ours.env"
disable: [azure.*]
severity:
  github.pat: low
allowlist:
  values: ["$val"]
  regexes: ["${rx: -8}\$"]
  paths: ["docs/**"]
rules:
  github.pat:
    allowlist:
      values: ["$rulev"]
baseline:
  - id: $oldid
    reason: rotated in 2025, history kept
  - {id: $goneid, reason: expired entry, expires: 2020-01-01}
EOF
run_ferret scan --db c.db --key plain.db.key tree
assert_eq "$RC" 1 "config: open findings remain"
scanerr=$ERR
assert_eq "$(found c.db "$ALL")" "gone keep old vkeep" "excluded, allowlisted and disabled findings are not recorded"
run_ferret report --db c.db --format jsonl --secret-hashes --sort rule
printf '%s\n' "$OUT" > c.jsonl
assert_eq "$(pyjsonl c.jsonl "sorted(set(r['severity'] for r in rows))")" "['low']" "severity override recorded"
assert_eq "$(pyjsonl c.jsonl "[(r['status'], r.get('triage', {}).get('comment')) for r in rows if r['id'] == '$oldid']")" \
  "[('baselined', 'rotated in 2025, history kept')]" "baselined with its reason"
assert_eq "$(pyjsonl c.jsonl "[r['status'] for r in rows if r['id'] == '$goneid']")" "['open']" "an expired baseline entry does not apply"
assert_eq "$(count_of "$scanerr" "of them open")" 3 "the baselined finding is not open"
assert_eq "$(sqlite3 c.db "SELECT count(*) FROM baseline")" 2 "the baseline is in the store"

# the baseline survives a re-scan, a rule-set change and a merge
run_ferret scan --db c.db --key plain.db.key --full tree
assert_eq "$RC" 1 "full re-scan: open findings remain"
run_ferret report --db c.db --format jsonl --secret-hashes
assert_eq "$(pyjsonl <(printf '%s\n' "$OUT") "sorted((r['id'] == '$oldid', r['status']) for r in rows)")" \
  "[(False, 'open'), (False, 'open'), (False, 'open'), (True, 'baselined')]" "baselined after a full re-scan, the rest open"
mkdir rules
sed 's/^\(  *description: \).*/\1changed for the test/' "$FERRET_SRC/patterns/github.yml" > rules/github.yml
run_ferret scan --db c.db --key plain.db.key --rules rules tree
assert_eq "$(sqlite3 c.db "SELECT count(DISTINCT rules_hash) FROM runs")" 2 "the scan ran under another rule set"
run_ferret report --db c.db --format jsonl --secret-hashes
assert_eq "$(pyjsonl <(printf '%s\n' "$OUT") "[r['status'] for r in rows if r['id'] == '$oldid']")" "['baselined']" "baselined after a rule-set change"
run_ferret merge --db m.db --key plain.db.key c.db
assert_eq "$RC" 0 "merge"
run_ferret report --db m.db --key plain.db.key --format jsonl --secret-hashes
assert_eq "$(pyjsonl <(printf '%s\n' "$OUT") "[r['status'] for r in rows if r['id'] == '$oldid']")" "['baselined']" "baselined after a merge"

# the baseline without other changes: removing an entry from the file removes it from the store
sed -i "/$oldid/,+1d" tree/.ferret.yml
run_ferret scan --db c.db --key plain.db.key tree
assert_eq "$(sqlite3 c.db "SELECT count(*) FROM baseline")" 1 "the baseline follows the file"

# --config names another file (paths relative to the scanned root); --no-config ignores .ferret.yml
printf 'exclude: ["src/"]\n' > other.yml
run_ferret scan --db o.db --config other.yml tree
assert_eq "$(found o.db "$ALL")" "docs rulev rx val vend vkeep" "--config: src/ excluded"
run_ferret scan --db n.db --no-config tree
assert_eq "$(found n.db "$ALL")" "azure.sas-token docs gone keep old rulev rx val vend vkeep" "--no-config: everything"

# errors: FILE:LINE, exit 2, nothing scanned
printf 'version: 1\nexclude: [a]\nexclud: [b]\n' > bad1.yml
run_ferret scan --db e.db --config bad1.yml tree
assert_eq "$RC" 2 "unknown setting: exit 2"
assert_contains "$ERR" "bad1.yml:3: unknown setting 'exclud'" "unknown setting at its line"
printf 'allowlist:\n  regexes: ["a(b"]\n' > bad2.yml
run_ferret scan --db e.db --config bad2.yml tree
assert_contains "$ERR" "bad2.yml:2: regex 'a(b'" "a bad regex at its line"
printf 'baseline:\n  - id: nope\n' > bad3.yml
run_ferret scan --db e.db --config bad3.yml tree
assert_contains "$ERR" "bad3.yml:2: baseline id 'nope'" "a bad baseline id at its line"
printf 'a: &x [1]\nb: *x\n' > bad4.yml
run_ferret scan --db e.db --config bad4.yml tree
assert_contains "$ERR" "bad4.yml:1: YAML anchors and aliases are not allowed" "no anchors"
printf 'severity: {github.pat: urgent}\n' > bad5.yml
run_ferret scan --db e.db --config bad5.yml tree
assert_contains "$ERR" "bad5.yml:1: severity of 'github.pat'" "a bad severity"
printf 'exclude: [\n' > bad6.yml
run_ferret scan --db e.db --config bad6.yml tree
assert_contains "$ERR" "bad6.yml:2: YAML syntax error" "a syntax error at its line"
assert_eq "$(sqlite3 e.db "SELECT count(*) FROM findings" 2>/dev/null || echo 0)" 0 "nothing recorded by failed scans"

# a git repository: its root's .ferret.yml excludes by path inside the history
git init -q g
(cd g && mkdir -p fixtures && printf 'A=%s\n' "$keep" > app.env && printf 'A=%s\n' "$vend" > fixtures/f.env &&
  printf 'exclude: [fixtures/]\n' > .ferret.yml && git add . && gcommit bob "with config")
run_ferret scan --db g.db g
assert_eq "$(found g.db "$ALL")" "keep" "git: the excluded path's secret is not recorded"
finish
