#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: run each libFuzzer target for N seconds with a
# corpus under build/fuzz/corpus-<target> (seeded from tests/fuzz/seeds/<target>
# when present). Crashes are written to build/fuzz/ and fail the run.
set -u
build=${1:-build}; secs=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
# UBSan only prints by default: make every report a crash libFuzzer records.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
for f in "$build"/fuzz/fuzz_*; do
  [[ -x "$f" ]] || continue
  name=$(basename "$f")
  corpus=$build/fuzz/corpus-$name
  mkdir -p "$corpus"
  seeds=()
  [[ -d "$root/tests/fuzz/seeds/$name" ]] && seeds=("$root/tests/fuzz/seeds/$name")
  echo "== $name for ${secs}s"
  "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/fuzz/$name-" \
    "$corpus" "${seeds[@]}" 2>&1 | grep -E 'stat::|ERROR|SUMMARY|Done|runtime error' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "   $name FOUND A CRASH (see $build/fuzz/)"; rc=1; }
done
exit $rc
