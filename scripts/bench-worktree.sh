#!/usr/bin/env bash
# What the work-tree scan costs (README, "The working tree"): a re-scan of a
# checkout whose history is unchanged is a status check of its work tree; the
# same repository's bare clone (no work tree) is the yardstick, and
# 'git status' on the same tree the reference for the status check itself.
#   scripts/bench-worktree.sh FERRET GIT_REPO [WORKDIR]
# GIT_REPO: any repository (its HEAD's tree is committed alone into a fresh
# repository under WORKDIR, default /tmp/corpora/bench-worktree). Needs hyperfine.
set -euo pipefail
FERRET=$(realpath "$1") REPO=$2 W=${3:-/tmp/corpora/bench-worktree}
mkdir -p "$W"
cd "$W"
if [ ! -d flat ]; then # one commit of the repository's HEAD tree: a complete, fast first scan
  rm -rf flat.tmp && mkdir flat.tmp
  git -C "$REPO" archive HEAD | tar -x -C flat.tmp
  git -C flat.tmp init -q && git -C flat.tmp add -A
  git -C flat.tmp -c user.name=bench -c user.email=bench@example.com commit -qm flat
  mv flat.tmp flat
  rm -rf flat.git && git clone -q --bare flat flat.git
fi
echo "files: $(git -C flat ls-files | wc -l)"
rm -f wt.db* bare.db*
"$FERRET" scan --db wt.db --quiet flat || true # first scans: history read once
"$FERRET" scan --db bare.db --quiet flat.git || true
run() {
  hyperfine -N --warmup 2 --runs 15 --style basic \
    "$FERRET scan --db wt.db --quiet flat" "$FERRET scan --db bare.db --quiet flat.git" \
    "git -C flat status --porcelain --untracked-files=all" -i
}
echo "== clean work tree"
run
echo "== one modified and one untracked file (read by the first sweep, then remembered)"
echo "// local change" >>"$(git -C flat ls-files | head -1 | sed 's|^|flat/|')"
printf 'NAME=bench\n' >flat/.env.local
"$FERRET" scan --db wt.db flat 2>&1 | grep 'work tree' || true
run
git -C flat checkout -q -- . && rm -f flat/.env.local
