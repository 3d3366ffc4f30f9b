#!/usr/bin/env bash
# Incremental and range scans on a real repository (issue 11 item 2, issue 14
# item 4): per pair, a first scan into a fresh DB, then one new commit on a new
# branch and the re-scan, then unchanged re-scans; and a range scan of a
# pull request against the empty range (the fixed cost). Prints wall seconds
# and CPU seconds (user + sys, all threads) and the medians.
#
#   scripts/bench-incr.sh FERRET CLONE [PAIRS] [PR_MERGE]
#
# CLONE is never modified: it is copied with hard links (git writes new
# objects and refs as new files) into a temporary directory. PR_MERGE: a
# merge commit whose second parent ends the pull request (its range is
# MERGE^1..MERGE^2); default: the first merge on the first-parent history
# whose branch holds exactly 20 commits (none: the range scans are left out).
# The new commit is made with plumbing (HEAD's tree plus one file, on a new
# branch): a bare or --no-checkout clone works as well as a checked-out one.
# A scan that exits 2 is timed like the others and counted in the output (a
# partial clone's missing blobs are skips since issue 11: exit 0/1, state kept).
# A checkout's work tree is looked at on every scan: the hard-linked copy
# changes every file's ctime, so the first scan hashes every tracked file
# (their stat differs from the index's) and ferret's stat cache spares the
# re-scans that; the work-tree summary of the last unchanged re-scan is printed.
# The repositories of issue 11 - git/git, terraform and pdf.js, cloned by
# scripts/bench-git-real.sh into /tmp/corpora/bench-git-real (pdf.js's mirror
# is a partial snapshot that `git clone --no-local` refuses: "unable to read
# 646148d7...", so bench-git-real.sh makes a local --no-checkout clone of it)
# - and two small ones (python-slack-sdk a bare clone, openai-python a
# checkout, where the process's fixed cost is most of a re-scan):
#   git clone -q --bare --no-local /work/.mirror/slackapi+python-slack-sdk/repo /tmp/corpora/incr/slack.git
#   git clone -q --no-local /work/.mirror/openai+openai-python/repo /tmp/corpora/openai-python
#   for r in /tmp/corpora/bench-git-real/git /tmp/corpora/bench-git-real/terraform \
#            /tmp/corpora/bench-git-real/pdfjs /tmp/corpora/incr/slack.git \
#            /tmp/corpora/openai-python; do
#     scripts/bench-incr.sh build/ferret $r 3; done
set -euo pipefail
FERRET=$(realpath "$1")
CLONE=$(realpath "$2")
PAIRS=${3:-3}
W=$(mktemp -d /tmp/bench-incr.XXXXXX)
trap 'rm -rf "$W"' EXIT
# A checkout is copied (a hard link changes the ctime of the clone's own
# files, and every first scan of the clone after it would re-hash its work
# tree); a repository without one shares its files.
if [ -d "$CLONE/.git" ]; then cp -a "$CLONE" "$W/repo"; else cp -al "$CLONE" "$W/repo"; fi
[ -f "$CLONE/.git/index" ] && cp --remove-destination "$CLONE/.git/index" "$W/repo/.git/index"
cd "$W"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# run LABEL ARGS...: one ferret run; appends "wall cpu" to LABEL's list. Both
# from the child itself (wait4: user + sys of every thread, in microseconds;
# /usr/bin/time's 10 ms steps were a fifth of a small repository's re-scan).
cat > "$W/timed.py" <<'PY'
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1), os.dup2(fd, 2)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    f.write("%.6f %.6f\n" % (wall, ru.ru_utime + ru.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))
PY
run() {
  local label=$1
  shift
  local rc=0
  python3 "$W/timed.py" "$W/time" "$FERRET" scan --quiet "$@" || rc=$?
  [ "$rc" -le 2 ] || { echo "ferret scan $* exited $rc" >&2; exit 1; }
  [ "$rc" -le 1 ] || echo "$label" >> "$W/exit2"
  cat "$W/time" >> "$W/$label"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
show() { # show LABEL: median wall and cpu
  printf '%-28s wall %8.4f s  cpu %8.4f s  (n=%d)\n' "$1" \
    "$(cut -d' ' -f1 "$W/$1" | median)" "$(cut -d' ' -f2 "$W/$1" | median)" "$(wc -l < "$W/$1")"
}

for i in $(seq "$PAIRS"); do
  rm -f db.db db.db-*
  run first --db db.db repo
  blob=$(echo "bench $i $RANDOM" | git -C repo hash-object -w --stdin)
  GIT_INDEX_FILE="$W/index" git -C repo read-tree HEAD
  GIT_INDEX_FILE="$W/index" git -C repo update-index --add --cacheinfo "100644,$blob,bench-incr-$i.txt"
  tree=$(GIT_INDEX_FILE="$W/index" git -C repo write-tree)
  commit=$(git -C repo commit-tree -p HEAD -m "bench $i" "$tree")
  git -C repo update-ref "refs/heads/bench-incr-$i" "$commit"
  run one-new-commit --db db.db repo
  for _ in 1 2 3 4 5; do run unchanged --db db.db repo; done
  "$FERRET" scan --db db.db repo 2>&1 | grep -E '^ferret: (git|work tree):' >"$W/last" || true
  echo "pair $i: first $(tail -1 first), one new commit $(tail -1 one-new-commit)" >&2
done

M=${4:-}
if [ -z "$M" ]; then
  for m in $(git -C repo rev-list --merges --first-parent -n 3000 HEAD); do
    if [ "$(git -C repo rev-list --count "$m^1..$m^2")" -eq 20 ]; then M=$m; break; fi
  done
fi
if [ -n "$M" ]; then
  for _ in 1 2 3 4 5; do
    rm -f r.db r.db-*; run range-empty --db r.db --range "$M^2..$M^2" repo
    rm -f r.db r.db-*; run range-pr --db r.db --range "$M^1..$M^2" repo
  done
  rm -f r.db r.db-*
  "$FERRET" scan --db r.db --range "$M^1..$M^2" repo 2>&1 | grep -E '^ferret: (complete|git:)' >&2 || true
fi

echo "$CLONE, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "an unchanged re-scan's summary:"
sed 's/^/  /' "$W/last"
show first
show one-new-commit
show unchanged
if [ -n "$M" ]; then
  show range-empty
  show range-pr
fi
awk -v a="$(cut -d' ' -f1 first | median)" -v b="$(cut -d' ' -f1 one-new-commit | median)" \
  -v c="$(cut -d' ' -f2 first | median)" -v d="$(cut -d' ' -f2 one-new-commit | median)" \
  'BEGIN {printf "one new commit / first scan: 1/%.0f (wall), 1/%.0f (CPU); target <= 1/50\n",
          a / b, c / d}'
awk -v u="$(cut -d' ' -f1 unchanged | median)" -v c="$(cut -d' ' -f2 unchanged | median)" \
  'BEGIN {printf "unchanged re-scan: %.4f s wall, %.4f s CPU; target <= 0.1 s\n", u, c}'
if [ -n "$M" ]; then
  echo "range: $(git -C repo rev-list --count "$M^1..$M^2") commits ($M^1..$M^2)"
else
  echo "range: no merge of a 20-commit branch in the last 3,000 first-parent commits: not run"
fi
[ -f "$W/exit2" ] && echo "scans that exited 2 (incomplete: missing objects): $(sort "$W/exit2" | uniq -c | tr '\n' ' ')"
true
