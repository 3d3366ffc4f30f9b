#!/usr/bin/env bash
# The bundled demo corpus (corpus/generate.py): files, a git history with a
# deleted secret and a CI log archive, plus decoys. Every planted secret must be
# found, and nothing else (no decoy may be reported).
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
python3 "$FERRET_SRC/corpus/generate.py" corp 2> /dev/null
run_ferret scan --db c.db corp/tree
assert_eq "$RC" 1 "corpus scan finds secrets"
run_ferret report --db c.db --format jsonl --secret-hashes
printf '%s\n' "$OUT" > r.jsonl
python3 - r.jsonl corp/expected.json <<'PY' && ok || fail "found set differs from the planted set"
import json, sys
got = {(r["rule"], r["secret_sha256"]) for r in map(json.loads, open(sys.argv[1])) }
exp = {(e["rule"], e["secret_sha256"]) for e in json.load(open(sys.argv[2]))}
missed, extra = exp - got, got - exp
if missed or extra:
    print("missed:", missed, "decoy or unexpected hits:", extra, file=sys.stderr)
    sys.exit(1)
PY
# exact numbers too: an empty planted set and an empty report would be "equal"
assert_eq "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' corp/expected.json)" 8 "8 secrets planted (the default seed)"
assert_eq "$(pyjsonl r.jsonl "len(rows)")" 8 "8 findings reported"
assert_eq "$(pyjsonl r.jsonl "[(o['source'], o['path'], o['line']) for r in rows for o in r['occurrences'] if o['source'] == 'git']")" "[('git', 'deploy.sh', 2)]" "the deleted file's secret is found in history"
finish
