#!/usr/bin/env bash
# Lifecycle hooks as an operator meets them: astrid-install runs on the
# first install, astrid-upgrade on a re-install, both as the installing
# agent (its KV namespace, the daemon later sees the same data); a failing
# upgrade hook refuses the install and leaves the previous one untouched.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
META=$ASTRID_HOME/home/default/.local/capsules/hooked/meta.json

build_capsule "$ASTRID_SRC/tests/capsules/hooked"
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
