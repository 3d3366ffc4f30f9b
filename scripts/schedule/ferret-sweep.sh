#!/usr/bin/env bash
# A scheduled sweep of pipeline-log archives and repository mirrors, for cron or
# a systemd timer. Idempotent and incremental: unchanged files and repositories
# are not read again, and nothing is recorded twice.
#
#   ferret-sweep.sh DB DIR...
#
# Exit status (from ferret scan --exit-on-new): 0 no new findings, 1 new findings
# since the last sweep (their report is written next to the DB), 2 the sweep was
# incomplete or failed (see the log). A scheduler alerts on non-zero.
set -u
db=$1
shift
ferret=${FERRET:-ferret}
"$ferret" scan --quiet --exit-on-new --db "$db" "$@"
rc=$?
if [ "$rc" -eq 1 ]; then
  out="${db%.db}-new-$(date -u +%Y%m%dT%H%M%SZ).sarif"
  "$ferret" report --db "$db" --new-only --format sarif --output "$out"
  echo "ferret: new findings: $out" >&2
fi
exit "$rc"
