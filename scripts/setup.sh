#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to ferret's main job: install the
# packages, build (Release), generate the bundled demo corpus, scan it, and show
# the findings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
rm -rf corpus/out
python3 corpus/generate.py corpus/out
set +e
./build/ferret scan --db corpus/out/ferret.db corpus/out/tree
scan_rc=$?
set -e
if [ "$scan_rc" -ne 1 ]; then
  echo "setup: expected findings in the demo corpus (exit 1), ferret exited $scan_rc" >&2
  exit 1
fi
./build/ferret report --db corpus/out/ferret.db || true
echo "setup: done. ferret is ./build/ferret; the demo findings are in corpus/out/ferret.db"
