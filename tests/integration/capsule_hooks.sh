#!/usr/bin/env bash
# Lifecycle hooks as an operator meets them: astrid-install runs on the
# first install, astrid-upgrade on a re-install, both as the installing
# agent (its KV namespace, the daemon later sees the same data); a failing
# upgrade hook refuses the install and leaves the previous one untouched.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
AB=$BIN/astrid-build
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
export ASTRID_SDK=$ASTRID_SRC/sdk/c
trap '$A stop >/dev/null 2>&1; sleep 0.2; rm -rf "$TEST_TMP"' EXIT
O=$TEST_TMP/out
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
META=$ASTRID_HOME/home/default/.local/capsules/hooked/meta.json

ok_if "astrid-build hooked" bash -c "$AB '$ASTRID_SRC/tests/capsules/hooked' -o '$O' >/dev/null 2>&1"
out=$($A capsule install "$O/hooked.capsule" 2>&1); rc=$?
expect_eq "capsule install (no daemon running)" "$rc" "0"
ok_if "  says the install hook ran" grep -q "astrid-install hook ran" <<<"$out"
ok_if "  the hook logged to the agent's capsule log" bash -c "grep -q 'install hook #1' '$ASTRID_HOME'/home/default/.local/log/hooked/*.log"
ok_if "start" $A start
r=$($A bus request demo.v1.hooked '{}' --timeout 20)
expect_eq "the daemon sees what the install hook stored (same KV namespace)" "$(j 'd["install"]' <<<"$r")" "1"
expect_eq "  and no upgrade yet" "$(j 'd["upgrade"]' <<<"$r")" "0"
out=$($A capsule install "$O/hooked.capsule" 2>&1); rc=$?
expect_eq "re-install" "$rc" "0"
ok_if "  ran the upgrade hook" grep -q "astrid-upgrade hook ran" <<<"$out"
r=$($A bus request demo.v1.hooked '{}' --timeout 20)
expect_eq "  upgrade counted once, install not again" "$(j 'd["upgrade"]' <<<"$r"),$(j 'd["install"]' <<<"$r")" "1,1"
cp "$META" "$TEST_TMP/meta.before"
touch "$ASTRID_HOME/home/default/hook-fail"
out=$($A capsule install "$O/hooked.capsule" 2>&1); rc=$?
expect_eq "a failing upgrade hook fails the install" "$rc" "1"
ok_if "  naming the hook" grep -q "hooked: astrid-upgrade hook failed" <<<"$out"
ok_if "  meta.json untouched" cmp -s "$META" "$TEST_TMP/meta.before"
expect_eq "  and the installed capsule still answers" "$($A bus request demo.v1.hooked '{}' --timeout 20 | j 'd["upgrade"]')" "1"
rm -f "$ASTRID_HOME/home/default/hook-fail"
echo "1..$_tap_n"
