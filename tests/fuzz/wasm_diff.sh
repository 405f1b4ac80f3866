#!/usr/bin/env bash
# The differential half of fuzz_wasm_diff (see its header): every module of
# the WebAssembly spec test suite (wast2json output: the valid modules and
# the binary assert_invalid / assert_malformed ones) and every entry of the
# fuzz_wasm_parse / fuzz_wasm_diff corpora and seeds, judged by wasm2c and by
# the engine's reader. Prints the counts; exits 1 when wasm2c accepts a
# module the reader refuses (each printed as "DIFF: ..." and kept under
# $build/fuzz/wasm-diff/).
#   tests/fuzz/wasm_diff.sh [BUILD_DIR]   (default build; needs `make fuzzers`)
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/fuzz/fuzz_wasm_diff
[[ -x $bin ]] || { echo "wasm_diff: $bin not built (make fuzzers)" >&2; exit 2; }
command -v wasm2c >/dev/null || { echo "wasm_diff: wasm2c not installed" >&2; exit 2; }
shared=${ASTRID_SHARED:-$root/../shared}
[[ -d $shared/testdata ]] || shared=$root/../../shared
spec=$shared/testdata/wasm-spec
work=$(mktemp -d "${TMPDIR:-/tmp}/astrid-wasm-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mods"
if [[ -d $spec ]] && command -v wast2json >/dev/null; then
  for w in "$spec"/*.wast; do
    n=$(basename "$w" .wast)
    mkdir -p "$work/mods/$n"
    wast2json "$w" -o "$work/mods/$n/$n.json" >/dev/null 2>&1 || continue
  done
  # wast2json also writes the .json script and text-format modules (.wat)
  find "$work/mods" -type f ! -name '*.wasm' -delete
else
  echo "wasm_diff: no spec suite at $spec (or no wast2json): corpora only"
fi
nspec=$(find "$work/mods" -type f | wc -l)
dirs=("$work/mods")
for d in "$build/fuzz/corpus-fuzz_wasm_parse" "$build/fuzz/corpus-fuzz_wasm_diff" \
  "$root/tests/fuzz/seeds/fuzz_wasm_parse" "$root/tests/fuzz/seeds/fuzz_wasm_diff"; do
  [[ -d $d ]] && dirs+=("$d")
done
total=0
for d in "${dirs[@]}"; do total=$((total + $(find "$d" -type f | wc -l))); done
echo "wasm_diff: $total modules ($nspec from the spec suite)"
rm -rf "$build/fuzz/wasm-diff" && mkdir -p "$build/fuzz/wasm-diff"
UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1 WASM_DIFF_KEEP_GOING=1 \
  WASM_DIFF_SAVE="$build/fuzz/wasm-diff" \
  "$bin" -runs=0 "${dirs[@]}" >"$work/log" 2>&1
rc=$?
ndiff=$(grep -c '^DIFF:' "$work/log")
echo "wasm_diff: verdicts (wasm2c accepts=1, reader accepts=1):"
grep '^VERDICT' "$work/log" | sort | uniq -c
grep '^DIFF:' "$work/log" | sort | uniq -c
grep -E 'ERROR|SUMMARY' "$work/log" | head -5
echo "wasm_diff: $ndiff module(s) wasm2c accepts and the engine's reader refuses (exit $rc)"
cp "$work/log" "$build/fuzz/wasm-diff/log"
[[ $rc -eq 0 && $ndiff -eq 0 ]]
