#!/usr/bin/env bash
# Report speed on a large store (issue 15 targets: 100,000 findings and
# 1,000,000 occurrences; text and JSONL <= 2 s, --summary <= 0.5 s).
#
#   scripts/bench-report.sh [FERRET [DIR [RUNS]]]
#
# Makes DIR/report.db once (a ferret store created by 'ferret scan' of an empty
# directory, then filled with SQL: 100,000 findings over the built-in rules, each
# in 2 blobs, each blob at 5 paths of one of 50 repositories: 200,000 matches,
# 1,000,000 locations, so 10 occurrences per finding), then times each report
# RUNS times (default 5) and prints min / median / max wall seconds. As a
# yardstick, the same occurrences read by the sqlite3 shell (no formatting) are
# timed in turn with the text report.
set -euo pipefail
FERRET=${1:-build/ferret}
DIR=${2:-/tmp/ferret-bench-report}
RUNS=${3:-5}
FINDINGS=100000
mkdir -p "$DIR/empty"
db=$DIR/report.db
if [ ! -s "$db" ] || [ "$(sqlite3 "$db" 'SELECT count(*) FROM findings')" != "$FINDINGS" ]; then
  rm -f "$db" "$db-wal" "$db-shm" "$db.key"
  "$FERRET" scan -q --db "$db" "$DIR/empty" || true
  echo "generating $db ..." >&2
  sqlite3 "$db" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE r AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM rules;
CREATE TEMP TABLE n AS WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 2 * $FINDINGS - 1) SELECT i FROM s;
INSERT INTO findings (id, rule_id, secret_sha256, preview, validated, first_seen, last_seen,
                      first_run, last_run, fid)
  SELECT i + 1, (SELECT id FROM r WHERE k = i % (SELECT count(*) FROM r)), lower(hex(randomblob(32))),
         'tok_****' || (i % 100), i % 3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1, 1,
         lower(hex(randomblob(6)))
    FROM n WHERE i < $FINDINGS;
INSERT INTO content (id, key, size, status, rules_hash, run_id)
  SELECT i + 1, 'git:' || lower(hex(randomblob(20))), 1000, 'scanned', 'bench', 1 FROM n;
INSERT INTO matches (content_id, finding_id, offset, line, col)
  SELECT i + 1, i / 2 + 1, 40, 1 + i % 50, 7 FROM n;
INSERT INTO locations (content_id, source_kind, repo, path, commit_id, author_name, author_email,
                       author_date, committer_date, ref, first_run, last_run)
  SELECT i + 1, 'git', '/srv/git/repo' || (i % 50) || '.git',
         'src/dir' || k || '/config' || i || '.env', lower(hex(randomblob(20))), 'Dev ' || (i % 100),
         'dev' || (i % 100) || '@example.com',
         strftime('%Y-%m-%dT%H:%M:%SZ', 1600000000 + i * 600 + k, 'unixepoch'),
         strftime('%Y-%m-%dT%H:%M:%SZ', 1600000000 + i * 600 + k, 'unixepoch'), 'refs/heads/main', 1, 1
    FROM n, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4);
COMMIT;
ANALYZE;
SQL
fi
echo "$(sqlite3 "$db" 'SELECT count(*) FROM findings') findings, $(sqlite3 "$db" 'SELECT count(*) FROM occurrences') occurrences" >&2

# median of RUNS wall times of a command (its output to /dev/null)
bench() {
  local name=$1 t
  shift
  local times=()
  for _ in $(seq "$RUNS"); do
    # (a report exits 1 when it lists findings: not a failure here)
    local rc=0
    /usr/bin/time -o "$DIR/time.txt" -f '%e %U %S' "$@" > /dev/null 2> "$DIR/err.txt" || rc=$?
    if [ "$rc" -gt 1 ]; then
      echo "$name: exit $rc: $(cat "$DIR/err.txt")" >&2
      exit 2
    fi
    t=$(tail -1 "$DIR/time.txt")
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" '{a[NR]=$1; c[NR]=$2+$3} END {
    printf "%-32s wall min %.2f median %.2f max %.2f s; cpu (median run) %.2f s\n", n, a[1], a[int((NR+1)/2)], a[NR], c[int((NR+1)/2)]}'
}
"$FERRET" report --db "$db" > "$DIR/report.txt" || true
"$FERRET" report --db "$db" --format jsonl > "$DIR/report.jsonl" || true
echo "text $(wc -c < "$DIR/report.txt") bytes, jsonl $(wc -c < "$DIR/report.jsonl") bytes" >&2
bench "report (text)" "$FERRET" report --db "$db"
bench "report --format jsonl" "$FERRET" report --db "$db" --format jsonl
bench "report --format json" "$FERRET" report --db "$db" --format json
bench "report --summary" "$FERRET" report --db "$db" --summary
bench "report --summary --format json" "$FERRET" report --db "$db" --summary --format json
bench "report --severity critical" "$FERRET" report --db "$db" --severity critical
bench "report --path 'src/dir0/*'" "$FERRET" report --db "$db" --path 'src/dir0/*' --format jsonl
bench "sqlite3 occurrences (floor)" sqlite3 "$db" "SELECT * FROM occurrences ORDER BY finding_id"
