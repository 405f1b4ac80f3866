#!/usr/bin/env bash
# The `astrid` binary is a thin client (docs/architecture.md, Floors): it
# links the cli objects, the socket client and lib only, so no host
# function, no bus, no wasm engine, no libcurl and no libarchive end up in
# it. The symbol checks read `nm`; the library checks read `ldd`.
#
# ALLOWED_CLI_EXCEPTIONS (Makefile) lists the floors the CLI may still link
# until the daemon serves capsule installs (branch dinstall): while it is
# set, the symbol checks it covers are reported as SKIP with that reason;
# once it is empty they are hard failures.
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
exc=$(sed -n 's/^ALLOWED_CLI_EXCEPTIONS[[:space:]]*:=[[:space:]]*//p' "$ASTRID_SRC/Makefile")
reason="ALLOWED_CLI_EXCEPTIONS = '$exc' (Makefile): the CLI still runs the installer itself until dinstall lands"

# defined FILE: the symbols FILE defines (functions and data)
defined() { nm "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TtDdBbRrVvWw]$/ { print $3 }'; }
# forbidden SYMBOLS: the ones a thin client must not carry, "kind: name" lines
forbidden() {
  awk '/^Z_astrid/ || /^astrid_host_/ { print "host function: " $0; next }
       /^astrid_bus_/ { print "bus: " $0; next }
       /^astrid_wasm_/ { print "wasm engine: " $0 }'
}
# needed FILE: the shared libraries FILE loads
needed() { ldd "$1" 2>/dev/null | awk '{ print $1 }'; }

cli_syms=$(defined "$A")
# The checks see what they must: the CLI's own symbols are visible (not a
# stripped binary, where every check would pass), and the daemon, which
# links all of it, is caught by the same patterns.
ok_if "nm sees the CLI's own symbols" grep -qx 'astrid_client_call' <<<"$cli_syms"
daemon_hits=$(defined "$BIN/astrid-daemon" | forbidden | cut -d: -f1 | sort -u | tr '\n' ',')
expect_eq "the patterns find host functions, bus and engine in astrid-daemon" "$daemon_hits" \
  "bus,host function,wasm engine,"
ok_if "ldd finds libcurl in astrid-daemon" grep -q '^libcurl' <(needed "$BIN/astrid-daemon")
ok_if "ldd finds libarchive in astrid-build" grep -q '^libarchive' <(needed "$BIN/astrid-build")

hits=$(forbidden <<<"$cli_syms")
for kind in "host function" bus "wasm engine"; do
  found=$(grep "^$kind: " <<<"$hits" | head -3 | tr '\n' ' ')
  if [[ -n "$exc" ]]; then
    skip "astrid defines no $kind symbol" "$reason; now $(grep -c "^$kind: " <<<"$hits") such symbols"
  else
    expect_eq "astrid defines no $kind symbol" "$found" ""
  fi
done
libs=$(needed "$A")
ok_if "ldd: astrid has shared libraries to list" test -n "$libs"
expect_eq "ldd: astrid does not load libcurl" "$(grep '^libcurl' <<<"$libs")" ""
expect_eq "ldd: astrid does not load libarchive" "$(grep '^libarchive' <<<"$libs")" ""
echo "1..$_tap_n"
