#!/usr/bin/env bash
# The generated guest import declarations ($ASTRID_BUILD/gen/sdk/
# astrid_imports.h, from wit/astrid.wit): the C SDK (sdk/c) declares no
# import of its own but uses them, and astrid-build carries them in its
# binary, so a capsule built against an SDK copied anywhere (with a stale
# header beside it) gets this build's. Against them the test capsules that
# declare host functions by hand from docs/abi.md: each object is compiled
# for wasm32-wasi with clang; every astrid:capsule import it declares must
# have the same core signature in the generated header's object, which
# declares every function of the WIT.
set -u
source "$ASTRID_SRC/tests/lib.sh"
hdr=$ASTRID_BUILD/gen/sdk/astrid_imports.h
if ! command -v clang >/dev/null || ! command -v wasm-objdump >/dev/null; then
  skip "generated imports match the SDK" "clang or wasm-objdump missing"
  echo "1..$_tap_n"; exit 0
fi
cc() { clang --target=wasm32-wasi -O1 -c "$@" 2>"$TEST_TMP/cc.err"; }
ok_if "astrid_imports.h compiles for wasm32-wasi" cc -DASTRID_IMPORTS_REFERENCE_ALL -x c "$hdr" -o "$TEST_TMP/gen.o"
inc=(-I"$ASTRID_BUILD/gen/sdk" -I"$ASTRID_SRC/sdk/c")
ok_if "sdk/c/astrid.c compiles" cc "${inc[@]}" "$ASTRID_SRC/sdk/c/astrid.c" -o "$TEST_TMP/sdk.o"
ok_if "the SDK declares no host import by hand" bash -c "! grep -q import_module '$ASTRID_SRC'/sdk/c/astrid.[ch]"
objs=("$TEST_TMP/sdk.o")
for c in idprobe bridge probe listener looper; do
  src=$ASTRID_SRC/tests/capsules/$c/$c.c
  [[ -f $src ]] || continue
  cc "${inc[@]}" "$src" -o "$TEST_TMP/$c.o" && objs+=("$TEST_TMP/$c.o")
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
nwit=$(grep -cE '^\s+[a-z][a-z0-9-]*: func\(' "$ASTRID_SRC/wit/astrid.wit")
ok_if "the WIT has at least upstream's 50 host functions ($nwit)" test "$nwit" -ge 50
expect_eq "the generated header declares all of them" "$(wc -l <"$TEST_TMP/gen.txt")" "$nwit"
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
# astrid-build outside the source tree: an SDK copy without the generated
# header, then with a stale one beside it that would fail the compile
sdk=$TEST_TMP/sdk-copy
mkdir -p "$sdk" "$TEST_TMP/cap"
cp "$ASTRID_SRC"/sdk/c/astrid*.[ch] "$sdk/"  # the SDK: astrid.[ch] and astrid_json.[ch]
cp -r "$ASTRID_SRC/capsules/examples/kv-counter/." "$TEST_TMP/cap/"
ab() { (cd / && env -u ASTRID_SDK "$ASTRID_BUILD/bin/astrid-build" "$TEST_TMP/cap" -o "$TEST_TMP/o$1" --sdk "$sdk") >"$TEST_TMP/ab.out" 2>&1; }
ok_if "astrid-build builds against an SDK copy that has no astrid_imports.h" ab 1
ok_if "  and leaves no generated header behind" bash -c "[[ \$(find '$TEST_TMP/o1' -name astrid_imports.h | wc -l) == 0 ]]"
printf '#error "stale astrid_imports.h"\n' >"$sdk/astrid_imports.h"
ok_if "a stale astrid_imports.h beside the SDK is not used (the embedded one is)" ab 2
echo "1..$_tap_n"
