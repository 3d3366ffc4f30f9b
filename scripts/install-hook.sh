#!/usr/bin/env bash
# Installs ferret as the pre-receive hook of bare repositories, or into a hooks
# directory shared by many repositories.
#
#   scripts/install-hook.sh [--ferret PATH] REPO.git...          one hook per repository
#   scripts/install-hook.sh [--ferret PATH] --hooks-dir DIR REPO.git...
#                                     one shared hook in DIR; each REPO gets core.hooksPath=DIR
#
# Each repository also gets receive.advertisePushOptions=true, so that
# 'git push -o ferret.skip' reaches the hook (honoured only with ferret.allowBypass=true).
# Policy is read from git config: see 'ferret hook' in README.md.
set -euo pipefail
ferret=$(command -v ferret || true)
hooks_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ferret) ferret=$2; shift 2 ;;
    --hooks-dir) hooks_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
if [ -z "$ferret" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  ferret="$here/build/ferret"
fi
ferret=$(realpath "$ferret")
[ -x "$ferret" ] || { echo "install-hook: no ferret binary at $ferret (build it, or pass --ferret)" >&2; exit 2; }
write_hook() {
  mkdir -p "$1"
  cat > "$1/pre-receive" <<HOOK
#!/bin/sh
# installed by ferret's scripts/install-hook.sh: block pushes that add secrets
exec "$ferret" hook pre-receive
HOOK
  chmod 755 "$1/pre-receive"
}
[ -n "$hooks_dir" ] && write_hook "$hooks_dir"
for repo in "$@"; do
  git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || { echo "install-hook: $repo is not a git repository" >&2; exit 2; }
  gitdir=$(cd "$repo" && cd "$(git rev-parse --git-dir)" && pwd)
  if [ -n "$hooks_dir" ]; then
    git -C "$repo" config core.hooksPath "$(realpath "$hooks_dir")"
  else
    write_hook "$gitdir/hooks"
  fi
  git -C "$repo" config receive.advertisePushOptions true
  echo "install-hook: $repo: pre-receive -> $ferret"
done
