#!/usr/bin/env bash
# `make scan`: Clang's static analyzer (scan-build from clang-tools-14,
# Debian's clang tools) over every hand-written C file of the tree, in a
# separate tree build/scan: pass 1 the gcc-compiled host code (target
# scan-host), pass 2 the clang-compiled fuzz harnesses and wasm32 guest code
# (scan-clang); what each covers and what is left out: mk/scan.mk. Fails on
# any report (--status-bugs) or a file that does not compile; the HTML
# reports stay in build/scan/report. Ends with one summary line.
# SCAN_JOBS=N analyses N files at a time (default 2). SCAN_FILES="a.c b.c"
# analyses only those (e.g. the files a fix touched): build/gen is then
# written by a plain make first, so witgen and libastrid are not analysed
# on the way.
set -euo pipefail
cd "$(dirname "$0")/.."
sb=$(command -v scan-build-14 || command -v scan-build || true)
[[ -n $sb ]] || { echo "scan: scan-build not installed (clang-tools-14, scripts/deps.txt)" >&2; exit 2; }
command -v clang >/dev/null || { echo "scan: clang not installed (scripts/deps.txt)" >&2; exit 2; }
build=${SCAN_BUILD:-build/scan}
# From scratch every time: an object left from an earlier run is up to date,
# so make would not compile it again and the analyzer would never see it;
# a second run after a failing one would then pass.
rm -rf "$build"
start=$SECONDS
# DeprecatedOrUnsafeBufferHandling is off as in .clang-tidy (which drops all
# of security.insecureAPI): it flags every memcpy/snprintf and asks for the
# Annex K *_s functions, which glibc does not have.
# OPT=-O0: the real compile beside the analyzer only drives make (its
# objects are thrown away); -O2 took three times its CPU.
common=(--status-bugs -o "$build/report"
  -disable-checker security.insecureAPI.DeprecatedOrUnsafeBufferHandling)
mk=(make --no-print-directory -j"${SCAN_JOBS:-2}" BUILD="$build" SCAN=1 OPT=-O0)
host=(scan-host) clang=(scan-clang)
if [[ -n ${SCAN_FILES:-} ]]; then
  host=() clang=()
  for f in $SCAN_FILES; do
    case $f in
    tests/fuzz/*.c) clang+=("$build/scan-fuzz/${f%.c}.o") ;;
    capsules/*.c | tests/capsules/*.c | tests/guests/*.c | sdk/c/*.c) clang+=("$build/scan-wasm/${f%.c}.o") ;;
    tests/fault/faultinj.c) host+=("$build/tests/libfaultinj.so") ;;
    tests/sandbox/try.c) host+=("$build/tests/sandbox-try") ;;
    tests/sandbox/nouserns.c) host+=("$build/tests/sandbox-nouserns") ;;
    */gen/*.c) host+=("$build/obj/gen/$(basename "${f%.c}").o") ;;
    *.c) host+=("$build/obj/${f%.c}.o") ;;
    *) echo "scan: not a C file: $f" >&2; exit 2 ;;
    esac
  done
  "${mk[@]}" "$build/gen/.stamp" >/dev/null
fi
host_rc=0 clang_rc=0
if [[ ${#host[@]} -gt 0 ]]; then
  "$sb" "${common[@]}" --use-cc=gcc "${mk[@]}" "${host[@]}" || host_rc=$?
fi
# Run even when pass 1 failed, so one run lists every finding (it needs
# build/gen from pass 1: a failed witgen fails it too).
if [[ ${#clang[@]} -gt 0 ]]; then
  "$sb" "${common[@]}" --use-cc=clang "${mk[@]}" "${clang[@]}" || clang_rc=$?
fi
if [[ -n ${SCAN_FILES:-} ]]; then
  files=$((${#host[@]} + ${#clang[@]}))
else
  files=$(find "$build/obj" "$build/scan-fuzz" "$build/scan-wasm" -name '*.o' 2>/dev/null | wc -l)
  files=$((files + $(ls "$build"/tests/{sandbox-try,sandbox-nouserns,libfaultinj.so} 2>/dev/null | wc -l)))
fi
reports=$(find "$build/report" -name 'report-*.html' 2>/dev/null | wc -l)
# CPU seconds of everything run (user + sys of the children): on a shared
# machine the comparable figure, wall time depends on the load.
# (`times` itself, not in a pipe: a subshell's children are not ours.)
mkdir -p "$build"
times >"$build/times"
cpu=$(tail -1 "$build/times" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
what="$files files analysed in $((SECONDS - start))s wall, ${cpu}s CPU"
if [[ $host_rc -eq 0 && $clang_rc -eq 0 ]]; then
  echo "scan: clean ($what)"
  exit 0
fi
echo "scan: FAILED ($what; $reports reports in $build/report; exit host $host_rc, clang $clang_rc)"
exit 1
