#!/usr/bin/env bash
# Rules that apply by path: rails.master-key (32 hex alone in config/master.key
# or config/credentials/*.key; "paths") and ci.variable-literal (secret-named
# pipeline variables with literal values, in pipeline definitions only;
# "applies_to"), on disk and in git history (where blobs are scanned before
# their paths are known), and the same lines elsewhere not reported by them.
# (Git content is one item wherever it is: a blob at a matching and at another
# path is reported with both places.)
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

hex() { python3 -c "import random; r=random.Random($1); print('%032x' % r.getrandbits(128))"; }
tok() { python3 -c "import random,string; r=random.Random($1); a=string.ascii_letters+string.digits; print(''.join(r.choice(a) for _ in range($2)))"; }
k1=$(hex 1); k2=$(hex 2); k3=$(hex 3)
mkdir -p tree/app/config/credentials tree/other tree/.github/workflows tree/docs
printf '%s\n' "$k1" > tree/app/config/master.key
printf '%s' "$k2" > tree/app/config/credentials/production.key
printf '%s\n' "$k3" > tree/other/checksum.txt     # 32 hex elsewhere: not a master key
printf '%s\n' "$(hex 8)" > tree/app/config/master.key.bak # another name: not reported
t1=$(tok 4 24); t2=$(tok 5 6); t3=$(tok 6 18); t4=$(tok 7 9)
cat > tree/.github/workflows/ci.yml <<EOF
name: ci
on: push
env:
  NPM_SECRET: ${t2:0:5}-1
  API_KEY: \${{ secrets.API_KEY }}
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      RETRIES: 3
      DOCS_TOKEN_URL: https://example.org/token
    steps:
      - run: make
        env:
          GH_TOKEN: \${{ github.token }}
          deployKey: ${t3}
EOF
cat > tree/.gitlab-ci.yml <<EOF
variables:
  DOCKER_DRIVER: overlay2
  DEPLOY_TOKEN:
    value: "${t1}"
    description: "deploy token"
  API_SECRET: \$CI_JOB_TOKEN
  REGISTRY_TOKEN: true
EOF
cat > tree/azure-pipelines.yml <<EOF
variables:
  storageKey: ${t4}-9
  sqlPassword: \$(SqlPasswordFromKv)
EOF
{ echo "# an example"; cat tree/.gitlab-ci.yml; } > tree/docs/gitlab-example.yml # not a pipeline definition

report() { # report DB -> "rule path line" lines, sorted
  run_ferret report --db "$1" --format jsonl
  printf '%s\n' "$OUT" > r.jsonl
  pyjsonl r.jsonl "'\n'.join(sorted('%s %s %s' % (r['rule'], o['path'], o['line']) for r in rows if r['rule'] in ('rails.master-key', 'ci.variable-literal') for o in r['occurrences']))"
}
run_ferret scan --db a.db tree
assert_eq "$RC" 1 "findings: exit 1"
expect="ci.variable-literal tree/.github/workflows/ci.yml 16
ci.variable-literal tree/.github/workflows/ci.yml 4
ci.variable-literal tree/.gitlab-ci.yml 4
ci.variable-literal tree/azure-pipelines.yml 2
rails.master-key tree/app/config/credentials/production.key 1
rails.master-key tree/app/config/master.key 1"
assert_eq "$(report a.db)" "$expect" "on disk: by path only"

# --- git history: blobs are scanned ahead of the walk, before their paths
git init -q repo
cp -r tree/. repo/
(cd repo && git add -A && gcommit dev "app" && git rm -q app/config/master.key && gcommit dev "drop the key")
run_ferret scan --db g.db repo
assert_eq "$RC" 1 "history: exit 1"
expect="ci.variable-literal .github/workflows/ci.yml 16
ci.variable-literal .github/workflows/ci.yml 4
ci.variable-literal .gitlab-ci.yml 4
ci.variable-literal azure-pipelines.yml 2
rails.master-key app/config/credentials/production.key 1
rails.master-key app/config/master.key 1"
assert_eq "$(report g.db | sort -u)" "$expect" "in history: by path only, a deleted key too"
assert_eq "$(pyjsonl r.jsonl "len([r for r in rows if r['rule'] == 'rails.master-key'])")" 2 "two keys, two findings"

finish
