#!/usr/bin/env bash
# The text report of a location without a path: an unreachable blob (written
# with `git hash-object -w`, referenced by no commit) has an empty path, which
# once printed whatever the heap held after "repo: " (an unterminated buffer).
# Asserts the exact "at" line, byte for byte, and the exact line count.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

tok=$($FAKE github 601)
git init -q r
(cd r && echo hi > README && git add README && gcommit alice "initial")
blob=$(printf 'TOKEN=%s\n' "$tok" | git -C r hash-object -w --stdin)
run_ferret scan --db d.db r
assert_eq "$RC" 1 "the unreachable blob's token is found"
run_ferret report --db d.db --format jsonl
printf '%s\n' "$OUT" > r.jsonl
assert_eq "$(occ r.jsonl "$(sha256 "$tok")")" "git-unreachable - 1 - - - - $T/r" "one location: the unreachable blob, no path"
run_ferret report --db d.db
assert_eq "$RC" 1 "report: findings, exit 1"
printf '%s\n' "$OUT" > r.txt
assert_eq "$(grep -c '' r.txt)" 5 "text report: rule line, secret line, one location, a blank line, the count"
# compared as bash strings: every byte but NUL (fputs stops there anyway)
assert_eq "$(sed -n 3p r.txt)" "    at      $T/r: :1:7" \
  "the location line is exactly 'repo: :line:column', no stray bytes (blob $blob)"
finish
