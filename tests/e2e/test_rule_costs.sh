#!/usr/bin/env bash
# 'ferret rules check' times every rule alone on its fixed cost text and fails a
# cost outlier (issue 13 item 4). The outlier here is a rule whose lookahead
# Hyperscan cannot run: in prefilter mode every run of letters is a candidate,
# each confirmed by PCRE2. Its examples and negative examples are right, so the
# cost is the only problem the check can report. A Debug / sanitizer build
# reports the figures without enforcing them: there the rule passes.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"

mkdir rules
cat >rules/slow.yml <<'YML'
rules:
  - id: test.slow-lookahead
    name: A word followed by nine digits
    description: every run of letters is a Hyperscan candidate (the lookahead)
    pattern: '([A-Za-z_.]{2,})(?=[0-9]{9})'
    severity: low
    confidence: low
    attack: T1552.001
    examples:
      - 'abcd123456789'
      - 'x = "tokenval987654321"'
      - 'secret_123456789'
    negative_examples:
      - 'abcd 123456789'
      - 'tokenval98765'
      - '1234567890123'
YML

FERRET_RULE_COSTS=1 run_ferret rules check --rules rules
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^cost test.slow-lookahead ')" 1 \
  "FERRET_RULE_COSTS=1 prints the rule's figures"
if [[ $OUT == *"limits not enforced"* ]]; then
  assert_eq "$RC" 0 "Debug / sanitizer build: costs reported, not enforced"
  assert_not_contains "$ERR" "costs" "no cost failure where costs are not enforced"
else
  assert_eq "$RC" 2 "the outlier fails the check"
  assert_eq "$(printf '%s\n' "$ERR" | grep -c 'rules/slow.yml:2: rule test.slow-lookahead: costs ')" 1 \
    "the outlier is named with its file and line"
  assert_eq "$(printf '%s\n' "$ERR" | grep -c ': costs ')" 1 "no other rule is an outlier"
  assert_contains "$ERR" "rules check failed: 1 problem" "the cost is the only problem"
  # its own figures: every letter of the text a candidate, each one confirmed
  cand=$(printf '%s\n' "$ERR" | sed -n 's/.*test.slow-lookahead: costs .* ms to scan the rule-cost text alone (\([0-9]*\) candidates.*/\1/p')
  [ "${cand:-0}" -gt 100000 ] && ok || fail "candidates: '$cand'"
fi
finish
