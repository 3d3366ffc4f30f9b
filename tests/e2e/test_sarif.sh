#!/usr/bin/env bash
# SARIF for GitHub code scanning: validated against the official SARIF 2.1.0
# schema (tests/schemas, Debian's python3-jsonschema), and checked against what
# code scanning needs, exactly: one run per repository with the commit it
# describes; a result per finding and place at HEAD, its region recomputed
# (end included, columns in UTF-16 code units past an 'é' and an emoji);
# history-only findings without a location (history in relatedLocations, a
# commit message in properties, no invented URI); archive members located at
# the archive; unique keyed fingerprints; rule help; invocations saying an
# incomplete scan is incomplete; the 25,000-results cap with its note; no
# secret or bare SHA-256 of one anywhere in the file.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
PY=/usr/bin/python3 # Debian's, with python3-jsonschema (scripts/install-deps.sh)
"$PY" -c 'import jsonschema' || { fail "python3-jsonschema is not installed (scripts/install-deps.sh)"; finish; }

a=$($FAKE github 701) b=$($FAKE github 702) c=$($FAKE github 703) d=$($FAKE github 704) e=$($FAKE github 705)
u=$($FAKE github 706)

git init -q r
cd r
printf '# settings\nname = "x"\nlabel = "é😀"; token = "%s"\n\nbackup = "%s"\n' "$a" "$a" > config.py
printf 'old = "%s"\n' "$a" > old.txt
printf 'gone = "%s"\n' "$b" > gone.txt
git add config.py old.txt gone.txt && gcommit alice "initial"
c1=$(git rev-parse HEAD)
git rm -q old.txt gone.txt && gcommit bob "remove the old files"
gcommit carol "rotate: the old one was $c"
head=$(git rev-parse HEAD)
printf 'lost = "%s"\n' "$u" | git hash-object -w --stdin > /dev/null # reachable from no commit
cd "$T"
mkdir -p d/inner
printf 'key: %s\n' "$d" > d/app.yml
printf 'x = 1\ny = "%s"\n' "$e" > d/inner/x.txt
(cd d && zip -q -r b.zip inner && rm -rf inner)

run_ferret scan --db s.db r d
assert_eq "$RC" 1 "scan: findings"
run_ferret report --db s.db --format sarif --output out.sarif
assert_eq "$RC" 1 "sarif report: findings, exit 1"
assert_eq "$ERR" "" "sarif report: nothing on stderr"

# Validation against the official schema.
"$PY" - "$FERRET_SRC/tests/schemas/sarif-schema-2.1.0.json" out.sarif > v.txt 2>&1 <<'PY' || true
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
errs = sorted(jsonschema.Draft4Validator(schema).iter_errors(json.load(open(sys.argv[2]))), key=str)
for e in errs[:5]:
    print(list(e.absolute_path), e.message[:300])
print("errors", len(errs))
PY
assert_eq "$(tail -1 v.txt)" "errors 0" "valid against the SARIF 2.1.0 schema ($(head -3 v.txt))"

# No plaintext, no bare hash of a secret.
for s in "$a" "$b" "$c" "$d" "$e" "$u"; do
  assert_eq "$(grep -c -F -e "$s" -e "$(sha256 "$s")" -e "$(sha256 "$s" | cut -c1-16)" out.sarif)" 0 \
    "neither a secret nor its SHA-256 is in the file"
done

