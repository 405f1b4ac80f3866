#!/usr/bin/env bash
# `make scan`: Clang's static analyzer over every C file of the build
# (scan-build from clang-tools-14, Debian's clang tools), in a separate tree
# build/scan so the normal objects are not reused unanalysed. Fails on any
# report (--status-bugs); the HTML reports stay in build/scan/report.
# The cmocka tests get tests/lint/cmocka_noreturn.h (SCAN=1, mk/quality.mk):
# a failed assert does not return.
set -euo pipefail
cd "$(dirname "$0")/.."
sb=$(command -v scan-build-14 || command -v scan-build || true)
[[ -n $sb ]] || { echo "scan: scan-build not installed (clang-tools-14, scripts/deps.txt)" >&2; exit 2; }
build=${SCAN_BUILD:-build/scan}
rm -rf "$build/report"
# The analyzer runs beside the real compiler (gcc, as in every build).
# DeprecatedOrUnsafeBufferHandling is off as in .clang-tidy (which drops all
# of security.insecureAPI): it flags every memcpy/snprintf and asks for the
# Annex K *_s functions, which glibc does not have.
"$sb" --status-bugs -o "$build/report" --use-cc=gcc \
  -disable-checker security.insecureAPI.DeprecatedOrUnsafeBufferHandling \
  make --no-print-directory -j"${SCAN_JOBS:-2}" BUILD="$build" SCAN=1 all
echo "scan: clean"
