#!/usr/bin/env bash
# `make coverage`: a gcc --coverage build (no sanitizers, -O0 so lines map
# one to one) in $COV_BUILD (default build/cov), the whole suite run against
# it, then lcov's line and branch figures summed per folder of src/.
# The suite's own result does not stop the report (a failing test still
# covered what it ran); the closing line says how the suite went.
# Capsule processes confined by the sandbox may not be able to write their
# .gcda files; what they ran is then missing from the figures (undercounted,
# never overcounted).
# COV_BASE=FILE (an earlier run's coverage.info) is added to this run's
# capture before the table: `T=cov_ COV_BASE=... make coverage` gives the
# figures of the earlier whole-suite run plus the suites T selects, without
# running the whole suite again (hit counts add up; a line is covered when
# either run covered it).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${COV_BUILD:-build/cov}
jobs=${COV_JOBS:-1}
if [[ -n "${COV_BASE:-}" ]]; then
  [[ -f "$COV_BASE" ]] || { echo "coverage: COV_BASE $COV_BASE: no such file" >&2; exit 1; }
  # The capture below overwrites $build/coverage.info: keep the base elsewhere.
  [[ "$(realpath "$COV_BASE")" != "$(realpath -m "$build/coverage.info")" ]] || {
    echo "coverage: COV_BASE must not be $build/coverage.info (copy it first)" >&2
    exit 1
  }
fi
make --no-print-directory -j"$jobs" BUILD="$build" SAN=0 COV=1 OPT=-O0 all || exit 1
lcov --quiet --zerocounters --directory "$build/obj"
T=${T:-} bash tests/run.sh "$build" | tee "$build/coverage-suite.log"
suite_rc=${PIPESTATUS[0]}
# A process writes its .gcda when it exits: daemons a suite left running
# (an --ephemeral one exits 30 s after its last client; a stop takes a
# moment) are waited for, up to 60 s, before the capture, else their counts
# are missing. (Processes a suite kills with SIGKILL never write theirs:
# docs/testing.md "Coverage" lists them.)
daemon=$(cd "$build" && pwd)/bin/astrid-daemon
for _ in $(seq 120); do
  pgrep -f "^$daemon" >/dev/null || break
  sleep 0.5
done
pgrep -f "^$daemon" >/dev/null && echo "coverage: daemons of $daemon still running; their counts are missing" >&2
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
if [[ -n "${COV_BASE:-}" ]]; then
  lcov --quiet --rc lcov_branch_coverage=1 -a "$COV_BASE" -a "$info" \
    --output-file "$info.sum" 2>>"$build/lcov.log" && mv "$info.sum" "$info" || {
    echo "coverage: could not add $COV_BASE (see $build/lcov.log)" >&2
    exit 1
  }
  echo "coverage: added $COV_BASE"
fi
bash scripts/coverage-table.sh "$info" | tee "$build/coverage-table.md"
if [[ -n "${COV_HTML:-}" ]]; then
  genhtml --quiet --branch-coverage -o "$build/html" "$info" && echo "html: $build/html/index.html"
fi
echo "coverage: suite exited $suite_rc (log $build/coverage-suite.log)"
