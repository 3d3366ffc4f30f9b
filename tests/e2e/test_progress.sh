#!/usr/bin/env bash
# The live progress line (issue 15, item 6) fits the terminal: on a pseudo-
# terminal 40, 24 and 12 columns wide (COLUMNS, the pty reports no size) every
# redraw is shorter than the width, so it never wraps and scrolls.
set -e
. "$(dirname "$0")/lib.sh"
cd "$T"
command -v script > /dev/null || { echo "no script(1): skipped"; finish; exit 0; }
git init -q r
printf 'A=%s\n' "$($FAKE github 951)" > r/a.env
(cd r && git add . && gcommit bob one)
for w in 200 40 24 12; do
  rm -f "p$w.db"*
  COLUMNS=$w script -qec "$FERRET scan --db p$w.db r" /dev/null > "tty$w.txt" || true
  python3 - "tty$w.txt" "$w" <<'PY' && ok || fail "a progress line wider than $w columns"
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
width = int(sys.argv[2])
draws = [seg.split("\r")[0] for seg in data.split("\r\x1b[K")[1:]]
lines = [d for d in draws if d and not d.startswith("ferret: complete")]
assert lines, "no progress line drawn"
for d in lines:
    assert len(d) < width, (len(d), d)
if width >= 200:
    assert lines[0].startswith("ferret: repos "), lines[0]
PY
done
finish
