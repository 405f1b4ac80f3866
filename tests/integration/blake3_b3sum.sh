# astrid-build hash must print exactly what Debian's b3sum prints, on files
# from 0 bytes to 10 MiB including every chunk and batch boundary.
source "$ASTRID_SRC/tests/lib.sh"
AB=$BIN/astrid-build
if ! command -v b3sum >/dev/null; then
  skip "b3sum comparison" "b3sum not installed (make deps)"
  exit 0
fi
d=$(mktemp_dir)
sizes="0 1 63 64 65 127 128 129 1023 1024 1025 2047 2048 2049 3072 3073 4095 4096 4097
 8191 8192 8193 9215 9216 9217 16383 16384 16385 31744 32767 32768 32769 65535 65536 65537
 131072 131073 1048575 1048576 1048577 10485760"
for n in $sizes; do
  f=$d/f$n
  head -c "$n" /dev/urandom > "$f"
  want=$(cd "$d" && b3sum "f$n")
  got=$(cd "$d" && "$AB" hash "f$n")
  expect_eq "size $n" "$got" "$want"
done
# Several files at once, odd names, stdin, and a missing file's exit code.
printf 'x' > "$d/back\\slash"
printf 'y' > "$d/new
line"
printf 'z' > "$d/sp ace"
want=$(cd "$d" && b3sum f0 f1025 'back\slash' 'new
line' 'sp ace')
got=$(cd "$d" && "$AB" hash f0 f1025 'back\slash' 'new
line' 'sp ace')
expect_eq "several files with escaped names" "$got" "$want"
expect_eq "stdin" "$("$AB" hash < "$d/f8193")" "$(b3sum < "$d/f8193")"
expect_eq "--no-names -l 64" "$("$AB" hash --no-names -l 64 "$d/f4097")" \
  "$(b3sum --no-names -l 64 "$d/f4097")"
expect_eq "--derive-key" "$("$AB" hash --derive-key ctx "$d/f65537")" \
  "$(b3sum --derive-key ctx "$d/f65537")"
"$AB" hash "$d/missing" >/dev/null 2>"$d/err"; rc=$?
b3sum "$d/missing" >/dev/null 2>/dev/null; want_rc=$?
expect_eq "missing file exit code" "$rc" "$want_rc"
ok_if "missing file named on stderr" grep -q "missing: No such file or directory" "$d/err"
"$AB" hash --check "$d/f0" >/dev/null 2>&1; expect_eq "--check not built exits 2" "$?" 2
