#!/usr/bin/env bash
# WebAssembly spec tests through the engine's AOT path.
#   tests/spec/run.sh BUILD --all          every MVP .wast (SIMD files skipped)
#   tests/spec/run.sh BUILD FILE.wast...   the named files
# Prints "FILE: passed/total passed (N skipped)" per file and a final
# "N passed, N failed". Compiled modules are cached in $SPEC_CACHE
# (default BUILD/spec-cache), so reruns only pay for changed modules.
# SPEC_JOBS (default 2) files run in parallel; SPEC_OPT is the guest -O level.
set -u
build=${1:?usage: tests/spec/run.sh BUILD --all|FILE...}; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${ASTRID_SHARED:-$root/../shared}
# a worktree sits one level deeper than the main checkout
[[ -d $shared/testdata ]] || shared=$root/../../shared
spec=$shared/testdata/wasm-spec
runner=$build/tests/spec_runner
cache=${SPEC_CACHE:-$build/spec-cache}
jobs=${SPEC_JOBS:-2}
[[ -x $runner ]] || { echo "missing $runner (make first)"; exit 2; }
files=()
if [[ ${1:-} == --all ]]; then
  for f in "$spec"/*.wast; do
    case $(basename "$f") in simd_*) continue ;; esac
    files+=("$f")
  done
else
  for f in "$@"; do [[ -f $f ]] && files+=("$f") || files+=("$spec/$f"); done
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/astrid-spec.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
one() {
  local f=$1 name d
  name=$(basename "$f" .wast)
  d=$work/$name; mkdir -p "$d"
  if ! wast2json --enable-all "$f" -o "$d/$name.json" >"$d/log" 2>&1 &&
     ! wast2json "$f" -o "$d/$name.json" >"$d/log" 2>&1; then
    echo "$name.wast: 0/1 passed (0 skipped) [wast2json failed]"
    return
  fi
  timeout 600 "$runner" "$cache" "$d/$name.json" 2>"$d/err" || true
}
export -f one; export work runner cache
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} bash -c 'one "$1"' _ {} | tee "$work/results"
awk -F'[ /]' '{ split($0, a, ": "); split(a[2], b, "/"); p += b[1]; split(b[2], c, " "); t += c[1] }
  END { printf "%d passed, %d failed\n", p, t - p; exit (t - p) > 0 }' "$work/results"
