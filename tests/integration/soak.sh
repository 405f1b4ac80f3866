#!/usr/bin/env bash
# The 1-minute soak of `make test` (issue #18 point 3; docs/testing.md
# "Load and soak"): bench/load.sh --soak with a few clients for 45 s of
# steady mixed load (status, capability checks, grants, the loadctr capsule,
# chat turns against the local model server), then: no request failed, the
# daemon's RSS, fds and threads did not grow past the bounds after warm-up,
# every KV counter equals its answered increments and every grant is on
# disk (before and after a restart), every audit chain verifies. The checks
# are growth and equality, not timing. First, the growth check itself is
# shown to fail on processes that leak fds and memory.
set -u
source "$ASTRID_SRC/tests/lib.sh"
LG=$ASTRID_BUILD/bench/loadgen
export LOAD_SAMPLE_S=1 LOAD_AGENTS=${LOAD_AGENTS:-4}

bash -c 'while :; do exec {fd}</dev/null; sleep 0.05; done' &
leaker=$!
"$LG" --sample "$leaker" 8 >"$TEST_TMP/fd.out" 2>&1
rc=$?
kill "$leaker"
expect_eq "the growth check fails on a process leaking fds" \
  "$rc $(grep -c '^not ok - soak: daemon open fds' "$TEST_TMP/fd.out")" "1 1"
python3 -c '
import time
keep = []
while True:
    keep.append(b"x" * (2 << 20))
    time.sleep(0.1)' &
leaker=$!
"$LG" --sample "$leaker" 8 >"$TEST_TMP/rss.out" 2>&1
rc=$?
kill "$leaker"
expect_eq "  and on one growing its RSS (20 MiB/s)" \
  "$rc $(grep -c '^not ok - soak: daemon RSS' "$TEST_TMP/rss.out")" "1 1"
sleep 30 &
idle=$!
"$LG" --sample "$idle" 5 >"$TEST_TMP/idle.out" 2>&1
expect_eq "  and passes on an idle one" "$?" "0"
kill "$idle"

# ASan's quarantine keeps freed memory out of reuse (256 MiB by default): it
# would read as growth. A small one keeps the daemon's RSS about its live data.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=4"
# Under ASan, and only there, the daemon's anonymous memory climbs with the
# machine's load even so: +25 to +35 MiB fitted over the 33 s after warm-up
# in four runs beside another suite (CI's two at a time), while the release
# daemon under the same mix stays flat (+0.5 MiB over 135 s, `make soak`).
# So the sanitizer tree gets a wider memory bound (fds and threads keep
# theirs); a leak there is LeakSanitizer's to report at the daemon's exit,
# and `make soak` on the release tree holds the 16 MiB one.
if [[ $ASTRID_BUILD == */san ]]; then export LOAD_RSS_BOUND_MB=${LOAD_RSS_BOUND_MB:-64}; fi
bash "$ASTRID_SRC/bench/load.sh" --soak "${SOAK_SECONDS:-45}" >"$TEST_TMP/soak.out" 2>&1
rc=$?
sed -E 's/^(ok|not ok) [0-9]* ?- /\1 - /' "$TEST_TMP/soak.out" |
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      *) echo "# $line" ;;
    esac
  done
expect_eq "the soak run exits 0" "$rc" "0"
