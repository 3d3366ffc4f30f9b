#!/usr/bin/env bash
# Sharded scans on a local Slurm cluster (scripts/cluster/slurm/): a mirror set
# of dozens of repositories sharing secrets, plain files and one larger
# repository, scanned as a 4-task job array and merged. The merged report
# equals an unsharded scan's (first/last seen aside); a task killed mid-scan
# makes the merge refuse the set, naming the shard, and leaves the
# organisation store untouched; the requeued task completes it; merging twice
# changes nothing; the next night's shards scan incrementally.
. "$(dirname "$0")/lib.sh"
set -e
SL="$FERRET_SRC/scripts/cluster/slurm"
for b in sbatch slurmctld munged; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || {
    fail "$b is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"; finish; exit 1; }
done
python3 "$FERRET_SRC/scripts/cluster/make-mirrors.py" "$T/data" --repos 30 --commits 4 \
  --large-commits 120
M="$T/data/mirrors" L="$T/data/large.git"
export FERRET_KEY_FILE="$T/org.key" # one key: shards, the org store, the reference
# A report without what differs between runs: timestamps.
norm() {
  "$FERRET" report --db "$1" --format jsonl >"$T/norm.jsonl" || true
  python3 - "$T/norm.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    for k in ("first_seen", "last_seen"):
        r.pop(k, None)
    print(json.dumps(r, sort_keys=True))
PY
}
# Table row counts: what "changes nothing" is checked against.
counts() {
  sqlite3 "$1" "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM findings) || ' ' ||
    (SELECT count(*) FROM content) || ' ' || (SELECT count(*) FROM matches) || ' ' ||
    (SELECT count(*) FROM locations) || ' ' || (SELECT count(*) FROM files) || ' ' ||
    (SELECT count(*) FROM repos) || ' ' ||
    (SELECT group_concat(fid || first_run || last_run || first_seen || last_seen, ',') FROM findings)"
}

# ---- the reference: one unsharded scan
run_ferret scan --threads 2 --db "$T/ref.db" "$M" "$L"
assert_eq "$RC" 1 "unsharded scan finds the secrets"
norm "$T/ref.db" >"$T/ref.txt"
NREF=$(wc -l <"$T/ref.txt")
[ "$NREF" -ge 5 ] && ok || fail "the mirror set holds findings (got $NREF)"

# ---- the cluster
bash "$SL/local-cluster.sh" start "$T/slurm" >/dev/null
# (the task killed below leaves its ferret blocked opening the FIFO $T/stall:
# scancel signals the job's steps, not the batch script's child; writing to
# the FIFO lets it go on and end instead of outliving the test)
trap '[ -p "$T/stall" ] && timeout 5 sh -c ": >\"\$1\"" - "$T/stall"
bash "$SL/local-cluster.sh" stop "$T/slurm"; rm -rf "$T"' EXIT
. "$T/slurm/env"
wait_job() { # wait_job JOBID: until no task of it is queued or running
  for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  fail "job $1 did not finish"
}
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }

# ---- night 1: task 2 is killed mid-scan. Its ferret blocks reading a FIFO
# (a target only it is given) once it has recorded part of its share.
mkfifo "$T/stall"
cat >"$T/ferret-kill2" <<EOF
#!/usr/bin/env bash
if [ "\$SLURM_ARRAY_TASK_ID" = 2 ] && [ ! -e "$T/killed-once" ]; then
  touch "$T/killed-once"
  exec "$FERRET" "\$@" "$T/stall"
fi
exec "$FERRET" "\$@"
EOF
chmod +x "$T/ferret-kill2"
read -r ARR MRG < <(FERRET="$T/ferret-kill2" bash "$SL/submit.sh" -n 4 -o "$T/sh" \
  -d "$T/org.db" -x "-c 1" "$M" "$L")
