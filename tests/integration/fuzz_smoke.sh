#!/usr/bin/env bash
# Smoke of every libFuzzer target (tests/fuzz/, built by `make test` into
# $ASTRID_BUILD/fuzz when clang is installed): each replays its committed
# seed corpus and then fuzzes for FUZZ_SMOKE_SECONDS (default 10) with its
# dictionary, two targets at a time (~1.5 min for 17 targets). New inputs go
# to a scratch corpus, never into tests/fuzz/seeds. One TAP line per target:
# ok when it ran clean, not ok with the crash report otherwise (the crashing
# input is kept in $ASTRID_BUILD/fuzz/smoke-<target>-crash-*). The long runs
# are `make fuzz FUZZ_SECONDS=300` (docs/testing.md).
# The smoke's random seed is fixed (FUZZ_SMOKE_SEED, default 1) so that what a
# CI run finds, a developer replays; exploring new ground is the long runs' job.
set -u
source "$(dirname "$0")/../lib.sh"
fz=$ASTRID_BUILD/fuzz
secs=${FUZZ_SMOKE_SECONDS:-10}
targets=()
for f in "$fz"/fuzz_*; do [[ -f $f && -x $f ]] && targets+=("$f"); done
nsrc=$(find "$ASTRID_SRC/tests/fuzz" -maxdepth 1 -name 'fuzz_*.c' | wc -l)
if [[ ${#targets[@]} -eq 0 ]]; then
  skip "fuzz smoke" "no targets in $fz (clang missing? make fuzzers)"
  exit 0
fi
expect_eq "every tests/fuzz/fuzz_*.c is built" "${#targets[@]}" "$nsrc"
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
res=$(mktemp_dir)
run() {
  local f=$1 name corpus dict=() seeds=()
  name=$(basename "$f")
  corpus=$(mktemp_dir)
  [[ -d $ASTRID_SRC/tests/fuzz/seeds/$name ]] && seeds=("$ASTRID_SRC/tests/fuzz/seeds/$name")
  [[ -f $ASTRID_SRC/tests/fuzz/dict/${name#fuzz_}.dict ]] &&
    dict=("-dict=$ASTRID_SRC/tests/fuzz/dict/${name#fuzz_}.dict")
  "$f" "${dict[@]}" -seed="${FUZZ_SMOKE_SEED:-1}" -max_total_time="$secs" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$fz/smoke-$name-" "$corpus" "${seeds[@]}" >"$res/$name.log" 2>&1
  echo $? >"$res/$name.rc"
}
for f in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
  run "$f" &
done
wait
for f in "${targets[@]}"; do
  name=$(basename "$f")
  rc=$(cat "$res/$name.rc" 2>/dev/null || echo missing)
  stats=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$res/$name.log" | tail -n 1 |
    sed -E 's/^#([0-9]+)[[:space:]]+DONE +(cov: [0-9]+).*/\1 runs, \2/')
  if [[ $rc == 0 ]]; then
    ok "$name: seeds + ${secs}s clean ($stats)"
  else
    not_ok "$name: exit $rc" "$(grep -E 'ERROR|SUMMARY|runtime error|ESCAPE|GUARD|DIFF|refused|abort' \
      "$res/$name.log" | head -n 5 | tr '\n' ' ')"
  fi
done
