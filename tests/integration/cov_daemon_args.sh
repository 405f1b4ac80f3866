#!/usr/bin/env bash
# astrid-daemon's command line (issue 18 point 4: src/kernel/main.c was the
# least covered kernel file): --help and --version answer without booting;
# a bad option, a --session that is no UUID and a stray argument are
# refused with exit 1 before anything is written to the home.
set -u
source "$(dirname "$0")/../lib.sh"
D=$BIN/astrid-daemon
H=$(mktemp_dir)/home
export ASTRID_HOME=$H
out=$("$D" --help 2>&1)
expect_eq "--help: exit 0" "$?" "0"
ok_if "  prints the usage" grep -q "^Usage: astrid-daemon \[OPTIONS\]" <<<"$out"
out=$("$D" --version 2>&1)
expect_eq "--version: exit 0" "$?" "0"
ok_if "  prints the version" grep -qE "^astrid-daemon [0-9]+\.[0-9]+\.[0-9]+" <<<"$out"
err=$("$D" --bogus 2>&1 >/dev/null)
expect_eq "--bogus: exit 1" "$?" "1"
ok_if "  with the usage on stderr" grep -q "^Usage: astrid-daemon" <<<"$err"
err=$("$D" --session not-a-uuid 2>&1 >/dev/null)
expect_eq "--session not-a-uuid: exit 1" "$?" "1"
ok_if "  names the value" grep -qx "astrid-daemon: --session 'not-a-uuid' is not a UUID" <<<"$err"
err=$("$D" stray 2>&1 >/dev/null)
expect_eq "a stray argument: exit 1" "$?" "1"
ok_if "  names it" grep -qx "astrid-daemon: unexpected argument 'stray'" <<<"$err"
ok_if "no refusal created the home" test ! -e "$H"
echo "1..$_tap_n"
