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
# Configuration credentials (corpus/gen-configs.py): connection strings, dotfiles,
# framework settings (several layouts per format, as written in the wild:
# CRLF files, quoted values with spaces, XML attributes, INI inventories,
# Terraform defaults and state), on five seeds. Each planted secret must be reported by the
# rule that names its structure; no decoy (placeholders in every syntax,
# secret-store references, env lookups, empty values) may be reported. Default and
# dictionary passwords (admin123, p4ssw0rd; family weak-defaults) are planted in
# credential and configuration files, where they are reported, and are decoys in
# documentation, tests and code.
# One scan for the five corpora; each is scored on its own occurrences.
for seed in 1 2 3 4 5; do
  python3 "$FERRET_SRC/corpus/gen-configs.py" cfg$seed --seed "$seed" --per-kind 6 2> /dev/null
done
run_ferret scan --db cfg.db cfg1/tree cfg2/tree cfg3/tree cfg4/tree cfg5/tree
assert_eq "$RC" 1 "the config corpora hold findings"
run_ferret report --db cfg.db --format jsonl
printf '%s\n' "$OUT" > cfg.jsonl
for seed_total in 1:271 2:269 3:267 4:268 5:267; do
  seed=${seed_total%%:*} total=${seed_total##*:}
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    r["occurrences"] = [o for o in r["occurrences"] if "/cfg%s/tree/" % sys.argv[2] in "/" + o["path"]]
    if r["occurrences"]: print(json.dumps(r))' cfg.jsonl "$seed" > cfg$seed.jsonl
  if python3 "$FERRET_SRC/tests/tools/score-families.py" cfg$seed.jsonl cfg$seed/expected.json --min-recall 99 > cfg$seed.txt; then
    ok
  else
    fail "config families, seed $seed: targets missed: $(cat cfg$seed.txt)"
  fi
  assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' cfg$seed/expected.json)" "$total" "seed $seed: $total config secrets planted"
  assert_eq "$(python3 -c 'import re, sys; print(sum(int(g) for g in re.findall(r" recall +([0-9]+)/", open(sys.argv[1]).read())))' cfg$seed.txt)" "$total" "seed $seed: every config secret found by its structure's rule"
  assert_eq "$(grep '^decoy hits:' cfg$seed.txt)" "decoy hits: 0" "seed $seed: no config decoy reported"
done
cat cfg1.txt
# Basic-auth headers, .npmrc _auth and legacy .dockercfg decode to user:password
# (read over the five seeds: a seed may draw none of a form).
for rule in http.basic-auth npmrc.auth dockercfg.auth; do
  assert_eq "$(pyjsonl cfg.jsonl "sorted({r['validated'] for r in rows if r['rule'] == '$rule'})")" "['structure']" "$rule findings are structure-validated"
done
# Generic rules (corpus/gen-generic.py): values under secret-sounding names in
# every assignment syntax (Go, make, PHP, Ruby, YAML, JSON, XML, setProperty,
# command-line flags), on five seeds in one scan; decoys: names that hold no
# secret (csrf_token, publicToken, max_tokens, PUBLIC_KEY), ARNs, paths, URLs,
# templates, sequences, calls, type names, identifiers and short values. The
# same generator plants password hashes (shadow, htpasswd, FTP user files) and
# Azure DevOps variable groups holding a secret in the clear.
for seed in 1 2 3 4 5; do
  python3 "$FERRET_SRC/corpus/gen-generic.py" gen$seed --seed "$seed" --per-kind 6 2> /dev/null
done
run_ferret scan --db gen.db gen1/tree gen2/tree gen3/tree gen4/tree gen5/tree
assert_eq "$RC" 1 "the generic corpora hold findings"
run_ferret report --db gen.db --format jsonl
printf '%s\n' "$OUT" > gen.jsonl
for seed in 1 2 3 4 5; do
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    r["occurrences"] = [o for o in r["occurrences"] if "/gen%s/tree/" % sys.argv[2] in "/" + o["path"]]
    if r["occurrences"]: print(json.dumps(r))' gen.jsonl "$seed" > gen$seed.jsonl
  if python3 "$FERRET_SRC/tests/tools/score-families.py" gen$seed.jsonl gen$seed/expected.json --min-recall 99 > gen$seed.txt; then
    ok
  else
    fail "generic rules, seed $seed: targets missed: $(cat gen$seed.txt)"
  fi
  assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' gen$seed/expected.json)" 102 "seed $seed: 102 generic / hash / pipeline-variable secrets planted"
  assert_eq "$(python3 -c 'import re, sys; print(sum(int(g) for g in re.findall(r" recall +([0-9]+)/", open(sys.argv[1]).read())))' gen$seed.txt)" 102 "seed $seed: every generic / hash / pipeline-variable secret found by its rule"
  assert_eq "$(grep '^decoy hits:' gen$seed.txt)" "decoy hits: 0" "seed $seed: no generic decoy reported"
done
cat gen1.txt
# Provider families (corpus/gen-providers.py): 160 kinds of prefixed and
# context-named tokens in 17 layouts (NAME = value, YAML, JSON, shell, code in
# five languages, XML, a Kubernetes env entry, Dockerfile ENV, make,
# Terraform), keys in source strings and WireGuard / age identities,
# on five seeds in one scan; each planted secret must be reported by its own
# rule, no decoy (placeholders, wrong lengths and alphabets, templates, prose)
# may be.
for seed in 1 2 3 4 5; do
  python3 "$FERRET_SRC/corpus/gen-providers.py" prov$seed --seed "$seed" --per-kind 6 2> /dev/null
done
run_ferret scan --db prov.db prov1/tree prov2/tree prov3/tree prov4/tree prov5/tree
assert_eq "$RC" 1 "the provider corpora hold findings"
run_ferret report --db prov.db --format jsonl
printf '%s\n' "$OUT" > prov.jsonl
for seed in 1 2 3 4 5; do
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    r["occurrences"] = [o for o in r["occurrences"] if "/prov%s/tree/" % sys.argv[2] in "/" + o["path"]]
    if r["occurrences"]: print(json.dumps(r))' prov.jsonl "$seed" > prov$seed.jsonl
  if python3 "$FERRET_SRC/tests/tools/score-families.py" prov$seed.jsonl prov$seed/expected.json --min-recall 99 > prov$seed.txt; then
    ok
  else
    fail "provider families, seed $seed: targets missed: $(cat prov$seed.txt)"
  fi
  assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' prov$seed/expected.json)" 960 "seed $seed: 960 provider secrets planted"
  assert_eq "$(python3 -c 'import re, sys; print(sum(int(g) for g in re.findall(r" recall +([0-9]+)/", open(sys.argv[1]).read())))' prov$seed.txt)" 960 "seed $seed: every provider secret found by its rule"
  assert_eq "$(grep '^decoy hits:' prov$seed.txt)" "decoy hits: 0" "seed $seed: no provider decoy reported"
done
cat prov1.txt
pv() { pyjsonl prov.jsonl "sorted({r['validated'] for r in rows if r['rule'] == '$1'})"; }
for rule in pypi.test-token sentry.org-token; do
  assert_eq "$(pv "$rule")" "['structure']" "$rule findings are structure-validated"
done
# Azure identifiable keys verify their Marvin32 checksum; the same services'
# connection strings and legacy keys cannot.
assert_eq "$(pv azure.batch-key)" "['checksum']" "Batch keys are checksum-validated"
for rule in azure.search-key azure.redis-key azure.iot-key; do
  assert_eq "$(pv "$rule")" "['checksum', 'none']" "$rule: identifiable keys checksum, the others none"
done
# age: 30 valid identities verify their bech32 checksum, the 30 corrupted ones
# are still reported, unverified.
assert_eq "$(pyjsonl prov.jsonl "sorted((r['validated'], len(r['occurrences'])) for r in rows if r['rule'] == 'age.secret-key').__len__()")" 60 "60 age findings"
assert_eq "$(pyjsonl prov.jsonl "sum(r['validated'] == 'checksum' for r in rows if r['rule'] == 'age.secret-key')")" 30 "30 age keys checksum-validated"
assert_eq "$(pyjsonl prov.jsonl "sum(r['validated'] == 'none' for r in rows if r['rule'] == 'age.secret-key')")" 30 "30 corrupted age keys reported unverified"
# Keys in source strings (\n / \r\n escapes, one string per line) still parse.
assert_eq "$(pyjsonl prov.jsonl "sorted({r['validated'] for r in rows if r['rule'] == 'pem.private-key'})")" "['structure']" "keys in source strings are structure-validated"
# Supabase: service_role JWTs parse (structure), sb_secret_ keys carry nothing to check.
assert_eq "$(pv supabase.secret-key)" "['none', 'structure']" "Supabase service_role JWTs are structure-validated"
# Stripe test-mode keys are reported, at low severity.
assert_eq "$(pyjsonl prov.jsonl "sorted({r['severity'] for r in rows if r['rule'] == 'stripe.test-key'})")" "['low']" "Stripe test keys are low severity"
# The same corpus, the same seed: the same findings (generation is deterministic).
python3 "$FERRET_SRC/corpus/gen-families.py" fam2 --seed 7 --per-kind 12 2> /dev/null
assert_eq "$(cd fam2 && sha256sum expected.json | cut -c1-64)" "$(cd fam && sha256sum expected.json | cut -c1-64)" "deterministic planting"
finish