# Until task 2 has its run open (a scan records its run, rules and shard in
# one transaction: once the run is seen, so is its shard, and a kill at any
# moment after leaves a shard the merge calls incomplete).
for _ in $(seq 600); do
  [ -f "$T/sh/shard-2.db" ] &&
    [ "$(sqlite3 "$T/sh/shard-2.db" "SELECT count(*) FROM runs WHERE status = 'running'" 2>/dev/null)" = 1 ] && break
  sleep 0.2
done
scancel --signal=KILL "${ARR}_2"
wait_job "$ARR"
wait_job "$MRG"
assert_eq "$(job_state "$MRG")" FAILED "the merge job refuses the set with a killed task"
assert_contains "$(cat "$T/sh/merge-$ARR.log")" "shard 2/4 of set slurm-$ARR is incomplete" \
  "the merge names the killed shard"
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM runs" 2>/dev/null || echo none)" 0 \
  "the refused merge wrote no run into the org store"
assert_eq "$(sqlite3 "$T/sh/shard-1.db" "SELECT shard_index || '/' || shard_count || ' ' || shard_set || ' ' || status FROM runs")" \
  "1/4 slurm-$ARR complete" "a shard's run record says which shard of which set it was"
# a missing shard is named too
run_ferret merge --db "$T/partial.db" "$T/sh/shard-0.db" "$T/sh/shard-1.db" "$T/sh/shard-3.db"
assert_eq "$RC" 2 "merge without shard 2 refused"
assert_contains "$ERR" "shard 2/4 of set slurm-$ARR is missing" "the missing shard is named"

# the killed task requeued: it completes, the set merges
scontrol requeue "${ARR}_2"
scontrol update JobId="${ARR}_2" StartTime=now # a requeued job waits 2 minutes otherwise
wait_job "$ARR"
# The killed run stays 'running' when SIGKILL reached ferret first, or is
# 'incomplete' when Slurm's SIGTERM to the step's processes came before it
# (ferret then closes its run): either way, one killed run and one complete.
assert_eq "$(sqlite3 "$T/sh/shard-2.db" "SELECT group_concat(CASE WHEN status IN ('running', 'incomplete') THEN 'killed' ELSE status END, ',') FROM runs ORDER BY id")" \
  "killed,complete" "the requeued task completed its shard in the same store"
M2=$(FERRET="$FERRET" sbatch --parsable --export=ALL -o "$T/sh/merge2.log" \
  "$SL/ferret-merge.sbatch" "$T/org.db" "$T/sh")
wait_job "$M2"
assert_eq "$(job_state "$M2")" COMPLETED "the merge job of the completed set"
norm "$T/org.db" >"$T/org.txt"
if cmp -s "$T/ref.txt" "$T/org.txt"; then ok; else
  fail "merged report differs from the unsharded one"
  diff "$T/ref.txt" "$T/org.txt" | head -5 >&2
fi
assert_eq "$(sqlite3 "$T/org.db" "SELECT count(*) FROM runs WHERE shard_set = 'slurm-$ARR' AND status = 'complete'")" \
  4 "the org store records the four complete shard runs"
# the large repository: every shard walked it, each scanned its own blobs
B0=$(sqlite3 "$T/ref.db" "SELECT count(*) FROM content WHERE key LIKE 'git:%'")
BS=$(for i in 0 1 2 3; do sqlite3 "$T/sh/shard-$i.db" "SELECT count(*) FROM content WHERE key LIKE 'git:%'"; done | paste -sd+ | bc)
assert_eq "$BS" "$B0" "the shards' recorded blobs add up to the unsharded scan's (each blob in one shard)"

# ---- merging again changes nothing
C1=$(counts "$T/org.db")
run_ferret merge --db "$T/org.db" "$T/sh"/shard-*.db
assert_eq "$RC" 0 "second merge"
assert_eq "$(counts "$T/org.db")" "$C1" "merging the same shards twice changes nothing"

