#!/usr/bin/env bash
# Run every test suite against the build tree $1 and print one closing line:
#   N passed, N failed[, N skipped]
#
# Suites:
#   $BUILD/tests/test_*        cmocka programs (run with TAP output)
#   tests/integration/*.sh     shell suites printing TAP lines (see tests/lib.sh)
# Each "ok" line is a pass, "not ok" a failure, "# SKIP" a skip. A suite that
# exits non-zero without reporting a failure (a crash, a sanitizer report)
# counts as one failure. T=PATTERN runs only suites whose name contains it.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
export ASTRID_SRC=$root ASTRID_BUILD=$build
export ASTRID_SHARED=${ASTRID_SHARED:-$(cd "$root/.." && pwd)/shared}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP
filter=${T:-}
logdir=$build/test-logs
mkdir -p "$logdir"

# Suites run TEST_JOBS at a time (default 2: CI's cores; most suites wait on
# daemons and sockets more than they compute). Each suite has its own scratch
# home (tests/lib.sh), so they do not share state. A suite prints its line
# (and, failing, its first failures) in one write when it ends; the totals
# are summed from the per-suite result files.
jobs_max=${TEST_JOBS:-2}
resdir=$(mktemp -d "${TMPDIR:-/tmp}/astrid-results.XXXXXX")
trap 'rm -rf "$resdir"' EXIT
run_one() {
  local name=$1; shift
  local log=$logdir/$name.log start=$SECONDS
  timeout --kill-after=10 "${SUITE_TIMEOUT:-900}" "$@" >"$log" 2>&1 </dev/null
  local rc=$?
  local p f s out
  s=$(grep -cE '^ok .*# ?SKIP' "$log")
  p=$(grep -cE '^ok ' "$log"); p=$((p - s))
  f=$(grep -cE '^not ok ' "$log")
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; echo "not ok - $name exited $rc" >>"$log"; fi
  echo "$p $f $s" >"$resdir/$name"
  out=$(printf '%-40s %5d passed %3d failed %3d skipped  (%ds)' "$name" "$p" "$f" "$s" $((SECONDS - start)))
  if [[ $f -ne 0 ]]; then
    out+=$'\n'$(grep -E '^not ok |^# ' "$log" | head -n 20 | sed 's/^/    /')
    [[ $rc -ne 0 ]] && out+=$'\n'$(tail -n 15 "$log" | sed 's/^/    | /')
  fi
  printf '%s\n' "$out"
}
run_suite() {
  local name=$1
  [[ -n "$filter" && "$name" != *"$filter"* ]] && return
  while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n; done
  run_one "$@" &
}

for t in "$build"/tests/test_*; do
  [[ -x "$t" ]] || continue
  run_suite "$(basename "$t")" "$t"
done
for s in "$root"/tests/integration/*.sh; do
  [[ -f "$s" && "$s" != *_lib.sh ]] || continue
  run_suite "$(basename "$s" .sh)" bash "$s"
done
wait

pass=0 fail=0 skip=0
failed_suites=()
for r in "$resdir"/*; do
  [[ -f "$r" ]] || continue
  read -r p f s <"$r"
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  [[ $f -ne 0 ]] && failed_suites+=("$(basename "$r")")
done
[[ ${#failed_suites[@]} -gt 0 ]] && echo "failed suites: ${failed_suites[*]} (logs in $logdir)"
if [[ $skip -gt 0 ]]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[[ $fail -eq 0 && $((pass + fail)) -gt 0 ]]
