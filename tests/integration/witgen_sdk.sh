#!/usr/bin/env bash
# The generated guest import declarations ($ASTRID_BUILD/gen/sdk/
# astrid_imports.h, from wit/astrid.wit) against the hand-written ones
# capsules use today: the C SDK (sdk/c/astrid.c) and the test capsules
# that import host functions directly. Each is compiled for wasm32-wasi
# with clang; every astrid:capsule import they declare must have the
# same core signature in the generated header's object, which declares
# all 50. A WIT change the SDK does not follow shows here.
set -u
source "$ASTRID_SRC/tests/lib.sh"
hdr=$ASTRID_BUILD/gen/sdk/astrid_imports.h
if ! command -v clang >/dev/null || ! command -v wasm-objdump >/dev/null; then
  skip "generated imports match the SDK" "clang or wasm-objdump missing"
  echo "1..$_tap_n"; exit 0
fi
cc() { clang --target=wasm32-wasi -O1 -c "$@" 2>"$TEST_TMP/cc.err"; }
ok_if "astrid_imports.h compiles for wasm32-wasi" cc -DASTRID_IMPORTS_REFERENCE_ALL -x c "$hdr" -o "$TEST_TMP/gen.o"
ok_if "sdk/c/astrid.c compiles" cc -I"$ASTRID_SRC/sdk/c" "$ASTRID_SRC/sdk/c/astrid.c" -o "$TEST_TMP/sdk.o"
objs=("$TEST_TMP/sdk.o")
for c in idprobe bridge probe listener looper; do
  src=$ASTRID_SRC/tests/capsules/$c/$c.c
  [[ -f $src ]] || continue
  cc -I"$ASTRID_SRC/sdk/c" "$src" -o "$TEST_TMP/$c.o" && objs+=("$TEST_TMP/$c.o")
done
# "module.field (params) -> results" for every astrid:capsule import
imports() {
  python3 - "$1" <<'PY'
import re, subprocess, sys
f = sys.argv[1]
types = {}
for l in subprocess.run(["wasm-objdump", "-x", "-j", "Type", f], capture_output=True, text=True).stdout.splitlines():
    m = re.match(r"\s*- type\[(\d+)\] (.*)$", l)
    if m: types[m.group(1)] = m.group(2)
for l in subprocess.run(["wasm-objdump", "-x", "-j", "Import", f], capture_output=True, text=True).stdout.splitlines():
    m = re.match(r"\s*- func\[\d+\] sig=(\d+) <[^>]*> <- (astrid:capsule/\S+)$", l)
    if m: print(m.group(2), types[m.group(1)])
PY
}
imports "$TEST_TMP/gen.o" | sort >"$TEST_TMP/gen.txt"
expect_eq "the generated header declares all 50 host functions" "$(wc -l <"$TEST_TMP/gen.txt")" "50"
n=0
for o in "${objs[@]}"; do
  while read -r name sig; do
    n=$((n + 1))
    want=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print }' "$TEST_TMP/gen.txt")
    expect_eq "$(basename "$o" .o): $name" "$sig" "$want"
  done < <(imports "$o")
done
ok_if "the SDK and the test capsules import at least 20 host functions between them" test "$n" -ge 20
# the result areas the header states are the docs' (docs/abi.md)
ok_if "kv-get's result area is 16 bytes" grep -q "ASTRID_IMPORT_KV_GET_RET_SIZE 16" "$hdr"
ok_if "identity-link's is 48, aligned to 4" bash -c "grep -q 'ASTRID_IMPORT_IDENTITY_LINK_RET_SIZE 48' '$hdr' && grep -q 'ASTRID_IMPORT_IDENTITY_LINK_RET_ALIGN 4' '$hdr'"
echo "1..$_tap_n"