# Everything else, as one line per fact: exact values.
python3 - out.sarif "$T" "$head" "$c1" > facts.txt <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); T, head, c1 = sys.argv[2:5]
runs = doc["runs"]
print("runs", len(runs))
git = [r for r in runs if "versionControlProvenance" in r]
files = [r for r in runs if "versionControlProvenance" not in r]
print("git runs", len(git), "file runs", len(files))
g, f = git[0], files[0]
v = g["versionControlProvenance"][0]
print("revision", v["revisionId"] == head, "branch", v.get("branch"), "mapped", v["mappedTo"]["uriBaseId"])
print("repo uri", v["repositoryUri"] == "file://%s/r/" % T)
print("srcroot", g["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://%s/r/" % T,
      f["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://%s/" % T)
print("columnKind", g["columnKind"], f["columnKind"])
print("categories", len({r["automationDetails"]["id"] for r in runs}), g["automationDetails"]["id"].startswith("ferret/r-"))
print("invocations", [r["invocations"][0]["executionSuccessful"] for r in runs])
rules = g["tool"]["driver"]["rules"]
print("rules with help", all(r["help"]["text"] and r["help"]["markdown"] for r in rules), len(rules) > 0)
print("informationUri", "informationUri" in g["tool"]["driver"])
res = g["results"]
located = [x for x in res if "locations" in x]
hist = [x for x in res if "locations" not in x]
print("git results", len(res), "located", len(located), "history-only", len(hist))
for x in sorted(located, key=lambda x: x["locations"][0]["physicalLocation"]["region"]["startLine"]):
    pl = x["locations"][0]["physicalLocation"]
    rg = pl["region"]
    print("at", pl["artifactLocation"]["uri"], pl["artifactLocation"]["uriBaseId"], rg["startLine"],
          rg["startColumn"], rg["endLine"], rg["endColumn"], "related", len(x.get("relatedLocations", [])),
          "fp", x["partialFingerprints"]["primaryLocationLineHash"].split(":")[1])
    for rl in x.get("relatedLocations", []):
        print("  related", rl["physicalLocation"]["artifactLocation"]["uri"], rl["properties"]["commit"] == c1,
              rl["physicalLocation"]["region"]["startLine"])
for x in sorted(hist, key=lambda x: len(x.get("relatedLocations", []))):
    p = x["properties"]
    print("history", p["historyOnly"], "related", [(rl["physicalLocation"]["artifactLocation"]["uri"], rl["properties"]["commit"] == c1) for rl in x.get("relatedLocations", [])],
          "other", [(o["source"], o.get("path")) for o in p.get("otherLocations", [])])
fps = [x["partialFingerprints"]["primaryLocationLineHash"] for r in runs for x in r["results"]]
print("fingerprints unique", len(fps) == len(set(fps)), len(fps))
print("finding ids", all(len(x["partialFingerprints"]["ferretFindingId/v1"]) == 12 for r in runs for x in r["results"]))
uris = [l["physicalLocation"]["artifactLocation"]["uri"] for r in runs for x in r["results"]
        for l in x.get("locations", []) + x.get("relatedLocations", [])]
print("absolute uris", sum(u.startswith("file:") or u.startswith("/") for u in uris), "empty", uris.count(""))
for x in sorted(f["results"], key=lambda x: x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]):
    pl = x["locations"][0]["physicalLocation"]
    print("file", pl["artifactLocation"]["uri"], pl["artifactLocation"]["uriBaseId"],
          json.dumps(pl.get("region")), x["properties"].get("member"), x["properties"].get("memberLine"))
PY
expect() { assert_eq "$(grep -c -x -F -e "$1" facts.txt)" 1 "sarif: '$1' (facts: $(tr '\n' '|' < facts.txt))"; }
expect "runs 2"
expect "git runs 1 file runs 1"
expect "revision True branch refs/heads/main mapped SRCROOT"
expect "repo uri True"
expect "srcroot True True"
expect "columnKind utf16CodeUnits utf16CodeUnits"
expect "categories 2 True"
expect "invocations [True, True]"
expect "rules with help True True"
expect "informationUri False"
# a at HEAD twice (config.py lines 3 and 5), with its old.txt history; b only in
# the history (gone.txt); c only in a commit message; u only in an unreachable
# blob (no path, so no URI).
expect "git results 5 located 2 history-only 3"
# line 3: 'label = "é😀"; token = "' is 27 bytes (the scan's column is 28) but 24
# UTF-16 code units before the token: column 25
tl=${#a}
expect "at config.py SRCROOT 3 25 3 $((25 + tl)) related 1 fp 1"
expect "at config.py SRCROOT 5 11 5 $((11 + tl)) related 1 fp 2"
assert_eq "$(grep -c -x -F '  related old.txt True 1' facts.txt)" 2 "a's history: old.txt in the first commit, line 1, on both results"
expect "history True related [] other [('git-message', '<commit message>')]"
expect "history True related [('gone.txt', True)] other []"
expect "history True related [] other [('git-unreachable', None)]"
expect "fingerprints unique True 7"
expect "finding ids True"
expect "absolute uris 0 empty 0"
expect "file d/app.yml SRCROOT {\"startLine\": 1, \"startColumn\": 6, \"endLine\": 1, \"endColumn\": $((6 + ${#d}))} None None"
expect "file d/b.zip SRCROOT null inner/x.txt 2"

# An incomplete scan says so; over 25,000 results, the most severe 25,000 are
# kept and the rest counted in a note.
cp s.db big.db && cp s.db.key big.db.key
sqlite3 big.db "UPDATE runs SET status = 'incomplete', note = 'interrupted'"
python3 "$FERRET_SRC/tests/tools/synth_store.py" big.db 25010 25010 --repos 1
run_ferret report --db big.db --format sarif --output big.sarif
assert_eq "$RC" 1 "big sarif: exit 1"
python3 - big.sarif > big.txt <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["runs"]:
    inv = r["invocations"][0]
    notes = [n["message"]["text"] for n in inv.get("toolExecutionNotifications", [])]
    print(len(r["results"]), r["properties"]["results"], inv["executionSuccessful"],
          sum("is incomplete" in n for n in notes), sum("results left out" in n for n in notes))
PY
assert_eq "$(sort big.txt | tr '\n' '|')" "2 2 False 1 0|25000 25010 False 1 1|5 5 False 1 0|" \
  "the synthetic repository's run capped at 25,000 (10 left out, noted); every run says the scan was incomplete"
finish
