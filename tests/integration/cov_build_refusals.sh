#!/usr/bin/env bash
# astrid-build's refusals and its packer (issue 18 point 4: src/build was
# under 80 % lines): every manifest rule, options it does not take, a
# missing SDK, compiler or sources, each with its exit code and message and
# nothing left in the output directory; then packing with a stand-in
# compiler (ASTRID_BUILD_CC, so no clang run): what the archive holds, a
# topic schema that is a link refused, and `hash`'s refusals.
set -u
source "$(dirname "$0")/../lib.sh"
AB=$BIN/astrid-build
export ASTRID_SDK=$ASTRID_SRC/sdk/c
W=$(mktemp_dir)
# A stand-in for clang: writes an empty wasm module where -o points.
cat >"$W/fakecc" <<'EOF'
#!/bin/sh
while [ $# -gt 1 ]; do [ "$1" = -o ] && { printf '\0asm\1\0\0\0' >"$2"; exit 0; }; shift; done
exit 3
EOF
chmod +x "$W/fakecc"
export ASTRID_BUILD_CC=$W/fakecc

# capsule DIR MANIFEST: a capsule directory with one source.
capsule() {
  rm -rf "$1" && mkdir -p "$1" && printf '%s\n' "$2" >"$1/Capsule.toml" &&
    echo 'int x;' >"$1/main.c"
}
good='[package]
name = "covcap"
version = "0.1.0"
[[component]]
id = "covcap"
file = "covcap.wasm"'
# refused NAME RC PATTERN ARGS...: astrid-build exits RC, stderr matches
# PATTERN, stdout is empty and $W/out holds no file.
refused() {
  local n=$1 want=$2 pat=$3
  shift 3
  rm -rf "$W/out"
  local out rc
  out=$("$AB" "$@" 2>"$W/err" </dev/null)
  rc=$?
  local left
  left=$(find "$W/out" -mindepth 1 2>/dev/null | head -3)
  if [[ $rc == "$want" && -z "$out" && -z "$left" ]] && grep -qE -- "$pat" "$W/err"; then
    ok "$n"
  else
    not_ok "$n" "rc=$rc out=[$out] left=[$left] err=[$(head -c 300 "$W/err")]"
  fi
}
C=$W/c
capsule "$C" "$good"

# ---- options and paths
refused "--type rust: not built (exit 2)" 2 "--type rust is not supported \(only C capsules" \
  "$C" --type rust -o "$W/out"
refused "two paths" 1 "^usage: astrid-build" "$C" "$C" -o "$W/out"
refused "an unknown option" 1 "^usage: astrid-build" "$C" --bogus -o "$W/out"
refused "a missing directory" 1 "/nonexist: No such file or directory" /nonexist -o "$W/out"
refused "no Capsule.toml (exit 2)" 2 "no Capsule.toml \(only C capsules" "$W" -o "$W/out"
refused "--sdk naming no SDK" 1 "C SDK \(astrid.h\) was not found at /nonexist; pass --sdk" \
  "$C" --sdk /nonexist -o "$W/out"
ok_if "--help prints the usage on stdout, exit 0" bash -c "'$AB' --help | grep -q '^usage: astrid-build'"

# ---- the manifest, rule by rule
capsule "$C" 'not = [toml'
refused "a manifest that is not TOML" 1 "Capsule.toml" "$C" -o "$W/out"
capsule "$C" "${good/covcap\"/Cov_Cap\"}"
refused "package.name with capitals" 1 "package.name must be a non-empty string of a-z" \
  "$C" -o "$W/out"
capsule "$C" "${good/name = \"covcap\"/name = \"$(printf 'a%.0s' {1..200})\"}"
refused "package.name too long" 1 "package.name is 200 characters long; at most" "$C" -o "$W/out"
capsule "$C" "${good/version = \"0.1.0\"/version = \"\"}"
refused "package.version empty" 1 "package.version is required" "$C" -o "$W/out"
capsule "$C" "${good/file = \"covcap.wasm\"/file = \"sub/covcap.wasm\"}"
refused "component file with a slash" 1 "needs file = \"NAME.wasm\" \(a bare file name\)" \
  "$C" -o "$W/out"
capsule "$C" "${good/file = \"covcap.wasm\"/file = \"covcap.so\"}"
refused "component file not .wasm" 1 "needs file = \"NAME.wasm\"" "$C" -o "$W/out"
capsule "$C" "${good/description/x}
[env.K]
description = \"a\\u0000b\""
refused "a NUL in any string" 1 "must not contain a NUL character" "$C" -o "$W/out"
capsule "$C" "$good"
rm "$C/main.c"
refused "no C sources" 1 "no C sources \(\*.c in the directory or src/\)" "$C" -o "$W/out"

# ---- the compiler
echo 'int x;' >"$C/main.c"
ASTRID_BUILD_CC=/nonexist/cc refused "no compiler: says what to install" 1 \
  "clang \(with wasm32-wasi support" "$C" -o "$W/out"
ASTRID_BUILD_CC=false refused "a failing compile: its exit code" 1 \
  "compiling covcap failed \(clang exit 1\)" "$C" -o "$W/out"
touch "$W/afile"
refused "-o naming a file" 1 "afile" "$C" -o "$W/afile"

# ---- packing (stand-in compiler)
mkdir -p "$C/src" "$C/wit/sub" "$C/schemas"
echo 'int y;' >"$C/src/more.c"
echo 'package x:y;' >"$C/wit/sub/types.wit"
ln -s /etc/passwd "$C/wit/leak.wit"
echo '{"type":"object"}' >"$C/schemas/reply.json"
printf '%s\n' "$good" '[[topic]]' 'name = "cov.v1.a"' 'direction = "publish"' \
  'schema = "schemas/reply.json"' '[[topic]]' 'name = "cov.v1.b"' 'direction = "publish"' \
  'schema = "schemas/reply.json"' >"$C/Capsule.toml"
out=$("$AB" build "$C" -o "$W/out" 2>"$W/err")
expect_eq "build (the 'build' synonym) prints the archive's path" "$out" "$W/out/covcap.capsule"
ok_if "  and says it compiled two sources" grep -q "Compiling covcap v0.1.0 (2 sources + SDK)" "$W/err"
expect_eq "  the archive: manifest, wasm, wit tree, the schema once, the SDK's WIT" \
  "$(tar tzf "$W/out/covcap.capsule" | LC_ALL=C sort | tr '\n' ' ')" \
  "Capsule.toml covcap.wasm schemas/reply.json wit/deps/astrid/astrid.wit wit/sub/types.wit "
expect_eq "  no temporary left in the output directory" "$(ls -A "$W/out")" "covcap.capsule"
ln -sf /etc/passwd "$C/schemas/link.json"
sed -i 's|schema = "schemas/reply.json"|schema = "schemas/link.json"|' "$C/Capsule.toml"
cp "$W/out/covcap.capsule" "$W/before.capsule"
out=$("$AB" "$C" -o "$W/out" 2>"$W/err")
rc=$?
expect_eq "a topic schema that is a link: refused" "$rc" "1"
ok_if "  naming the topic and the file" \
  grep -q "topic\[0\].schema schemas/link.json: not a regular file inside the capsule" "$W/err"
ok_if "  the earlier archive is left as it was" cmp -s "$W/out/covcap.capsule" "$W/before.capsule"
expect_eq "  and no .tmp or build directory beside it" "$(ls -A "$W/out")" "covcap.capsule"

# ---- unpack (the installer's child): a file that is no archive
echo "not an archive" >"$W/bad.capsule"
mkdir -p "$W/unp"
"$AB" unpack "$W/bad.capsule" "$W/unp" >/dev/null 2>"$W/err"
expect_eq "unpack of a file that is no archive exits 1" "$?" "1"
ok_if "  with a message" test -s "$W/err"
expect_eq "  and unpacks nothing" "$(ls -A "$W/unp")" ""

# ---- hash refusals (b3sum's shapes)
f=$W/afile
h() { "$AB" hash "$@" 2>"$W/err" </dev/null; }
h -l abc "$f" >/dev/null
expect_eq "hash -l abc: exit 1" "$?" "1"
ok_if "  Failed to parse length." grep -qx "astrid-build: Failed to parse length." "$W/err"
h --keyed --derive-key ctx "$f" >/dev/null
expect_eq "hash --keyed with --derive-key: exit 1" "$?" "1"
ok_if "  cannot be used together" grep -q "cannot be used together" "$W/err"
h --raw "$f" "$f" >/dev/null
expect_eq "hash --raw of two files: exit 1" "$?" "1"
h --check "$f" >/dev/null
expect_eq "hash --check: not built (exit 2)" "$?" "2"
h --bogus >/dev/null
expect_eq "hash --bogus: exit 1" "$?" "1"
ok_if "  unexpected argument" grep -q "hash: unexpected argument '--bogus'" "$W/err"
head -c 31 /dev/zero | "$AB" hash --keyed "$f" >/dev/null 2>"$W/err"
expect_eq "hash --keyed with a 31-byte key: exit 1" "$?" "1"
ok_if "  key must be exactly 32 bytes" grep -q "key must be exactly 32 bytes" "$W/err"
out=$(h "$f" /nonexist)
expect_eq "hash of a missing file among others: exit 1" "$?" "1"
ok_if "  the other file's line is printed" grep -q "  $f$" <<<"$out"
ok_if "  the missing one named with its os error" \
  grep -qx "astrid-build: /nonexist: No such file or directory (os error 2)" "$W/err"
expect_eq "hash -- -l: a file named -l after --" "$(cd "$W" && echo x >./-l && h -- -l | cut -d' ' -f3)" "-l"
echo "1..$_tap_n"
