#!/usr/bin/env bash
# bench-git-real.sh: ferret's full-history scan of real repositories against
# the cost of reading every object with git itself,
#   git cat-file --batch-all-objects --batch --unordered > /dev/null
# measured alternately in one run (reference, 2-thread scan, reference, 1-thread
# scan, ... RUNS times), each scan on a fresh database; prints the medians, the
# per-pair ratios' median and the scans' peak RSS (/usr/bin/time -v), with the
# machine's load average before and after (a loaded machine inflates both
# sides; quote figures taken when it was low).
#
# usage: scripts/bench-git-real.sh [-n RUNS] [NAME=SOURCE ...]
#   default repositories: git (git/git), terraform (hashicorp/terraform: many
#   tags), pdfjs (mozilla/pdf.js: large binary history), each a plain
#   `git clone --no-local --no-checkout` of SOURCE into $CORPORA (default
#   /tmp/corpora/bench-git-real; outside the repository), made once.
#   FERRET: the binary (default build/ferret).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FERRET=${FERRET:-$ROOT/build/ferret}
CORPORA=${CORPORA:-/tmp/corpora/bench-git-real}
RUNS=3
if [ "${1:-}" = -n ]; then
  RUNS=$2
  shift 2
fi
REPOS=("$@")
if [ ${#REPOS[@]} -eq 0 ]; then
  REPOS=(git=/work/.mirror/git+git/repo terraform=/work/.mirror/hashicorp+terraform/repo
    pdfjs=/work/.mirror/mozilla+pdf.js/repo)
fi
[ -x "$FERRET" ] || { echo "no ferret binary at $FERRET (set FERRET)" >&2; exit 2; }
mkdir -p "$CORPORA"
W=$(mktemp -d /tmp/bench-git-real.XXXXXX)
trap 'rm -rf "$W"' EXIT

# timed OUT CMD...: appends "wall user sys maxrss_kb" of CMD to OUT
timed() {
  local out=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/t" "$@" > /dev/null 2> "$W/stderr" || true
  tail -1 "$W/t" >> "$out"
}

median() { python3 -c "import statistics,sys; print('%.2f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

for spec in "${REPOS[@]}"; do
  name=${spec%%=*}
  src=${spec#*=}
  dst="$CORPORA/$name"
  if [ ! -d "$dst" ]; then
    echo "cloning $src into $dst" >&2
    # a snapshot git cannot pack (an object missing behind some ref) is cloned
    # locally instead: its packs as they are (hard links), said in the output
    if ! git clone -q --no-local --no-checkout "$src" "$dst"; then
      rm -rf "$dst"
      git clone -q --no-checkout "$src" "$dst"
      touch "$dst/.git/bench-local-clone"
    fi
  fi
  rm -f "$W"/ref "$W"/s2 "$W"/s1
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  # warm the page cache: both sides read the same pack files
  git -C "$dst" cat-file --batch-all-objects --batch --unordered > /dev/null
  for _ in $(seq "$RUNS"); do
    timed "$W/ref" git -C "$dst" cat-file --batch-all-objects --batch --unordered
    rm -f "$W"/db*
    timed "$W/s2" "$FERRET" scan --quiet --db "$W/db" --threads 2 "$dst"
    timed "$W/ref" git -C "$dst" cat-file --batch-all-objects --batch --unordered
    rm -f "$W"/db*
    timed "$W/s1" "$FERRET" scan --quiet --db "$W/db" --threads 1 "$dst"
  done
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  # pairs: s2[i] with ref[2i], s1[i] with ref[2i+1]
  mapfile -t ref < <(cut -d' ' -f1 "$W/ref")
  mapfile -t s2 < <(cut -d' ' -f1 "$W/s2")
  mapfile -t s1 < <(cut -d' ' -f1 "$W/s1")
  r2=() r1=()
  for i in $(seq 0 $((RUNS - 1))); do
    r2+=("$(python3 -c "print(${s2[$i]} / max(${ref[$((2 * i))]}, 0.01))")")
    r1+=("$(python3 -c "print(${s1[$i]} / max(${ref[$((2 * i + 1))]}, 0.01))")")
  done
  cpu2=$(awk '{ print $2 + $3 }' "$W/s2" | tr '\n' ' ')
  cpu1=$(awk '{ print $2 + $3 }' "$W/s1" | tr '\n' ' ')
  cpur=$(awk '{ print $2 + $3 }' "$W/ref" | tr '\n' ' ')
  # shellcheck disable=SC2086
  how="git clone --no-local"
  [ -e "$dst/.git/bench-local-clone" ] && how="local clone: the snapshot's own packs"
  printf '%s (%s, %s; %s packs): load %s -> %s, %d pairs\n' "$name" "$dst" "$how" \
    "$(find -L "$dst" -path '*/objects/pack/*.pack' | wc -l)" "$load0" "$load1" "$RUNS"
  # shellcheck disable=SC2086
  printf '  git cat-file --batch-all-objects --batch --unordered: wall %s s (median), cpu %s s\n' \
    "$(median "${ref[@]}")" "$(median $cpur)"
  # shellcheck disable=SC2086
  printf '  ferret scan --threads 2: wall %s s, cpu %s s, ratio %s (median of pairs), peak RSS %s MB\n' \
    "$(median "${s2[@]}")" "$(median $cpu2)" "$(median "${r2[@]}")" \
    "$(awk '{ if ($4 > m) m = $4 } END { printf "%.0f", m / 1024 }' "$W/s2")"
  # shellcheck disable=SC2086
  printf '  ferret scan --threads 1: wall %s s, cpu %s s, ratio %s (median of pairs), peak RSS %s MB\n' \
    "$(median "${s1[@]}")" "$(median $cpu1)" "$(median "${r1[@]}")" \
    "$(awk '{ if ($4 > m) m = $4 } END { printf "%.0f", m / 1024 }' "$W/s1")"
done
