#!/usr/bin/env bash
# Fast subset of the WebAssembly spec tests through the engine (one TAP line
# per file: ok when every assertion in it passes). The full run is `make spec`.
source "$ASTRID_SRC/tests/lib.sh"
shared=$ASTRID_SHARED
[[ -d $shared/testdata ]] || shared=$ASTRID_SRC/../../shared
spec=$shared/testdata/wasm-spec
if [[ ! -d $spec ]]; then skip "wasm spec tests" "no $spec"; exit 0; fi
cache=$(mktemp_dir)
for f in i32 fac br_table call_indirect memory_trap traps memory_grow conversions; do
  d=$(mktemp_dir)
  if ! wast2json "$spec/$f.wast" -o "$d/$f.json" >/dev/null 2>&1; then
    not_ok "$f.wast" "wast2json failed"; continue
  fi
  line=$("$ASTRID_BUILD/tests/spec_runner" "$cache" "$d/$f.json" 2>"$d/err")
  rc=$?
  if [[ $rc -eq 0 ]]; then ok "$line"; else not_ok "$line" "$(head -c 400 "$d/err")"; fi
done
