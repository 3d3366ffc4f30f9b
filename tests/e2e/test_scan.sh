#!/usr/bin/env bash
# Filesystem scan end to end: planted secrets found with exact provenance,
# dedup across files, ferret:allow, symlinks out of the tree not followed,
# binary and non-UTF-8 content, exit codes, thread-count independence, and
# the JSONL / JSON / SARIF / text report contracts.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 1)
tok2=$($FAKE github 2)
sas=$($FAKE sas 3)
sig=${sas#*sig=}
mkdir -p tree/a/b outside
printf 'line one\nexport GITHUB_TOKEN=%s\n' "$tok" > tree/a/.env
printf '# same token twice in another file\n\n\nx = "%s"  y = "%s"\n' "$tok" "$tok" > tree/a/b/app.py
printf 'upload: %s\n' "$sas" > tree/pipeline.yml
printf 'ok = "%s" # ferret:allow\n' "$tok2" > tree/allowed.py
printf 'caf\xe9 = "%s"\n' "$tok2" > tree/latin1.txt
printf 'bin\0ary %s\n' "$tok" > tree/blob.bin
printf 'TOKEN=%s\n' "$($FAKE github 9)" > outside/secret.env
ln -s ../outside tree/link-out
weird=$(printf 'tree/we\x01ird-\xff.env')
printf 'K=%s\n' "$($FAKE github 4)" > "$weird"

run_ferret scan --db f.db tree
assert_eq "$RC" 1 "scan with findings exits 1"
assert_contains "$ERR" "complete run 1" "summary line"
[ "$(stat -c %a f.db)" = 600 ] && ok || fail "DB mode is $(stat -c %a f.db), want 600"

run_ferret report --db f.db --format jsonl --secret-hashes
assert_eq "$RC" 1 "report with findings exits 1"
printf '%s\n' "$OUT" > r.jsonl
h=$(sha256 "$tok")
assert_eq "$(pyjsonl r.jsonl "len(rows)")" 4 "four unique findings (tok, sas, latin1 tok2, weird)"
assert_eq "$(pyjsonl r.jsonl "[r['rule'] for r in rows if r['secret_sha256']=='$h'][0]")" github.pat "token found by rule"
assert_eq "$(pyjsonl r.jsonl "sorted((o['path'],o['line'],o['column']) for r in rows if r['secret_sha256']=='$h' for o in r['occurrences'])")" \
  "[('tree/a/.env', 2, 21), ('tree/a/b/app.py', 4, 6), ('tree/a/b/app.py', 4, 54), ('tree/blob.bin', 1, 9)]" "occurrences with exact line and column (after a NUL byte too)"
assert_eq "$(pyjsonl r.jsonl "[r['rule'] for r in rows if r['secret_sha256']=='$(sha256 "$sig")'][0]")" azure.sas-token "SAS signature fingerprinted"
assert_eq "$(pyjsonl r.jsonl "[o['path'] for r in rows if r['secret_sha256']=='$(sha256 "$tok2")' for o in r['occurrences']]")" "['tree/latin1.txt']" "non-UTF-8 file scanned, allow line suppressed"
assert_contains "$(pyjsonl r.jsonl "[o['path'] for r in rows for o in r['occurrences']]")" 'we\\x01ird-\\xFF.env' "invalid path bytes shown escaped"
assert_not_contains "$OUT" "$tok" "no plaintext in JSONL"
assert_not_contains "$OUT" "secret.env" "symlink out of the tree not followed"
if grep -qa -- "$tok" f.db f.db-wal 2>/dev/null; then fail "plaintext secret in the DB"; else ok; fi

# a NUL byte hides nothing (issue 10, defect 12): blob.bin is scanned, not skipped
assert_eq "$(sqlite3 f.db "select count(*) from content where status != 'scanned'")" 0 "nothing skipped as binary"

# the same scan with one thread gives the same findings
run_ferret scan --db f1.db --threads 1 tree
run_ferret report --db f1.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r1.jsonl
assert_eq "$(pyjsonl r1.jsonl "sorted((r['rule'],r['secret_sha256'],len(r['occurrences'])) for r in rows)")" \
  "$(pyjsonl r.jsonl "sorted((r['rule'],r['secret_sha256'],len(r['occurrences'])) for r in rows)")" "threads do not change results"

# re-scanning is idempotent: no duplicate occurrences
run_ferret scan --db f.db tree
run_ferret report --db f.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r2.jsonl
assert_eq "$(pyjsonl r2.jsonl "sum(len(r['occurrences']) for r in rows)")" "$(pyjsonl r.jsonl "sum(len(r['occurrences']) for r in rows)")" "re-scan adds no occurrences"
run_ferret report --db f.db --new-only --format jsonl --secret-hashes
assert_eq "$RC" 0 "nothing new in the second run"

# offline validation: the generator's CRC32 is independent of ferret's
good=$($FAKE github 31); bad="${good:0:39}$( [ "${good:39:1}" = A ] && echo B || echo A)"
mkdir -p val && printf 'A=%s\nB=%s\n' "$good" "$bad" > val/t.env
run_ferret scan --db val.db val
run_ferret report --db val.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > val.jsonl
assert_eq "$(pyjsonl val.jsonl "[r['validated'] for r in rows if r['secret_sha256']=='$(sha256 "$good")']")" "['checksum']" "a token with a valid CRC32 is validated"
assert_eq "$(pyjsonl val.jsonl "[r['validated'] for r in rows if r['secret_sha256']=='$(sha256 "$bad")']")" "['none']" "a corrupted checksum is not"
run_ferret report --db val.db
assert_contains "$OUT" "validated: checksum" "text report shows validation"
jwt=$(python3 -c 'import base64, json, os
e = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
print(e(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + e(json.dumps({"sub": "ci"}).encode() + b" " * 8) + "." + e(os.urandom(32)))')
printf 'Authorization: Bearer %s\n' "$jwt" > val/jwt.txt
run_ferret scan --db val2.db val/jwt.txt
run_ferret report --db val2.db --format jsonl --secret-hashes
assert_eq "$(printf '%s\n' "$OUT" | pyjsonl /dev/stdin "[(r['rule'], r['validated']) for r in rows]")" "[('jwt.token', 'structure')]" "a JWT's header is validated as structure"

# JSON array and SARIF are valid and complete
run_ferret report --db f.db --format json --secret-hashes
printf '%s' "$OUT" > r.json
assert_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' r.json)" 4 "JSON array holds every finding"
run_ferret report --db f.db --format sarif --output r.sarif
python3 - r.sarif "$h" r.json <<'PY' && ok || fail "SARIF structure"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0" and "sarif-2.1.0" in d["$schema"]
assert sys.argv[2] not in open(sys.argv[1]).read()  # keyed fingerprints, no bare SHA-256
fid = [f["id"] for f in json.load(open(sys.argv[3])) if f["secret_sha256"] == sys.argv[2]][0]
# each run lists the rules its results use, and only those
ids = {r["id"] for run in d["runs"] for r in run["tool"]["driver"]["rules"]}
assert ids == {"github.pat", "azure.sas-token"}, ids
res = [r for run in d["runs"] for r in run["results"] if r["partialFingerprints"]["ferretFindingId/v1"] == fid]
assert len(res) == 4, res  # .env, app.py twice, blob.bin after its NUL
loc = res[0]["locations"][0]["physicalLocation"]
assert loc["region"]["startLine"] >= 1 and loc["artifactLocation"]["uri"].startswith("tree/")
assert loc["artifactLocation"]["uriBaseId"] == "SRCROOT"
assert all(r["ruleId"] in ids and r["level"] == "error" for r in res)
PY
assert_not_contains "$(cat r.sarif)" "$tok" "no plaintext in SARIF"

# plaintext only on explicit request
run_ferret scan --db s.db --store-secrets tree/a
run_ferret report --db s.db --format jsonl --secret-hashes
assert_not_contains "$OUT" "$tok" "stored secret not shown without --show-secrets"
run_ferret report --db s.db --format jsonl --secret-hashes --show-secrets
assert_contains "$OUT" "\"secret\":\"$tok\"" "--show-secrets shows it"
run_ferret report --db s.db
assert_contains "$OUT" "ghp_****" "text report shows the redacted preview"
assert_contains "$OUT" "tree/a/.env:2:21" "text report shows path:line:column"

# A UTF-16 guess hides no ASCII (review item 3): a BOM before an ASCII token and
# one NUL, 4 KiB of UTF-16LE text before an ASCII token, and genuine UTF-16LE
# holding a token: one finding each, at its line.
u1=$($FAKE github 21)
u2=$($FAKE github 22)
u3=$($FAKE github 23)
mkdir u16
python3 - "$u1" "$u2" "$u3" <<'PY'
import sys
u1, u2, u3 = sys.argv[1:]
open("u16/bom.txt", "wb").write(b"\xff\xfeTOKEN=" + u1.encode() + b"\n\0")
open("u16/after.txt", "wb").write("\ufeff" .encode("utf-16-le") +
    ("some UTF-16 text\n" * 128).encode("utf-16-le") + b"TOKEN=" + u2.encode() + b"\n")
open("u16/wide.txt", "wb").write(("line one\nTOKEN=" + u3 + "\n").encode("utf-16-le"))
PY
run_ferret scan --db u.db u16
assert_eq "$RC" 1 "UTF-16-looking files: findings"
run_ferret report --db u.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > u.jsonl
assert_eq "$(pyjsonl u.jsonl "sorted((o['path'], o['line']) for r in rows for o in r['occurrences'] if r['secret_sha256'] in ('$(sha256 "$u1")', '$(sha256 "$u2")', '$(sha256 "$u3")'))")" \
  "[('u16/after.txt', 129), ('u16/bom.txt', 1), ('u16/wide.txt', 2)]" "each token found once, at its line"
assert_eq "$(pyjsonl u.jsonl "len(rows)")" 3 "three findings, nothing else"
# ... and in the pre-receive hook
git init -q --bare u16.git
bash "$FERRET_SRC/scripts/install-hook.sh" --ferret "$FERRET" u16.git > /dev/null
git init -q u16w && cp u16/*.txt u16w/ && (cd u16w && git add . && gcommit alice "utf-16")
set +e
PO=$(git -C u16w push "$T/u16.git" HEAD:refs/heads/main 2>&1)
PRC=$?
set -e
assert_eq "$PRC" 1 "the hook rejects the UTF-16-looking files"
assert_eq "$(printf '%s\n' "$PO" | grep '^remote: ferret: SECRET ' | grep -o '[a-z]*\.txt line [0-9]*' | sort | tr '\n' ' ')" \
  "after.txt line 129 bom.txt line 1 wide.txt line 2 " "one finding per file, at its line"

# a clean tree exits 0, from another directory, with no rule flags
mkdir clean && echo "nothing here" > clean/readme.txt
(cd / && "$FERRET" scan --quiet --db "$T/c.db" "$T/clean" > "$T/q.out" 2>&1) && ok || fail "clean scan should exit 0"
assert_eq "$(cat q.out)" "" "--quiet prints nothing"
finish
