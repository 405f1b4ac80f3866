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
# The same engine with every module's C split into 3 translation units
# (w2c_split.c): cross-unit calls, call_indirect, table/memory init, start.
cache3=$(mktemp_dir)
for f in call call_indirect func_ptrs elem table_init memory_init bulk start global fac; do
  d=$(mktemp_dir)
  if ! wast2json "$spec/$f.wast" -o "$d/$f.json" >/dev/null 2>&1; then
    not_ok "$f.wast split" "wast2json failed"; continue
  fi
  line=$(SPEC_AOT_PARTS=3 "$ASTRID_BUILD/tests/spec_runner" "$cache3" "$d/$f.json" 2>"$d/err")
  rc=$?
  if [[ $rc -eq 0 ]]; then ok "split in 3: $line"; else not_ok "split in 3: $line" "$(head -c 400 "$d/err")"; fi
done
