#!/usr/bin/env bash
# The man page and the bash/zsh completions come from one description of the
# options, docs/cli.yml (issue 15, item 6): the checked-in files are what
# scripts/gen-cli-docs.py makes of it, every command's --help names exactly its
# options, the man page renders without warnings, and bash completes commands,
# options and option values.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
python3 "$FERRET_SRC/scripts/gen-cli-docs.py" gen
for f in docs/ferret.1 completions/ferret.bash completions/_ferret; do
  if cmp -s "gen/$f" "$FERRET_SRC/$f"; then ok; else fail "$f is not what docs/cli.yml makes (run scripts/gen-cli-docs.py)"; fi
done

# --help and docs/cli.yml name the same options
for cmd in scan report triage merge rules; do
  "$FERRET" "$cmd" --help > help.txt 2>&1 || true
  got=$(grep -oE '^ +--[a-z][a-z-]*' help.txt | tr -d ' ' | sort -u | tr '\n' ' ')
  want=$(python3 -c "
import sys, yaml
cli = yaml.safe_load(open('$FERRET_SRC/docs/cli.yml'))
c = [c for c in cli['commands'] if c['name'] == '$cmd'][0]
print(' '.join(sorted('--' + o['name'] for o in c['options'] if o['name'] != 'help')) + ' ')")
  assert_eq "$got" "$want" "ferret $cmd --help and docs/cli.yml"
done

# the man page renders cleanly
if command -v man > /dev/null; then
  MANWIDTH=80 man --warnings -l "$FERRET_SRC/docs/ferret.1" > man.txt 2> man.err || true
  assert_eq "$(cat man.err)" "" "man page: no warnings"
  assert_contains "$(cat man.txt)" "--all-locations" "man page lists report options"
fi

# bash completion
complete_words() { # complete_words WORD... : what bash offers for the last word
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ferret; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
    _ "$FERRET_SRC/completions/ferret.bash" "$@"
}
assert_eq "$(complete_words ferret tri)" "triage " "a command"
assert_eq "$(complete_words ferret report --sev)" "--severity " "an option"
assert_eq "$(complete_words ferret report --severity "")" "critical high low medium " "an option's values"
assert_eq "$(complete_words ferret report --format j)" "json jsonl " "formats"
assert_eq "$(complete_words ferret triage --status "")" "accepted false-positive open revoked " "triage statuses"
assert_eq "$(complete_words ferret rules "")" "check list " "rules subcommands"
finish
