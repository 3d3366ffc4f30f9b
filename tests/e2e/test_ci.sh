#!/usr/bin/env bash
# The CI gates (issue 14, item 4): action.yml, the Azure Pipelines template and
# the example workflows in docs/ are well-formed YAML with the keys each system
# needs; every script in them parses; and the scan steps themselves are run -
# the action's and the template's, as GitHub and Azure would run them (their
# inputs in the environment) - on a real pull request: only the commits the
# branch adds are scanned, the SARIF holds exactly their findings, the outputs
# and exit codes are right, a base missing from a depth-1 clone is fetched.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
S=$FERRET_SRC

# ---- structure ----
check() { python3 - "$S" "$@" <<'PY'
import sys, yaml
src = sys.argv[1]
def load(p):
    with open(f"{src}/{p}") as f:
        return yaml.safe_load(f)
errors = []
def need(cond, what):
    if not cond: errors.append(what)

a = load("action.yml")
need(a.get("name") and a.get("description"), "action: name and description")
need(set(a.get("inputs", {})) >= {"path", "base", "head", "args", "sarif-file", "upload-sarif", "fail-on-findings"}, "action: inputs")
need(all("description" in v for v in a["inputs"].values()), "action: every input described")
need(set(a.get("outputs", {})) >= {"findings", "sarif-file", "exit-code"}, "action: outputs")
runs = a.get("runs", {})
need(runs.get("using") == "composite", "action: composite")
steps = runs.get("steps", [])
need(all(s.get("shell") == "bash" for s in steps if "run" in s), "action: run steps say shell: bash")
up = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
need(len(up) == 1 and up[0]["with"]["sarif_file"] == "${{ inputs.sarif-file }}", "action: SARIF upload of the report")
scan = [s for s in steps if s.get("id") == "scan"]
need(len(scan) == 1 and "scripts/ci/ferret-ci.sh" in scan[0]["run"], "action: scan step runs ferret-ci.sh")
need(any("install-deps.sh\" --build" in s.get("run", "") for s in steps), "action: installs build deps")

z = load("ci/azure-pipelines/ferret.yml")
need({p["name"] for p in z.get("parameters", [])} >= {"ferretSource", "scanPath", "base", "head", "args", "sarifName", "publishSarif", "failOnFindings"}, "azure: parameters")
zs = z.get("steps", [])
flat = []
for s in zs:  # template conditionals hold lists of steps
    flat += next(iter(s.values())) if len(s) == 1 and next(iter(s)).startswith("${{") else [s]
zscan = [s for s in flat if s.get("name") == "ferretScan"]
need(len(zscan) == 1 and "scripts/ci/ferret-ci.sh" in zscan[0]["bash"], "azure: scan step")
pub = [s for s in flat if s.get("task") == "PublishBuildArtifacts@1"]
need(len(pub) == 1 and pub[0]["inputs"]["ArtifactName"] == "CodeAnalysisLogs", "azure: SARIF as CodeAnalysisLogs")

g = load("docs/github-workflow.yml")
on = g.get(True, g.get("on"))  # YAML 1.1 reads the key 'on' as True
need("pull_request" in on, "workflow: on pull_request")
need(g["permissions"]["security-events"] == "write", "workflow: security-events write")
gsteps = next(iter(g["jobs"].values()))["steps"]
need(any(s.get("uses", "").startswith("actions/checkout@") and s["with"]["fetch-depth"] == 0 for s in gsteps), "workflow: full checkout")
need(any("/ferret@" in s.get("uses", "") for s in gsteps), "workflow: uses the action")

p = load("docs/azure-pipelines.yml")
need(any(r["repository"] == "ferret" for r in p["resources"]["repositories"]), "pipeline: ferret resource")
need(any(s.get("checkout") == "self" and s.get("fetchDepth") == 0 for s in p["steps"]), "pipeline: full checkout")
need(any(s.get("template") == "ci/azure-pipelines/ferret.yml@ferret" for s in p["steps"]), "pipeline: uses the template")

# every script, for bash -n
import os
out = sys.argv[2]
n = 0
for s in steps:
    if "run" in s:
        n += 1; open(f"{out}/action-{n}.sh", "w").write(s["run"])
for s in flat:
    if "bash" in s:
        n += 1; open(f"{out}/azure-{n}.sh", "w").write(s["bash"])
open(f"{out}/action-scan.sh", "w").write(scan[0]["run"])
open(f"{out}/azure-scan.sh", "w").write(zscan[0]["bash"])
print("\n".join(errors) if errors else "ok")
PY
}
mkdir scripts
assert_eq "$(check "$T/scripts")" ok "CI files well-formed, with the right keys"
for f in scripts/*.sh "$S/scripts/ci/ferret-ci.sh"; do
  bash -n "$f" && ok || fail "$f does not parse"
done
assert_eq "$(ls scripts/*.sh | wc -l)" 8 "6 scripts in the CI files (+ the two scan steps again)"

# ---- a pull request ----
tokOld=$($FAKE github 41) # on main before the branch: not the pull request's
tokNew=$($FAKE github 42) # added by the pull request
git init -q --bare origin.git
git clone -q origin.git w 2>/dev/null
cd w
printf 'plain\n' >a.txt && printf 'TOKEN=%s\n' "$tokOld" >old.env
git add -A && gcommit alice "base"
git push -q origin main
git checkout -q -b feature
printf 'TOKEN=%s\n' "$tokNew" >new.env && git add new.env && gcommit bob "add new.env"
printf 'more\n' >>a.txt && git add a.txt && gcommit bob "clean change"
git push -q origin feature
BASE=$(git rev-parse main) HEAD_SHA=$(git rev-parse feature)
cd ..
sarif_uris() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sorted(r['locations'][0]['physicalLocation']['artifactLocation']['uri'] for r in d['runs'][0]['results']))" "$1"; }

# the script: the range's finding only; exit 1, --no-fail 0
set +e
bash "$S/scripts/ci/ferret-ci.sh" --base "$BASE" --head "$HEAD_SHA" --path w --sarif pr.sarif 2>ci.err
RC=$?
set -e
assert_eq "$RC" 1 "pull request with a secret exits 1"
assert_eq "$(sarif_uris pr.sarif)" "['new.env']" "SARIF holds the range's finding only"
set +e
bash "$S/scripts/ci/ferret-ci.sh" --base "$BASE" --head "$HEAD_SHA" --path w --sarif nf.sarif --no-fail 2>ci.err
RC=$?
set -e
assert_eq "$RC" 0 "--no-fail exits 0 on findings"
# a clean range: the last commit only
set +e
bash "$S/scripts/ci/ferret-ci.sh" --base "$HEAD_SHA~1" --head "$HEAD_SHA" --path w --sarif clean.sarif 2>ci.err
RC=$?
set -e
assert_eq "$RC" 0 "clean range exits 0"
assert_eq "$(sarif_uris clean.sarif)" "[]" "clean range: an empty SARIF is still written"
# no base (or a push creating a branch): everything the checkout holds
set +e
bash "$S/scripts/ci/ferret-ci.sh" --base 0000000000000000000000000000000000000000 --path w --sarif all.sarif 2>ci.err
RC=$?
set -e
assert_eq "$RC" 1 "full scan exits 1"
assert_eq "$(sarif_uris all.sarif)" "['new.env', 'old.env']" "full scan finds both"
# a base nobody has (a force push's old tip): everything is scanned, not less
set +e
bash "$S/scripts/ci/ferret-ci.sh" --base 1111111111111111111111111111111111111111 --head "$HEAD_SHA" \
  --path w --sarif gone.sarif 2>ci.err
RC=$?
set -e
assert_eq "$RC" 1 "unfetchable base: full scan exits 1"
assert_eq "$(sarif_uris gone.sarif)" "['new.env', 'old.env']" "unfetchable base: both found"
assert_contains "$(cat ci.err)" "cannot be fetched; scanning everything" "unfetchable base: warned"

# ---- the action's scan step, as GitHub runs it ----
export FERRET
set +e
(cd w && FERRET_SRC=$S INPUT_PATH=. INPUT_BASE=$BASE INPUT_HEAD=$HEAD_SHA INPUT_ARGS="--threads 2" \
  INPUT_SARIF=gh.sarif GITHUB_OUTPUT=$T/gh.out bash "$T/scripts/action-scan.sh" 2>"$T/gh.err")
RC=$?
set -e
assert_eq "$RC" 0 "action scan step succeeds (failing is the last step's job)"
assert_eq "$(grep -c . gh.out)" 3 "three outputs"
assert_eq "$(grep '^findings=' gh.out)" "findings=1" "findings output"
assert_eq "$(grep '^exit-code=' gh.out)" "exit-code=1" "exit-code output"
assert_eq "$(sarif_uris w/gh.sarif)" "['new.env']" "action: SARIF of the range"

# ---- the template's scan step, as Azure runs a pull request build ----
# (a depth-1 clone of the pull request: the target branch and the range's
# commits are fetched from origin)
git clone -q --depth 1 --branch feature "file://$T/origin.git" shallow
set +e
(cd shallow && FERRET_SRC=$S INPUT_PATH=. INPUT_BASE= INPUT_HEAD= INPUT_ARGS= \
  INPUT_SARIF=$T/staging/CodeAnalysisLogs/ferret.sarif TF_BUILD=True \
  SYSTEM_PULLREQUEST_TARGETBRANCH=refs/heads/main SYSTEM_PULLREQUEST_SOURCECOMMITID=$HEAD_SHA \
  bash "$T/scripts/azure-scan.sh" >"$T/az.out" 2>"$T/az.err")
RC=$?
set -e
assert_eq "$RC" 0 "azure scan step succeeds"
assert_eq "$(grep -c 'task.setvariable variable=findings;isOutput=true]1$' az.out)" 1 "findings output variable"
assert_eq "$(sarif_uris staging/CodeAnalysisLogs/ferret.sarif)" "['new.env']" "azure: SARIF of the pull request"

finish
