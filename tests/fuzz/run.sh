#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: run each libFuzzer target for N seconds with a
# corpus under build/fuzz/corpus-<target> (seeded from tests/fuzz/seeds/<target>
# when present) and its dictionary tests/fuzz/dict/<name without fuzz_>.dict
# when present. FUZZ_ONLY=fuzz_a,fuzz_b runs only those targets. Crashes are
# written to build/fuzz/ and fail the run.
set -u
build=${1:-build}; secs=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
# UBSan only prints by default: make every report a crash libFuzzer records.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
for f in "$build"/fuzz/fuzz_*; do
  [[ -x "$f" ]] || continue
  name=$(basename "$f")
  [[ -n "${FUZZ_ONLY:-}" && ",$FUZZ_ONLY," != *",$name,"* ]] && continue
  corpus=$build/fuzz/corpus-$name
  mkdir -p "$corpus"
  seeds=()
  [[ -d "$root/tests/fuzz/seeds/$name" ]] && seeds=("$root/tests/fuzz/seeds/$name")
  dict=()
  [[ -f "$root/tests/fuzz/dict/${name#fuzz_}.dict" ]] && dict=("-dict=$root/tests/fuzz/dict/${name#fuzz_}.dict")
  echo "== $name for ${secs}s"
  "$f" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/fuzz/$name-" \
    "$corpus" "${seeds[@]}" 2>&1 | grep -E 'stat::|ERROR|SUMMARY|Done|DONE|runtime error' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "   $name FOUND A CRASH (see $build/fuzz/)"; rc=1; }
done
exit $rc
