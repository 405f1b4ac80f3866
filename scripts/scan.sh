#!/usr/bin/env bash
# `make scan`: Clang's static analyzer over every host C file of the build
# (scan-build from clang-tools-14, Debian's clang tools), in a separate tree
# build/scan, the `scan-objs` target of mk/quality.mk (what is in it and what
# is not: see there). Fails on any report (--status-bugs); the HTML reports
# stay in build/scan/report. The cmocka tests get tests/lint/cmocka_noreturn.h
# (SCAN=1, mk/quality.mk): a failed assert does not return.
# SCAN_JOBS=N analyses N files at a time (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
sb=$(command -v scan-build-14 || command -v scan-build || true)
[[ -n $sb ]] || { echo "scan: scan-build not installed (clang-tools-14, scripts/deps.txt)" >&2; exit 2; }
build=${SCAN_BUILD:-build/scan}
# From scratch every time: an object left from an earlier run is up to date,
# so make would not compile it again and the analyzer would never see it;
# a second run after a failing one would then pass.
rm -rf "$build"
start=$SECONDS
# The analyzer runs beside the real compiler (gcc, as in every build).
# DeprecatedOrUnsafeBufferHandling is off as in .clang-tidy (which drops all
# of security.insecureAPI): it flags every memcpy/snprintf and asks for the
# Annex K *_s functions, which glibc does not have.
rc=0
"$sb" --status-bugs -o "$build/report" --use-cc=gcc \
  -disable-checker security.insecureAPI.DeprecatedOrUnsafeBufferHandling \
  make --no-print-directory -j"${SCAN_JOBS:-2}" BUILD="$build" SCAN=1 scan-objs || rc=$?
files=$(find "$build/obj" -name '*.o' 2>/dev/null | wc -l)
reports=$(find "$build/report" -name 'report-*.html' 2>/dev/null | wc -l)
if [[ $rc -eq 0 ]]; then
  echo "scan: clean ($files files analysed in $((SECONDS - start))s)"
  exit 0
fi
echo "scan: FAILED ($files files analysed in $((SECONDS - start))s, $reports reports in $build/report, exit $rc)"
exit 1
