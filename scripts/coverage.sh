#!/usr/bin/env bash
# `make coverage`: a gcc --coverage build (no sanitizers, -O0 so lines map
# one to one) in $COV_BUILD (default build/cov), the whole suite run against
# it, then lcov's line and branch figures summed per folder of src/.
# The suite's own result does not stop the report (a failing test still
# covered what it ran); the closing line says how the suite went.
# Capsule processes confined by the sandbox may not be able to write their
# .gcda files; what they ran is then missing from the figures (undercounted,
# never overcounted).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${COV_BUILD:-build/cov}
jobs=${COV_JOBS:-1}
make --no-print-directory -j"$jobs" BUILD="$build" SAN=0 COV=1 OPT=-O0 all || exit 1
lcov --quiet --zerocounters --directory "$build/obj"
T=${T:-} bash tests/run.sh "$build" | tee "$build/coverage-suite.log"
suite_rc=${PIPESTATUS[0]}
info=$build/coverage.info
lcov --quiet --rc lcov_branch_coverage=1 --capture --directory "$build/obj" \
  --base-directory . --output-file "$info.raw" 2>"$build/lcov.log" || {
  echo "coverage: lcov --capture failed (see $build/lcov.log)" >&2
  exit 1
}
# Only the project's sources under src/: not system headers, generated glue
# or the tests themselves.
lcov --quiet --rc lcov_branch_coverage=1 --extract "$info.raw" "$PWD/src/*" \
  --output-file "$info" 2>>"$build/lcov.log" || exit 1
rm -f "$info.raw"
bash scripts/coverage-table.sh "$info" | tee "$build/coverage-table.md"
if [[ -n "${COV_HTML:-}" ]]; then
  genhtml --quiet --branch-coverage -o "$build/html" "$info" && echo "html: $build/html/index.html"
fi
echo "coverage: suite exited $suite_rc (log $build/coverage-suite.log)"
