#!/usr/bin/env bash
# Threat indicators in generated CI logs (corpus/gen-indicators.py, seed 1):
# GitHub Actions and Azure Pipelines zips, GitLab and Jenkins logs, every
# indicator rule planted in several spellings, with decoys beside them (the
# metadata address in documentation and in cloud agents' own requests, a
# README's code block, stratum as a word, port checks, harmless pipes,
# read-only audit commands). Scored by corpus/score-indicators.py: recall at
# least 99% per rule, exactly 0 decoy hits. Seeds 2-5 pass too (checked by
# hand; see the README).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
python3 "$FERRET_SRC/corpus/gen-indicators.py" c --seed 1 2> gen.txt
assert_eq "$(cat gen.txt)" "c: 24 files, 304 planted indicator lines, 169 decoy lines" "the corpus of seed 1"
cd c
run_ferret scan --db s.db logs
assert_eq "$RC" 1 "scan: indicators found"
"$FERRET" report --db s.db --format jsonl --kind indicator > ind.jsonl || true
python3 "$FERRET_SRC/corpus/score-indicators.py" truth.json ind.jsonl > score.txt && ok || fail "score ($(grep -v ' = 1.000$' score.txt | head -20 | tr '\n' '|'))"
assert_eq "$(grep -c ' recall ' score.txt)" 27 "every indicator rule scored"
assert_eq "$(grep -c ' = 1.000$' score.txt)" 27 "recall 100% for every rule on seed 1"
assert_eq "$(grep '^decoy lines' score.txt)" "decoy lines 169, decoy hits 0" "no decoy fires"
assert_eq "$("$FERRET" report --db s.db --format jsonl --kind secret | grep -c '^{' || true)" 0 "no secret in the corpus"
cd ..
finish
