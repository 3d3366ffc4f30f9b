#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium from Debian, driven
# through chromedriver by tests/tools/browser.py): one self-contained file (no
# network reference, nothing but inline script and style), redacted (no secret,
# no SHA-256 of one); rendered DOM checked against the JSONL report of the same
# store by tests/tools/html_check.py — exact counts of rows, chart bars and
# filter results, sorting, provenance in the detail view, layout at a wide and
# a narrow window, no console error — then the same at 50,000 findings, where
# only the rows in view are rendered and sorting and filtering stay fast.
# KEEP=DIR: copy the pages and the checks' output there (for a look at a failure).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
CHECK="python3 $FERRET_SRC/tests/tools/html_check.py"

# Two repositories and a directory: findings of three families and three
# severities, introduced in three different months, one of them triaged, and a
# threat indicator in a workflow (the kind filter and mark).
GIT_TICK=0
mk() { # mk REPO FILE CONTENT DAYS: commits FILE in REPO, authored DAYS days in
  [ -d "$1" ] || git init -q "$1"
  GIT_TICK=$(($4 * 1440))
  printf '%s\n' "$3" > "$1/$2"
  (cd "$1" && git add "$2" && gcommit "dev$4" "add $2")
}
secrets=()
for i in 1 2 3; do secrets+=("$($FAKE github 80$i)"); done
sas1=$($FAKE sas 811) sas2=$($FAKE sas 812)
pem1=$($FAKE pem 821)
mk alpha a1.cfg "token = ${secrets[0]}" 3
mk alpha a2.cfg "url = $sas1" 40
mk alpha a3.cfg "token = ${secrets[1]}" 75
mk beta b1.cfg "token = ${secrets[2]}" 45
# a path and an author that try to close the page's <script> element
mkdir -p 'beta/dir<'
GIT_TICK=$((80 * 1440))
printf '%s\n' "$pem1" > 'beta/dir</script>.pem'
(cd beta && git add . && gcommit '</script><script>document.title="pwned"</script>' "add a key")
mkdir -p files && printf 'storage = %s\n' "$sas2" > files/app.env
# a threat indicator: a workflow step that switches shell history off
mkdir -p alpha/.github/workflows
printf 'on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: unset HISTFILE; make\n' > alpha/.github/workflows/ci.yml
GIT_TICK=$((20 * 1440))
(cd alpha && git add .github && gcommit dev20 "add ci")
run_ferret scan --db h.db alpha beta files
assert_eq "$RC" 1 "scan: findings"
run_ferret report --db h.db --format jsonl
printf '%s\n' "$OUT" > h.jsonl
n=$(grep -c '' h.jsonl)
assert_eq "$n" 7 "seven findings (one a threat indicator)"
fid=$(pyjsonl h.jsonl "[r['id'] for r in rows if r['rule'].startswith('azure')][0]")
run_ferret triage --db h.db "$fid" --status revoked --comment "rotated"
assert_eq "$RC" 0 "triage: one finding revoked ($ERR)"
run_ferret report --db h.db --format jsonl
printf '%s\n' "$OUT" > h.jsonl
assert_eq "$(pyjsonl h.jsonl "sum(r['status'] == 'revoked' for r in rows)")" 1 "one revoked"

run_ferret report --db h.db --format html --output h.html
assert_eq "$RC" 1 "html report: findings, exit 1"
assert_eq "$ERR" "" "html report: nothing on stderr"
# Self-contained and redacted.
assert_eq "$(grep -c -i -E '<(script|img|iframe|link|source)[^>]* (src|href)="?(https?:|//)' h.html)" 0 "no external resource"
assert_eq "$(grep -o -E 'https?://[^"<> ]*' h.html | sort -u | tr '\n' ' ')" "http://www.w3.org/2000/svg " \
  "the only URL is the SVG namespace"
assert_eq "$(grep -c -F "default-src 'none'" h.html)" 1 "a content security policy that forbids loading anything"
for s in "${secrets[@]}" "$sas1" "$sas2"; do
  assert_eq "$(grep -c -F -e "$s" -e "$(sha256 "$s")" h.html)" 0 "no secret and no hash of one in the page"
done
assert_eq "$(grep -c -F -e "$(printf '%s\n' "$pem1" | sed -n 2p)" h.html)" 0 "no line of the private key in the page"

