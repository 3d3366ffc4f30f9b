#!/usr/bin/env bash
# Credential containers and path rules as families (corpus/gen-containers.py):
# keystores (PKCS#12 with and without a password, JKS, JCEKS, KeePass KDBX 3 /
# 4 and KDB 1.x: files named for nothing, zip members, base64 in a Kubernetes
# Secret), secret-named pipeline variables with literal values (GitHub Actions
# env: at three levels and with:, GitLab CI variables: plain and value:, Azure
# Pipelines variables:) and Rails master keys, on five seeds in one scan: recall
# >= 99% per family, every planted secret found by its structure's rule, no
# decoy (certificates, PKCS#7, truststores, certificate-only PKCS#12, cut
# keystores, references and stand-ins in pipelines, the same shapes at other
# paths) reported.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
for seed in 1 2 3 4 5; do
  python3 "$FERRET_SRC/corpus/gen-containers.py" cc$seed --seed "$seed" --per-kind 6 2> /dev/null
done
run_ferret scan --db cc.db cc1/tree cc2/tree cc3/tree cc4/tree cc5/tree
assert_eq "$RC" 1 "the container corpora hold findings"
run_ferret report --db cc.db --format jsonl
printf '%s\n' "$OUT" > cc.jsonl
for seed in 1 2 3 4 5; do
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    r["occurrences"] = [o for o in r["occurrences"] if "/cc%s/tree/" % sys.argv[2] in "/" + o["path"]]
    if r["occurrences"]: print(json.dumps(r))' cc.jsonl "$seed" > cc$seed.jsonl
  if python3 "$FERRET_SRC/tests/tools/score-families.py" cc$seed.jsonl cc$seed/expected.json --min-recall 99 > cc$seed.txt; then
    ok
  else
    fail "container families, seed $seed: targets missed: $(cat cc$seed.txt)"
  fi
  assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' cc$seed/expected.json)" 102 "seed $seed: 102 secrets planted"
  assert_eq "$(python3 -c 'import re, sys; print(sum(int(g) for g in re.findall(r" recall +([0-9]+)/", open(sys.argv[1]).read())))' cc$seed.txt)" 102 "seed $seed: every planted secret found by its rule"
  assert_eq "$(grep '^decoy hits:' cc$seed.txt)" "decoy hits: 0" "seed $seed: no decoy reported"
done
cat cc1.txt
# Every container is validated: structure, or checksum where an empty password verified.
assert_eq "$(pyjsonl cc.jsonl "sorted({r['validated'] for r in rows if r['rule'].startswith('keystore.')})")" "['checksum', 'structure']" "containers are validated"
assert_eq "$(pyjsonl cc.jsonl "sorted({r['severity'] for r in rows if r['rule'] == 'keystore.pkcs12-passwordless'})")" "['critical']" "password-less PKCS#12 is critical"
finish
