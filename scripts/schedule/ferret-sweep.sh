#!/usr/bin/env bash
# A scheduled sweep of pipeline-log archives and repository mirrors, for cron or
# a systemd timer. Idempotent and incremental: unchanged files and repositories
# are not read again, and nothing is recorded twice.
#
#   ferret-sweep.sh DB DIR...
#
# New findings are reported by kind, each in its own SARIF file next to the DB:
# leaked secrets in DB-new-secrets-TIME.sarif, threat indicators (an attack
# traced in a CI log or a pipeline definition) in DB-new-indicators-TIME.sarif.
# Each kind can have its own alert: FERRET_ON_NEW_SECRETS and
# FERRET_ON_NEW_INDICATORS, when set, are commands run with the report's path
# as their argument (e.g. a mail to the credential owners, a page to the
# security on-call).
#
# Exit status: 0 no new findings; 1 new secrets (new indicators may come with
# them: see the second report); 3 new threat indicators and no new secret;
# 2 the sweep was incomplete or failed (see the log). A scheduler alerts on
# non-zero and can tell 1 from 3.
set -u
db=$1
shift
ferret=${FERRET:-ferret}
"$ferret" scan --quiet --exit-on-new --db "$db" "$@"
rc=$?
[ "$rc" -eq 1 ] || exit "$rc"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
new_of() { # new_of KIND: how many findings of KIND the last sweep saw first
  "$ferret" report --db "$db" --new-only --kind "$1" --format jsonl | grep -c '^{'
}
alert() { # alert KIND LABEL HOOK
  local out="${db%.db}-new-$1s-$stamp.sarif"
  "$ferret" report --db "$db" --new-only --kind "$1" --format sarif --output "$out"
  echo "ferret: new $2: $out" >&2
  if [ -n "$3" ]; then
    $3 "$out" || echo "ferret: the alert command for new $2 failed" >&2
  fi
}
secrets=$(new_of secret)
indicators=$(new_of indicator)
[ "$secrets" -gt 0 ] && alert secret secrets "${FERRET_ON_NEW_SECRETS:-}"
[ "$indicators" -gt 0 ] && alert indicator "threat indicators" "${FERRET_ON_NEW_INDICATORS:-}"
if [ "$secrets" -gt 0 ]; then exit 1; fi
if [ "$indicators" -gt 0 ]; then exit 3; fi
exit 0
