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
# The suites start python3 thousands of times. A version manager's shim in
# front of Debian's interpreter (pyenv's is a bash script that execs pyenv)
# costs ~0.6 s of CPU per start against ~0.05 s: it alone made the suite
# minutes longer. Debian's python3 (scripts/deps.txt, with python3-yaml)
# is the one the tests are written for, so it goes first on PATH.
if [[ -x /usr/bin/python3 && $(command -v python3) != /usr/bin/python3 ]]; then
  mkdir -p "$build/test-path"
  ln -sfn /usr/bin/python3 "$build/test-path/python3"
  export PATH=$build/test-path:$PATH
fi
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

# The longest suites start first, so that two slots finish together rather
# than one long suite running alone at the end (a static list: the order
# only moves wall time, never a result; docs/testing.md has the timings).
long_first=(hostile_vfs fuzz_smoke soak gate_approval wasm_spec chat_turn federation
  mcp_servers capsule_owner capsule_e2e chat_budget chat_providers chat_tools
  capsule_storage admin_bounds check_layers)
declare -A started=()
start_integration() {
  local s=$root/tests/integration/$1.sh
  [[ -f "$s" && -z ${started[$1]:-} ]] || return 0
  started[$1]=1
  run_suite "$1" bash "$s"
}
for n in "${long_first[@]}"; do start_integration "$n"; done
for t in "$build"/tests/test_*; do
  [[ -x "$t" ]] || continue
  run_suite "$(basename "$t")" "$t"
done
for s in "$root"/tests/integration/*.sh; do
  [[ -f "$s" && "$s" != *_lib.sh ]] || continue
  start_integration "$(basename "$s" .sh)"
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
