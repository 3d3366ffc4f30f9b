#!/usr/bin/env bash
# Installs ferret as a git hook: the pre-receive hook of server repositories,
# or the pre-commit / pre-push hooks of a developer's clone.
#
#   scripts/install-hook.sh [--ferret PATH] [--chain] REPO.git...      server: hooks/pre-receive
#   scripts/install-hook.sh [--ferret PATH] [--chain] --hooks-dir DIR REPO.git...
#        server, one shared hook in DIR; each REPO gets core.hooksPath=DIR
#   scripts/install-hook.sh [--ferret PATH] [--chain] --client [--hooks pre-commit,pre-push] REPO...
#        client: pre-commit and pre-push (default both) in the clone's hooks directory
#
# An existing hook that is not ferret's is never overwritten: the install stops
# with a message, or with --chain the old hook is kept as NAME.pre-ferret and
# runs first (it still blocks when it fails; ferret runs when it passes).
# core.hooksPath makes git ignore a repository's own hooks/ directory, so with
# --hooks-dir each repository's own hooks still run: the shared pre-receive runs
# the repository's hooks/pre-receive first, and every other hook a repository
# has gets a forwarder in DIR (rerun the install after adding hooks there). A
# repository whose core.hooksPath points elsewhere is refused.
# Server repositories also get receive.advertisePushOptions=true, so that
# 'git push -o ferret.skip' reaches the hook (honoured only with ferret.allowBypass=true).
# Policy is read from git config: see "Gates" in README.md.
set -euo pipefail
ferret=$(command -v ferret || true)
hooks_dir=""
client=0
chain=0
client_hooks="pre-commit,pre-push"
usage() { sed -n '2,23p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --ferret) ferret=$2; shift 2 ;;
    --hooks-dir) hooks_dir=$2; shift 2 ;;
    --client) client=1; shift ;;
    --hooks) client_hooks=$2; shift 2 ;;
    --chain) chain=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "install-hook: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
if [ -z "$ferret" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  ferret="$here/build/ferret"
fi
ferret=$(realpath "$ferret")
[ -x "$ferret" ] || { echo "install-hook: no ferret binary at $ferret (build it, or pass --ferret)" >&2; exit 2; }
[ "$client" = 1 ] && [ -n "$hooks_dir" ] && { echo "install-hook: --client and --hooks-dir do not go together" >&2; exit 2; }
MARK="installed by ferret's scripts/install-hook.sh"
die() { echo "install-hook: $*" >&2; exit 2; }
ours() { [ -f "$1" ] && grep -q "$MARK" "$1"; }

# hook_body NAME LOCAL: the script of hook NAME. It runs first the hook it
# replaced (NAME.pre-ferret beside it) and, when LOCAL is 1 (a shared hooks
# directory), the repository's own hooks/NAME; then ferret. Hooks that read
# stdin (pre-receive, pre-push) get it saved, so each of them reads it whole.
hook_body() {
  local name=$1 local=$2 stdin=0
  case "$name" in pre-receive|pre-push) stdin=1 ;; esac
  echo "#!/bin/sh"
  echo "# $MARK: $name"
  echo "# Runs the hook it replaced ($name.pre-ferret, if any), then ferret."
  if [ "$stdin" = 1 ]; then
    echo 'in=$(mktemp) || exit 1'
    echo 'trap '\''rm -f "$in"'\'' EXIT'
    echo 'cat > "$in"'
  fi
  local redirect=""
  [ "$stdin" = 1 ] && redirect=' < "$in"'
  echo 'here=$(dirname "$0")'
  echo "if [ -x \"\$here/$name.pre-ferret\" ]; then \"\$here/$name.pre-ferret\" \"\$@\"$redirect || exit \$?; fi"
  if [ "$local" = 1 ]; then
    echo "# core.hooksPath points here: the repository's own hook still runs"
    echo 'gd=$(git rev-parse --git-common-dir) || exit 1'
    echo "own=\"\$gd/hooks/$name\""
    echo "if [ -x \"\$own\" ] && [ ! \"\$own\" -ef \"\$0\" ] && ! grep -q \"$MARK\" \"\$own\"; then"
    echo "  \"\$own\" \"\$@\"$redirect || exit \$?"
    echo "fi"
  fi
  echo "\"$ferret\" hook $name \"\$@\"$redirect"
}

