#!/usr/bin/env bash
# `astrid-build hash` must print byte-for-byte what Debian's b3sum prints:
# every chunk/tree boundary size, several files at once, stdin, odd names,
# missing files (stdout, stderr shape and exit code).
set -u
source "$(dirname "$0")/../lib.sh"
AB=$BIN/astrid-build
if ! command -v b3sum >/dev/null; then
  skip "b3sum comparison" "b3sum not installed"
  exit 0
fi
dir=$(mktemp_dir)
# Deterministic, non-repeating content so chunk order matters.
head -c $((10 * 1048576 + 4097)) /dev/urandom >"$dir/src"

sizes=(0 1 63 64 65 127 128 129 1023 1024 1025 2047 2048 2049 3072 3073 4095 4096 4097
       5120 7168 8191 8192 8193 16383 16384 16385 31744 32768 32769 65535 65536 65537
       131072 1048575 1048576 1048577 $((8 * 1048576 + 1)) $((10 * 1048576)))
files=()
for n in "${sizes[@]}"; do
  f="$dir/f$n"
  head -c "$n" "$dir/src" >"$f"
  files+=("$f")
  expect_eq "size $n" "$("$AB" hash "$f")" "$(b3sum "$f")"
done

expect_eq "all sizes in one call" "$("$AB" hash "${files[@]}")" "$(b3sum "${files[@]}")"
expect_eq "--no-names -l 131 several files" \
  "$("$AB" hash --no-names -l 131 "$dir/f0" "$dir/f1025" "$dir/f65537")" \
  "$(b3sum --no-names -l 131 "$dir/f0" "$dir/f1025" "$dir/f65537")"
expect_eq "--derive-key" "$("$AB" hash --derive-key "astrid test ctx" "$dir/f4097")" \
  "$(b3sum --derive-key "astrid test ctx" "$dir/f4097")"
head -c 32 "$dir/src" >"$dir/key"
expect_eq "--keyed" "$("$AB" hash --keyed "$dir/f16385" <"$dir/key")" \
  "$(b3sum --keyed "$dir/f16385" <"$dir/key")"
expect_eq "stdin via - and no args" \
  "$("$AB" hash - <"$dir/f8193"; "$AB" hash <"$dir/f2049")" \
  "$(b3sum - <"$dir/f8193"; b3sum <"$dir/f2049")"
expect_eq "--raw" "$("$AB" hash --raw "$dir/f1025" | od -An -tx1)" \
  "$(b3sum --raw "$dir/f1025" | od -An -tx1)"

odd1="$dir/back\\slash"; odd2="$dir/new"$'\n'"line"; odd3="$dir/bad"$'\xff'"utf8"
: >"$odd1"; : >"$odd2"; : >"$odd3"
expect_eq "escaped and lossy file names" "$("$AB" hash "$odd1" "$odd2" "$odd3" | od -c)" \
  "$(b3sum "$odd1" "$odd2" "$odd3" | od -c)"

# Missing file and a directory among good ones: same stdout, same exit code,
# and stderr lines shaped like b3sum's (program name aside).
got_out=$("$AB" hash "$dir/f1" "$dir/missing" "$dir" "$dir/f64" 2>"$dir/got_err"); got_rc=$?
want_out=$(b3sum "$dir/f1" "$dir/missing" "$dir" "$dir/f64" 2>"$dir/want_err"); want_rc=$?
expect_eq "missing file: stdout" "$got_out" "$want_out"
expect_eq "missing file: exit code" "$got_rc" "$want_rc"
expect_eq "missing file: stderr" "$(sed 's/^astrid-build:/b3sum:/' "$dir/got_err")" \
  "$(cat "$dir/want_err")"

(cd "$dir" && "$AB" build >/dev/null 2>"$dir/verb_err"); rc=$?
expect_eq "build of a directory without Capsule.toml exits 2" "$rc" 2
ok_if "and says what is missing" grep -q "no Capsule.toml" "$dir/verb_err"
