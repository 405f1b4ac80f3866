#!/usr/bin/env bash
# `astrid audit verify|show`: offline, against files on disk (the reader,
# src/lib/audit/audit_read.c, is floor 0: no daemon needed).
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
mkdir -p -m 700 "$ASTRID_HOME/keys" "$ASTRID_HOME/home/default/.local/audit"
head -c 32 /dev/urandom >"$ASTRID_HOME/keys/runtime.key"; chmod 600 "$ASTRID_HOME/keys/runtime.key"
$A audit show --limit nope >/dev/null 2>&1; expect_eq "bad --limit exits 1" "$?" "1"
$A audit verify -a ../x >/dev/null 2>&1; expect_eq "bad -a exits 1" "$?" "1"
out=$($A audit verify); rc=$?
expect_eq "verify of an empty chain exits 0" "$rc" "0"
ok_if "verify reports 0 entries" grep -q "0 entries verified" <<<"$out"
expect_eq "show of an empty chain (json)" "$($A audit show --format json | tr -d ' \n')" "[]"
echo 'not json' >"$ASTRID_HOME/home/default/.local/audit/audit.jsonl"
out=$($A audit verify); rc=$?
expect_eq "verify of a corrupt chain exits 1" "$rc" "1"
ok_if "verify names the bad entry" grep -q "broken at entry 1" <<<"$out"
rm "$ASTRID_HOME/keys/runtime.key"
$A audit verify >/dev/null 2>&1; expect_eq "verify without the runtime key exits 1" "$?" "1"
echo "1..$_tap_n"
