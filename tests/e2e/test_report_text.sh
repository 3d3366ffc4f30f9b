#!/usr/bin/env bash
# The text report of a location without a path: an unreachable blob (written
# with `git hash-object -w`, referenced by no commit) has an empty path, which
# once printed whatever the heap held after "repo: " (an unterminated buffer).
# Asserts the exact "at" line, byte for byte, and the exact line count (the
# text report groups per secret: header, secret, one location, a blank line).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 601)
git init -q r
(cd r && echo hi > README && git add README && gcommit alice "initial")
blob=$(printf 'TOKEN=%s\n' "$tok" | git -C r hash-object -w --stdin)
run_ferret scan --db d.db r
assert_eq "$RC" 1 "the unreachable blob's token is found"
run_ferret report --db d.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r.jsonl
assert_eq "$(occ r.jsonl "$(sha256 "$tok")")" "git-unreachable - 1 - - - - $T/r" "one location: the unreachable blob, no path"
run_ferret report --db d.db
assert_eq "$RC" 1 "report: findings, exit 1"
printf '%s\n' "$OUT" > r.txt
assert_eq "$(grep -c '' r.txt)" 5 "text report: rule line, secret line, one location, a blank line, the count"
# compared as bash strings: every byte but NUL (fputs stops there anyway)
assert_eq "$(sed -n 3p r.txt)" "    at      $T/r: :1:7" \
  "the location line is exactly 'repo: :line:column', no stray bytes (blob $blob)"

# A zip that is not a CI log download (issue 15, item 6): a text file in
# "bundle 1.zip" once got an invented CI run "1" (and its name as the job).
# A download's layout ("logs_<run>.zip" holding "<job>/<n>_<step>.txt") still
# tells run, job and step.
tz=$($FAKE github 602)
tl=$($FAKE github 603)
mkdir z
python3 - "$tz" "$tl" <<'PY'
import sys, zipfile
with zipfile.ZipFile("z/bundle 1.zip", "w") as z:
    z.writestr("notes.txt", "TOKEN=%s\n" % sys.argv[1])
with zipfile.ZipFile("z/logs_77.zip", "w") as z:
    z.writestr("build/2_Run tests.txt", "TOKEN=%s\n" % sys.argv[2])
PY
run_ferret scan --db z.db z
assert_eq "$RC" 1 "the zipped tokens are found"
run_ferret report --db z.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > z.jsonl
assert_eq "$(pyjsonl z.jsonl "[(o['path'], o.get('ci')) for r in rows if r['secret_sha256'] == '$(sha256 "$tz")' for o in r['occurrences']]")" \
  "[('z/bundle 1.zip!notes.txt', None)]" "no CI metadata for a text file in any zip"
assert_eq "$(pyjsonl z.jsonl "[o.get('ci') for r in rows if r['secret_sha256'] == '$(sha256 "$tl")' for o in r['occurrences']]")" \
  "[{'run': '77', 'job': 'build', 'step': 'Run tests'}]" "a log download's run, job and step"
# A secret holding a backslash: the store keeps secrets and previews escaped
# once (a backslash doubled, as JSON and JSONL print them); the text report
# printed them escaped a second time (one backslash of the secret as four).
pw=$(python3 -c 'import secrets,string; a=string.ascii_letters; r=lambda k: "".join(secrets.choice(a) for _ in range(k)); print("R" + "\\" + ":Z" + r(18) + "7q")')
mkdir b
printf 'web1 ansible_password=%s\n' "$pw" > b/hosts.ini
run_ferret scan --db b.db --store-secrets b
assert_eq "$RC" 1 "the password with a backslash is found"
esc=${pw//\\/\\\\}
run_ferret report --db b.db --show-secrets
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^    secret  ')" 1 "one secret line"
assert_eq "$(printf '%s\n' "$OUT" | sed -n 's/^    secret  \([^ ]*\)  .*/\1/p')" "$esc" \
  "the text report shows the secret's backslash escaped once (two characters), not twice"
run_ferret report --db b.db --format jsonl --show-secrets
printf '%s\n' "$OUT" > b.jsonl
assert_eq "$(pyjsonl b.jsonl "[r['secret'] for r in rows]")" "$(python3 -c 'import sys; print([sys.argv[1]])' "$esc")" \
  "JSONL's secret is the same stored form"
run_ferret report --db b.db
assert_eq "$(printf '%s\n' "$OUT" | sed -n 's/^    secret  \([^ ]*\)  .*/\1/p')" 'R\\:Z****7q' \
  "the preview's backslash escaped once"
finish