assert_eq "$(grep -c -F '</script><script>' h.html)" 0 "the hostile author name is escaped"
$CHECK small h.html h.jsonl "$T" > check.txt 2>&1 || true
[ -n "${KEEP:-}" ] && cp h.html h.jsonl check.txt "$KEEP"/
assert_eq "$(grep -c '^FAIL' check.txt)" 0 "browser checks ($(grep -v '^ok' check.txt | head -20 | tr '\n' '|'))"
assert_eq "$(grep -c '^ok' check.txt)" 81 "browser checks run ($(grep -c '' check.txt) lines)"

# The data deflated (as a large report's is: zlib in base64, inflated by the
# page with DecompressionStream): the same data, still redacted, and the same
# page in the browser.
DATA="python3 $FERRET_SRC/tests/tools/html_data.py"
assert_eq "$($DATA h.html --kind)" json "a small report's data is plain JSON"
FERRET_HTML_DEFLATE=1 run_ferret report --db h.db --format html --output hz.html
assert_eq "$RC" 1 "deflated html report: findings, exit 1"
assert_eq "$($DATA hz.html --kind)" deflate "FERRET_HTML_DEFLATE=1: the data deflated"
$DATA h.html > h.data.json
$DATA hz.html > hz.data.json
assert_eq "$(python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
a.pop("generated"); b.pop("generated")
print(a == b, b["n"])' h.data.json hz.data.json)" "True 7" "the deflated data is the plain data"
for s in "${secrets[@]}" "$sas1" "$sas2"; do
  assert_eq "$(grep -c -F -e "$s" -e "$(sha256 "$s")" hz.data.json)" 0 "no secret and no hash of one in the inflated data"
done
assert_eq "$(grep -c -F '</script>' hz.data.json)" 0 "the inflated data is escaped for a script element too"
$CHECK small hz.html h.jsonl "$T" > checkz.txt 2>&1 || true
[ -n "${KEEP:-}" ] && cp hz.html checkz.txt "$KEEP"/
assert_eq "$(grep -c '^FAIL' checkz.txt)" 0 "browser checks, deflated data ($(grep -v '^ok' checkz.txt | head -20 | tr '\n' '|'))"
assert_eq "$(grep -c '^ok' checkz.txt)" 81 "browser checks run, deflated data ($(grep -c '' checkz.txt) lines)"
# the page says so when its data cannot be read (base64 that is not, a deflate
# stream cut short), without an uncaught error
sed -E 's/(id="ferret-data">)[A-Za-z0-9]/\1@/' hz.html > hbad1.html
sed -E 's/(id="ferret-data">[A-Za-z0-9+\/]{8})[A-Za-z0-9+\/]*/\1/' hz.html > hbad2.html
for p in hbad1 hbad2; do
  $CHECK broken $p.html - "$T" > $p.txt 2>&1 || true
  assert_eq "$(grep -c '^FAIL' $p.txt)" 0 "$p: unreadable data ($(grep -v '^ok' $p.txt | head -5 | tr '\n' '|'))"
  assert_eq "$(grep -c '^ok' $p.txt)" 4 "$p: checks run"
done

# 50,000 findings (60,000 occurrences): the page stays responsive.
mkdir empty
run_ferret scan --db big.db empty
python3 "$FERRET_SRC/tests/tools/synth_store.py" big.db 50000 60000 --repos 12
run_ferret report --db big.db --format html --output big.html
assert_eq "$RC" 1 "html report of 50,000 findings"
assert_eq "$($DATA big.html --kind)" deflate "50,000 findings: the data deflated"
assert_eq "$($DATA big.html | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["n"], len(d["fid"]), len(set(d["fid"])))')" \
  "50000 50000 50000" "the inflated data holds 50,000 findings"
$CHECK scale big.html big.db "$T" > scale.txt 2>&1 || true
[ -n "${KEEP:-}" ] && cp big.html scale.txt "$KEEP"/
grep '^info' scale.txt || true
assert_eq "$(grep -c '^FAIL' scale.txt)" 0 "browser checks at 50,000 findings ($(grep -v '^ok' scale.txt | head -20 | tr '\n' '|'))"
assert_eq "$(grep -c '^ok' scale.txt)" 33 "browser checks at 50,000 findings run ($(grep -c '' scale.txt) lines)"
finish
