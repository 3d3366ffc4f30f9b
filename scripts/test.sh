#!/usr/bin/env bash
# The whole test suite: install what is needed, then build and run every test
# twice — a Release build with warnings as errors, and an AddressSanitizer +
# UndefinedBehaviorSanitizer build — then the tests that run threads under
# ThreadSanitizer, and check formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== format check (clang-format)"
git ls-files -co --exclude-standard -- 'src/*.[ch]' 'tests/*.[ch]' | xargs clang-format --dry-run -Werror

echo "== release build (-Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFERRET_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFERRET_WERROR=ON -DFERRET_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== thread sanitizer build (TSan): unit tests and the e2e tests that scan with several threads"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRET_WERROR=ON -DFERRET_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs"
# Reports go to files too: a race in a ferret run whose exit status a test does
# not check must still fail the stage. tests/tsan.supp: third-party code only.
tsan_logs=$PWD/build-tsan/tsan-reports tsan_supp=$PWD/tests/tsan.supp
rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
# One interrupt trial per signal and source: the shutdown paths run under TSan too.
(cd build-tsan && ASAN_OPTIONS= UBSAN_OPTIONS= LSAN_OPTIONS= FERRET_INTERRUPT_TRIALS=1 \
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$tsan_supp log_path=$tsan_logs/tsan" \
  ctest --output-on-failure -j"$jobs" -R '^(unit_.*|e2e_test_(scan|git|git_bad|logs|archives|hook|interrupt|shard))$')
if [ -n "$(ls -A "$tsan_logs")" ]; then
  cat "$tsan_logs"/*
  echo "ThreadSanitizer reported the races above" >&2
  exit 1
fi
