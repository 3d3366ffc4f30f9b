#!/usr/bin/env bash
# Report speed on a large store (issue 15 targets: 100,000 findings and
# 1,000,000 occurrences; text and JSONL <= 2 s, --summary <= 0.5 s, HTML <= 5 s
# and <= 25 MB).
#
#   scripts/bench-report.sh [FERRET [DIR [RUNS]]]       (REF=OTHER_FERRET to compare)
#
# Makes DIR/report.db once (a ferret store created by 'ferret scan' of an empty
# directory, then filled with SQL: 100,000 findings over the built-in rules, each
# in 2 blobs, each blob at 5 paths of one of 50 repositories: 200,000 matches,
# 1,000,000 locations, so 10 occurrences per finding); it is made again when it
# is missing, has another size or cannot be read by FERRET. Then times each
# report RUNS times (default 5; output to /dev/null, HTML to a file) and prints
# the median wall and median CPU (user + sys) seconds, wall min and max, and the
# load average before and after. With REF set, REF's run of each report
# alternates with FERRET's and the median of the per-pair CPU ratios is printed.
# As a yardstick, the occurrences read by the sqlite3 shell (no formatting).
set -euo pipefail
FERRET=${1:-build/ferret}
DIR=${2:-/tmp/ferret-bench-report}
RUNS=${3:-5}
REF=${REF:-}
FINDINGS=100000
mkdir -p "$DIR/empty"
db=$DIR/report.db
usable() {
  [ -s "$db" ] && [ "$(sqlite3 "$db" 'SELECT count(*) FROM findings' 2> /dev/null)" = "$FINDINGS" ] || return 1
  local rc=0
  "$FERRET" report --db "$db" --summary > /dev/null 2>&1 || rc=$?
  [ "$rc" -le 1 ]
}
if ! usable; then
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

# one BINARY ARGS...: appends "wall cpu" of one report run to $DIR/t.<BINARY's slot>
one() {
  local slot=$1 rc=0
  shift
  /usr/bin/time -o "$DIR/time.txt" -f '%e %U %S' "$@" > /dev/null 2> "$DIR/err.txt" || rc=$?
  if [ "$rc" -gt 1 ]; then # (a report exits 1 when it lists findings: not a failure here)
    echo "$*: exit $rc: $(cat "$DIR/err.txt")" >&2
    exit 2
  fi
  tail -1 "$DIR/time.txt" | awk '{printf "%s %.2f\n", $1, $2 + $3}' >> "$DIR/t.$slot"
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# bench NAME ARGS...: RUNS runs of FERRET report ARGS (alternating with REF's)
bench() {
  local name=$1
  shift
  : > "$DIR/t.new"
  : > "$DIR/t.ref"
  for _ in $(seq "$RUNS"); do
    if [ "$1" = sqlite3 ]; then # the yardstick: no ferret
      one new "$@"
      continue
    fi
    if [ -n "$REF" ]; then one ref "$REF" "$@"; fi
    one new "$FERRET" "$@"
  done
  local w c lo hi
  w=$(cut -d' ' -f1 "$DIR/t.new" | median)
  c=$(cut -d' ' -f2 "$DIR/t.new" | median)
  lo=$(cut -d' ' -f1 "$DIR/t.new" | sort -n | head -1)
  hi=$(cut -d' ' -f1 "$DIR/t.new" | sort -n | tail -1)
  printf '%-34s wall median %.2f s (min %.2f max %.2f), cpu median %.2f s' "$name" "$w" "$lo" "$hi" "$c"
  if [ -n "$REF" ]; then
    printf '; ref cpu median %.2f s, ratio (median of pairs) %.2f' "$(cut -d' ' -f2 "$DIR/t.ref" | median)" \
      "$(paste -d' ' "$DIR/t.new" "$DIR/t.ref" | awk '{print ($4 > 0) ? $2 / $4 : 0}' | median)"
  fi
  echo
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$FERRET" report --db "$db" > "$DIR/report.txt" || true
"$FERRET" report --db "$db" --format jsonl > "$DIR/report.jsonl" || true
echo "text $(wc -c < "$DIR/report.txt") bytes, jsonl $(wc -c < "$DIR/report.jsonl") bytes" >&2
bench "report (text)" report --db "$db"
bench "report --format jsonl" report --db "$db" --format jsonl
bench "report --summary" report --db "$db" --summary
bench "report --format html" report --db "$db" --format html --output "$DIR/report.html"
echo "html $(wc -c < "$DIR/report.html") bytes"
bench "report --summary --format json" report --db "$db" --summary --format json
bench "report --severity critical" report --db "$db" --severity critical
bench "report --path 'src/dir0/*' (jsonl)" report --db "$db" --path 'src/dir0/*' --format jsonl
REF='' bench "sqlite3 occurrences (floor)" sqlite3 "$db" "SELECT * FROM occurrences ORDER BY finding_id"
# The critical path of one run of each (FERRET_REPORT_TRACE=1: each step's CPU
# per thread): the sum over the steps of the busiest thread's CPU, what the
# wall time comes to on an idle machine with two CPUs (on a loaded one, wall
# times measure the load).
for args in "" "--format jsonl" "--format html --output $DIR/report.html"; do
  # shellcheck disable=SC2086
  FERRET_REPORT_TRACE=1 "$FERRET" report --db "$db" $args 2> "$DIR/trace.txt" > /dev/null || true
  awk -v what="report ${args%% --output*}" '/^report: / {
      c = $7 + 0; if ($8 == "+" && $9 + 0 > c) c = $9 + 0; sum += c; steps = steps " " $2 "=" c }
    END { printf "%-34s critical path %.2f s of CPU (%s )\n", what, sum, steps }' "$DIR/trace.txt"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
