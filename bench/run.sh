#!/usr/bin/env bash
# `make bench`: run every benchmark in $BUILD/bench. Each benchmark measures
# its own baseline in the same run and prints medians and ratios; nothing
# here is a pass/fail test. Scripts bench/*.sh run after the binaries.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export ASTRID_SRC=$root ASTRID_BUILD=$(cd "$build" && pwd)
export ASTRID_SHARED=${ASTRID_SHARED:-$(cd "$root/.." && pwd)/shared}
for b in "$ASTRID_BUILD"/bench/bench_*; do
  [[ -x "$b" ]] || continue
  echo "== $(basename "$b")"
  "$b" || echo "   (exited $?)"
done
for s in "$root"/bench/*.sh; do
  [[ -f "$s" && "$(basename "$s")" != run.sh ]] || continue
  echo "== $(basename "$s" .sh)"
  bash "$s" || echo "   (exited $?)"
done
