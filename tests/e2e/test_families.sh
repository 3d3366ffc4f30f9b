#!/usr/bin/env bash
# Rule families, end to end (corpus/gen-families.py): fake secrets of every
# family in realistic files plus decoys of every kind. Recall must be >= 99% per
# family and no decoy may be reported; the formats that carry a proof must be
# reported validated.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
python3 "$FERRET_SRC/corpus/gen-families.py" fam --seed 7 --per-kind 12 2> gen.log
run_ferret scan --db f.db fam/tree
assert_eq "$RC" 1 "the family corpus holds findings"
run_ferret report --db f.db --format jsonl
printf '%s\n' "$OUT" > r.jsonl
if python3 "$FERRET_SRC/tests/tools/score-families.py" r.jsonl fam/expected.json --min-recall 99 > score.txt; then
  ok
else
  fail "recall/precision targets missed: $(cat score.txt)"
fi
cat score.txt
# Exact totals: an empty planted set would satisfy any recall target.
assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' fam/expected.json)" 516 "516 secrets planted (seed 7, 12 per kind)"
assert_eq "$(python3 -c 'import re, sys; print(sum(int(g) for g in re.findall(r" recall +([0-9]+)/", open(sys.argv[1]).read())))' score.txt)" 516 "every planted secret found"
assert_eq "$(grep '^decoy hits:' score.txt)" "decoy hits: 0" "no decoy reported"
# Every checksum-carrying format validates (the generators compute real checksums).
v() { pyjsonl r.jsonl "sorted({r['validated'] for r in rows if r['rule'] == '$1'})"; }
for rule in github.pat npm.token azure-devops.pat-legacy azure.storage-identifiable-key \
  azure.messaging-identifiable-key azure.functions-key azure.apim-key azure.container-registry-key \
  azure.cask-key azure-devops.pat; do
  assert_eq "$(v "$rule")" "['checksum']" "$rule findings are checksum-validated"
done
for rule in gcp.service-account-key docker.config-auth pem.private-key-base64 pem.private-key-encrypted; do
  assert_eq "$(v "$rule")" "['structure']" "$rule findings are structure-validated"
done
# Entra: the 8Q~ secrets carry a checksum, the 7Q~ ones cannot.
assert_eq "$(v azure.entra-client-secret)" "['checksum', 'none']" "Entra secrets: 8Q~ checksum, 7Q~ none"
# Encrypted keys are reported at the lower severity.
assert_eq "$(pyjsonl r.jsonl "sorted({r['severity'] for r in rows if r['rule'] == 'pem.private-key-encrypted'})")" "['medium']" "encrypted keys are medium"
# The same corpus, the same seed: the same findings (generation is deterministic).
python3 "$FERRET_SRC/corpus/gen-families.py" fam2 --seed 7 --per-kind 12 2> /dev/null
assert_eq "$(cd fam2 && sha256sum expected.json | cut -c1-64)" "$(cd fam && sha256sum expected.json | cut -c1-64)" "deterministic planting"
finish
