#!/usr/bin/env bash
# The deployment files of sharded scans are well-formed (kubectl is not here:
# their structure is checked with python3-yaml): the Kubernetes Indexed Job and
# merge Job, the Dockerfile, the CI matrix examples, the Slurm scripts.
. "$(dirname "$0")/lib.sh"
S=$FERRET_SRC
cat >"$T/check.py" <<'PY'
import os, re, sys, yaml
S, what = sys.argv[1], sys.argv[2]
def load(p):
    with open(os.path.join(S, p)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
def need(cond, msg):
    if not cond:
        print(msg); sys.exit(0)
def container(job):
    c = job["spec"]["template"]["spec"]["containers"]
    need(len(c) == 1, "one container")
    return c[0]
def mounts_resolve(job):
    spec = job["spec"]["template"]["spec"]
    vols = {v["name"] for v in spec["volumes"]}
    for m in container(job)["volumeMounts"]:
        need(m["name"] in vols, "volume %s is defined" % m["name"])
    need(spec["restartPolicy"] == "Never", "restartPolicy Never")
if what == "k8s-shards":
    docs = load("deploy/k8s/ferret-shards.yaml")
    jobs = [d for d in docs if d["kind"] == "Job"]
    need(len(jobs) == 1 and jobs[0]["apiVersion"] == "batch/v1", "one batch/v1 Job")
    j = jobs[0]
    need(j["spec"]["completionMode"] == "Indexed", "Indexed Job")
    need(j["spec"]["completions"] == j["spec"]["parallelism"], "completions == parallelism")
    c = container(j)
    env = {e["name"]: e for e in c["env"]}
    need(env["JOB_COMPLETIONS"]["value"] == str(j["spec"]["completions"]),
         "JOB_COMPLETIONS matches completions")
    need("controller-uid" in env["FERRET_SHARD_SET"]["valueFrom"]["fieldRef"]["fieldPath"],
         "the set is the Job's uid")
    cmd = " ".join(c["command"] + c["args"])
    need("ferret scan --shard auto" in cmd and "shard-${JOB_COMPLETION_INDEX}.db" in cmd,
         "each index scans its shard into its own store: " + cmd)
    mounts_resolve(j)
    pvcs = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    need(pvcs and pvcs[0]["spec"]["accessModes"] == ["ReadWriteMany"], "a shared results volume")
    claims = {v["persistentVolumeClaim"]["claimName"] for v in j["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v}
    need(pvcs[0]["metadata"]["name"] in claims, "the Job uses the results claim")
    print("ok")
elif what == "k8s-merge":
    (j,) = load("deploy/k8s/ferret-merge.yaml")
    need(j["kind"] == "Job" and j["spec"]["backoffLimit"] == 0, "a Job run once")
    c = container(j)
    need("ferret merge --db /results/org.db /results/shard-*.db" in " ".join(c["args"]), "merges the shards")
    mounts_resolve(j)
    print("ok")
elif what == "dockerfile":
    text = open(os.path.join(S, "Dockerfile")).read()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    need(froms and all(f.startswith("debian:") for f in froms), "Debian bases: %s" % froms)
    final = text[text.rindex("\nFROM "):]
    copies = re.findall(r"^COPY (.*)$", final, re.M)
    need(copies == ["--from=build /build/ferret /usr/local/bin/ferret"], "only the binary is copied: %s" % copies)
    need('ENTRYPOINT ["/usr/local/bin/ferret"]' in final, "ferret is the entrypoint")
    for d in re.findall(r"^COPY (\S+) ", text[:text.rindex("\nFROM ")], re.M):
        need(os.path.exists(os.path.join(S, d)), "build context has " + d)
    print("ok")
elif what == "github":
    (w,) = load("docs/ci-github-shards.yml")
    sh = w["jobs"]["shard"]
    n = len(sh["strategy"]["matrix"]["shard"])
    need(str(n) == str(w["env"]["SHARDS"]), "matrix size == SHARDS")
    runs = " ".join(s.get("run", "") for s in sh["steps"])
    need("ferret scan --shard ${{ matrix.shard }}/$SHARDS" in runs, "each job scans its shard")
    m = w["jobs"]["merge"]
    need(m["needs"] == "shard", "merge after the shards")
    need("ferret merge --db org.db" in " ".join(s.get("run", "") for s in m["steps"]), "merge step")
    print("ok")
elif what == "azure":
    (p,) = load("docs/ci-azure-shards.yml")
    scan, merge = p["stages"]
    need(scan["jobs"][0]["strategy"]["parallel"] >= 2, "a parallel job")
    need("--shard auto" in " ".join(s.get("script", "") for s in scan["jobs"][0]["steps"]), "shard auto")
    need(merge["dependsOn"] == "scan", "merge after the scan")
    need("ferret merge" in " ".join(s.get("script", "") for s in merge["jobs"][0]["steps"]), "merge step")
    print("ok")
PY
for w in k8s-shards k8s-merge dockerfile github azure; do
  r=$(python3 "$T/check.py" "$S" "$w" 2>&1)
  assert_eq "$r" ok "$w"
done
for f in "$S"/scripts/cluster/slurm/*.sh "$S"/scripts/cluster/slurm/*.sbatch; do
  bash -n "$f" && ok || fail "$f: syntax"
done
# the Slurm batch scripts take the shard from the array task, the merge refuses nothing silently
assert_contains "$(cat "$S/scripts/cluster/slurm/ferret-shard.sbatch")" "scan --shard auto" "array task scans --shard auto"
assert_contains "$(cat "$S/scripts/cluster/slurm/submit.sh")" "--dependency=afterany:" "merge queued after the array"
finish
