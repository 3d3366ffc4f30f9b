#!/usr/bin/env bash
# Queues a sharded ferret scan on Slurm: an N-task job array (ferret-shard.sbatch)
# and the merge into the organisation store as a dependent job.
#   submit.sh -n N -o OUTDIR -d ORG.db [-k KEYFILE] [-x "SBATCH OPTIONS"] TARGET...
# Prints "ARRAYJOB MERGEJOB". OUTDIR must be on storage every node sees, like
# the targets. FERRET (the binary, default 'ferret' on PATH) and
# FERRET_KEY_FILE (default ORG.db.key) are passed to the jobs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
N="" OUT="" ORG="" KEY="" EXTRA=()
while getopts n:o:d:k:x: opt; do
  case $opt in
    n) N=$OPTARG ;; o) OUT=$OPTARG ;; d) ORG=$OPTARG ;; k) KEY=$OPTARG ;;
    x) read -r -a EXTRA <<<"$OPTARG" ;; # e.g. -x "--partition=batch --cpus-per-task=4"
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$N" ] && [ -n "$OUT" ] && [ -n "$ORG" ] || {
  echo "usage: submit.sh -n N -o OUTDIR -d ORG.db [-k KEYFILE] [-x SBATCH-OPTIONS] TARGET..." >&2; exit 2; }
[ $# -gt 0 ] || { echo "submit.sh: no targets" >&2; exit 2; }
mkdir -p "$OUT"
export FERRET="${FERRET:-ferret}"
export FERRET_KEY_FILE="${KEY:-${FERRET_KEY_FILE:-$ORG.key}}"
# the key (64 hex digits) is made once here rather than by the first shard
if [ ! -s "$FERRET_KEY_FILE" ]; then
  (umask 077 && { head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n'; echo; } >"$FERRET_KEY_FILE")
fi
arr=$(sbatch --parsable --export=ALL --array=0-$((N - 1)) -o "$OUT/shard-%a.log" \
  ${EXTRA[@]+"${EXTRA[@]}"} "$HERE/ferret-shard.sbatch" "$OUT" "$@")
arr=${arr%%;*}
mrg=$(sbatch --parsable --export=ALL --dependency=afterany:"$arr" -o "$OUT/merge-$arr.log" \
  ${EXTRA[@]+"${EXTRA[@]}"} "$HERE/ferret-merge.sbatch" "$ORG" "$OUT")
echo "$arr ${mrg%%;*}"