# ---- atomic: a merge that fails on its last input leaves the org store as it was
cp "$T/sh/shard-3.db" "$T/broken.db"
sqlite3 "$T/broken.db" "DROP VIEW occurrences; DROP TABLE locations;"
run_ferret merge --db "$T/org.db" "$T/sh/shard-0.db" "$T/broken.db"
assert_eq "$RC" 2 "a merge failing half way"
assert_eq "$(counts "$T/org.db")" "$C1" "a failed merge leaves the org store as it was"

# ---- other rules: refused unless told
mkdir -p "$T/extra"
cat >"$T/extra/extra.yml" <<'EOF'
rules:
  - id: test.shard-extra
    name: Shard test rule
    description: A rule only one shard has.
    severity: low
    confidence: low
    attack: T1552.001
    pattern: '\b(shardextra_[0-9]{8})\b'
    keywords: [shardextra_]
    examples: ['key = shardextra_12345678']
    negative_examples: ['key = shardextra_1234']
EOF
mkdir -p "$T/small" && echo "x" >"$T/small/a.txt"
run_ferret scan --db "$T/odd.db" --rules "$T/extra" "$T/small"
if [ "$RC" -le 1 ]; then
  run_ferret merge --db "$T/org.db" "$T/sh/shard-0.db" "$T/odd.db"
  assert_eq "$RC" 2 "stores of other rules are refused"
  assert_contains "$ERR" "was scanned with other rules" "the rules difference is named"
  assert_eq "$(counts "$T/org.db")" "$C1" "nothing merged"
else
  fail "scan with an extra rule: $ERR"
fi

# ---- ten shards (no scheduler: --shard I/N): more stores than SQLite attaches
# at once are staged, then merged in one transaction; same report
for i in $(seq 0 9); do
  run_ferret scan --quiet --threads 2 --shard "$i/10" --db "$T/ten-$i.db" "$M" "$L"
  [ "$RC" -le 1 ] || fail "shard $i/10: $ERR"
done
run_ferret merge --db "$T/ten.db" "$T"/ten-[0-9].db
assert_eq "$RC" 0 "merge of ten shards"
norm "$T/ten.db" >"$T/ten.txt"
cmp -s "$T/ref.txt" "$T/ten.txt" && ok || fail "ten shards merged differ from the unsharded scan"
assert_eq "$(ls "$T" | grep -c 'ten.db.merge-')" 0 "the staging store is removed"

# ---- night 2: new commits in 3 mirrors and the large repository
python3 "$FERRET_SRC/scripts/cluster/make-mirrors.py" "$T/data" --repos 30 --night 2
run_ferret scan --threads 2 --db "$T/ref.db" "$M" "$L"
norm "$T/ref.db" >"$T/ref2.txt"
[ "$(wc -l <"$T/ref2.txt")" -eq $((NREF + 1)) ] && ok || fail "night 2 adds one finding"
read -r ARR2 MRG2 < <(FERRET="$FERRET" bash "$SL/submit.sh" -n 4 -o "$T/sh" -d "$T/org.db" -x "-c 1" \
  "$M" "$L")
wait_job "$ARR2"
wait_job "$MRG2"
assert_eq "$(job_state "$MRG2")" COMPLETED "night 2 merge"
norm "$T/org.db" >"$T/org2.txt"
if cmp -s "$T/ref2.txt" "$T/org2.txt"; then ok; else
  fail "night 2: merged report differs from the unsharded one"
  diff "$T/ref2.txt" "$T/org2.txt" | head -5 >&2
fi
# incremental: each mirror is one shard's, 27 of 30 unchanged; the large
# repository (a target: its blobs are sharded) is walked by every shard
LOGS=$(cat "$T/sh"/shard-[0-3].log)
assert_eq "$(count_of "$(grep -h 'ferret: git:' "$T/sh"/shard-[0-3].log)" unchanged | paste -sd+ | bc)" \
  27 "night 2: the shards skip the 27 unchanged mirrors"
assert_not_contains "$LOGS" "INCOMPLETE" "night 2 shards complete"

finish
