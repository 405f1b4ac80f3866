#!/usr/bin/env bash
# `make lint`: clang-tidy and cppcheck over the project's host C sources;
# fails on any finding and ends with one summary line (docs/testing.md
# "Static analysis"). Uses the same flags as the build, so no compile
# database is needed; clang-tidy runs LINT_JOBS files at a time (default:
# the number of CPUs), each file's findings in build/lint/<path>.log.
#
# Not linted, on purpose: build/gen (host_glue.c, sdk_imports.c) is written
# by src/witgen, which is linted itself, and a finding there is fixed in the
# generator, not in its output; the wasm2c output of capsules (in the AOT
# cache) is third-party generated code.
# Guest code (sdk/c/astrid.c, capsules/, tests/capsules/) is linted as
# astrid-build compiles it: for wasm32-wasi against the SDK and the generated
# imports header. sdk/c/astrid_json.c, which host tests and guests both
# compile, is linted once, with the host's flags.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
pkgs="libsodium lmdb jansson yaml-0.1 libcurl libuv uuid libarchive libseccomp cmocka"
flags="-std=c17 -D_GNU_SOURCE -Iinclude -Isrc -Isdk/c -Ibuild/gen $(pkg-config --cflags $pkgs)"
# The cmocka tests get tests/lint/cmocka_noreturn.h first: it tells the
# analyzer that a failed assert does not return (see the header).
test_flags="$flags -include tests/lint/cmocka_noreturn.h"
# In a guest a pointer is an offset into linear memory that the canonical
# ABI passes as an i32, so performance-no-int-to-ptr would flag the ABI
# itself (every string and list the host returns); off for guests only.
# So is bugprone-suspicious-include: astrid-build compiles the capsule's own
# folder, so the code capsules share (capsules/common) is included as .c.
guest_flags="--target=wasm32-wasi -std=c17 -Isdk/c -Ibuild/gen/sdk"
dirs="src tests/unit tests/tools tests/spec tests/fuzz bench"
guest_dirs="capsules tests/capsules"
# LINT_FILES="a.c b.c": only those (e.g. the files a change touched).
if [[ -n ${LINT_FILES:-} ]]; then
  read -r -a srcs <<<"$LINT_FILES"
else
  mapfile -t srcs < <({ find $dirs $guest_dirs -name '*.c'; printf 'sdk/c/%s\n' astrid.c astrid_json.c; } |
    LC_ALL=C sort)
fi
out=${LINT_OUT:-build/lint}
rm -rf "$out"
mkdir -p "$out"
jobs=${LINT_JOBS:-$(nproc)}
echo "lint: clang-tidy on ${#srcs[@]} files, $jobs at a time"
# Each file's output (stdout and stderr: a file that does not compile is a
# finding too) goes to its own log; a non-zero exit leaves a .fail marker.
printf '%s\n' "${srcs[@]}" | xargs -P "$jobs" -I{} sh -c '
  c=
  case "$1" in
  tests/unit/* | tests/tools/* | tests/spec/*) f=$3 ;;
  capsules/* | tests/capsules/* | sdk/c/astrid.c) f=$4 c=--checks=-performance-no-int-to-ptr,-bugprone-suspicious-include ;;
  *) f=$2 ;;
  esac
  log="$5/$(echo "$1" | tr / _).log"
  clang-tidy --quiet $c "$1" -- $f >"$log" 2>&1 || : >"$log.fail"
  [ -e "$log.fail" ] && echo "lint: FINDING in $1" || :' \
  sh {} "$flags" "$test_flags" "$guest_flags" "$out"
tidy_failed=$(find "$out" -name '*.fail' | wc -l)
tidy_findings=$(cat "$out"/*.log | grep -cE '(warning|error): ' || true)
tidy_time=$((SECONDS - start))
if [[ $tidy_failed -gt 0 ]]; then
  for f in "$out"/*.log; do
    [[ -e $f.fail ]] && grep -E -A3 '(warning|error): ' "$f" | grep -v 'warnings\? generated' || true
  done
fi

echo "lint: cppcheck"
cstart=$SECONDS
cppcheck_rc=0
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
  -j "$jobs" --inline-suppr --suppress=missingIncludeSystem -Iinclude -Isrc -Isdk/c \
  -D__GNUC__ -Ibuild/gen ${LINT_FILES:-$dirs sdk/c/astrid_json.c} || cppcheck_rc=1
if [[ -z ${LINT_FILES:-} ]]; then
  cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
    -j "$jobs" --inline-suppr --suppress=missingIncludeSystem -Isdk/c -Ibuild/gen/sdk \
    -D__GNUC__ -D__wasm32__ $guest_dirs sdk/c/astrid.c || cppcheck_rc=1
fi
cpp_time=$((SECONDS - cstart))

summary="clang-tidy ${#srcs[@]} files in ${tidy_time}s: $tidy_failed failing, $tidy_findings findings;"
summary+=" cppcheck in ${cpp_time}s: $([[ $cppcheck_rc -eq 0 ]] && echo clean || echo findings above)"
if [[ $tidy_failed -eq 0 && $cppcheck_rc -eq 0 ]]; then
  echo "lint: clean ($summary)"
  exit 0
fi
echo "lint: FAILED ($summary; logs in $out)"
exit 1
