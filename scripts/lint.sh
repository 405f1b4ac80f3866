#!/usr/bin/env bash
# `make lint`: clang-tidy and cppcheck over the project's C sources; fails on
# any finding. Uses the same flags as the build (no compile database needed).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="libsodium lmdb jansson yaml-0.1 libcurl libuv uuid libarchive libseccomp cmocka"
flags="-std=c17 -D_GNU_SOURCE -Iinclude -Isrc -Isdk/c -Ibuild/gen $(pkg-config --cflags $pkgs)"
# The cmocka tests get tests/lint/cmocka_noreturn.h first: it tells the
# analyzer that a failed assert does not return (see the header).
test_flags="$flags -include tests/lint/cmocka_noreturn.h"
# LINT_FILES="a.c b.c": only those (e.g. the files a change touched).
if [[ -n ${LINT_FILES:-} ]]; then
  read -r -a srcs <<<"$LINT_FILES"
else
  mapfile -t srcs < <(find src tests/unit tests/tools bench -name '*.c' | sort)
fi
rc=0
echo "lint: clang-tidy on ${#srcs[@]} files"
printf '%s\n' "${srcs[@]}" | xargs -P "$(nproc)" -I{} sh -c \
  'case "$1" in tests/unit/*) f=$3 ;; *) f=$2 ;; esac; clang-tidy --quiet "$1" -- $f 2>/dev/null' \
  sh {} "$flags" "$test_flags" > build-lint.log || rc=1
grep -E 'warning:|error:' build-lint.log && rc=1
echo "lint: cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Isrc \
  -D__GNUC__ -Ibuild/gen ${LINT_FILES:-src tests/unit tests/tools} || rc=1
rm -f build-lint.log
[[ $rc -eq 0 ]] && echo "lint: clean"
exit $rc