# forwarder NAME: a hook in a shared directory that only runs the repository's own.
forwarder() {
  echo "#!/bin/sh"
  echo "# $MARK: forwarder"
  echo "# core.hooksPath points here: each repository's own $1 still runs"
  echo 'gd=$(git rev-parse --git-common-dir) || exit 1'
  echo "[ -x \"\$gd/hooks/$1\" ] || exit 0"
  echo "exec \"\$gd/hooks/$1\" \"\$@\""
}

# install DIR NAME LOCAL: writes DIR/NAME, never over a hook that is not ferret's
install_one() {
  local dir=$1 name=$2 local=$3 f="$1/$2"
  mkdir -p "$dir"
  if [ -e "$f" ] && ! ours "$f"; then
    if [ "$chain" = 1 ]; then
      [ -e "$f.pre-ferret" ] && die "$f.pre-ferret exists already: refusing to chain over it"
      mv "$f" "$f.pre-ferret"
      echo "install-hook: $f: the existing hook is kept as $name.pre-ferret and runs first"
    else
      die "$f exists and is not ferret's: not overwritten. Rerun with --chain to keep it (it runs first, then ferret), or move it away"
    fi
  fi
  hook_body "$name" "$local" > "$f.tmp"
  chmod 755 "$f.tmp"
  mv "$f.tmp" "$f"
}

git_dir_of() {
  git -C "$1" rev-parse --git-dir > /dev/null 2>&1 || die "$1 is not a git repository"
  (cd "$1" && cd "$(git rev-parse --git-common-dir)" && pwd)
}

if [ "$client" = 1 ]; then
  IFS=, read -r -a names <<< "$client_hooks"
  for n in "${names[@]}"; do
    case "$n" in pre-commit|pre-push) ;; *) die "--hooks: $n is not a client hook (pre-commit, pre-push)" ;; esac
  done
  for repo in "$@"; do
    git_dir_of "$repo" > /dev/null
    # where git looks for hooks: core.hooksPath (a hook manager's) included
    hd=$(cd "$repo" && git rev-parse --path-format=absolute --git-path hooks)
    for n in "${names[@]}"; do
      install_one "$hd" "$n" 0
      echo "install-hook: $repo: $n -> $ferret"
    done
  done
  exit 0
fi

if [ -n "$hooks_dir" ]; then
  mkdir -p "$hooks_dir"
  hooks_dir=$(realpath "$hooks_dir")
  for repo in "$@"; do # refuse before changing anything
    gd=$(git_dir_of "$repo")
    cur=$(git -C "$repo" config core.hooksPath || true)
    if [ -n "$cur" ] && [ "$(realpath -m "$cur")" != "$hooks_dir" ]; then
      die "$repo: core.hooksPath is $cur already; pointing it at $hooks_dir would disable the hooks there"
    fi
  done
  install_one "$hooks_dir" pre-receive 1
fi
for repo in "$@"; do
  gd=$(git_dir_of "$repo")
  if [ -n "$hooks_dir" ]; then
    # every hook the repository has keeps running through a forwarder
    for h in "$gd"/hooks/*; do
      [ -f "$h" ] && [ -x "$h" ] || continue
      name=$(basename "$h")
      case "$name" in *.sample|*.pre-ferret|pre-receive) continue ;; esac
      if [ ! -e "$hooks_dir/$name" ]; then
        forwarder "$name" > "$hooks_dir/$name" && chmod 755 "$hooks_dir/$name"
        echo "install-hook: $hooks_dir/$name forwards to each repository's own $name"
      elif ! ours "$hooks_dir/$name"; then
        die "$repo: its hooks/$name would be disabled by core.hooksPath: $hooks_dir/$name is not ferret's forwarder"
      fi
    done
    git -C "$repo" config core.hooksPath "$hooks_dir"
  else
    install_one "$gd/hooks" pre-receive 0
  fi
  git -C "$repo" config receive.advertisePushOptions true
  echo "install-hook: $repo: pre-receive -> $ferret"
done
