#!/usr/bin/env bash
# Uplink capsules: a capsule with [[uplink]] registers a platform
# connection and sends what its users say; the kernel publishes it on
# uplink.v1.inbound under the invoking agent. Profiles are checked,
# (name, platform) is unique per capsule, and a capsule that is no uplink
# cannot use any of it (probe's forge attempt in capsule_e2e covers
# publish-as).
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

ok_if "astrid-build bridge" bash -c "$AB '$ASTRID_SRC/tests/capsules/bridge' -o '$O' >/dev/null 2>&1"
ok_if "start" $A start
ok_if "capsule install bridge" $A capsule install "$O/bridge.capsule"
r=$($A bus request demo.v1.bridge '{"op":"send"}' --reply uplink.v1.inbound --timeout 20 2>&1)
expect_eq "uplink-send arrives on uplink.v1.inbound" "$(j 'd["content"]' <<<"$r")" "hello from telegram"
expect_eq "  from the platform user" "$(j 'd["platform_user_id"]' <<<"$r")" "tg-user-42"
expect_eq "  platform lower-cased, human profile read as chat" "$(j 'd["platform"]+","+d["profile"]' <<<"$r")" "telegram,chat"
expect_eq "  naming the capsule" "$(j 'd["capsule"]' <<<"$r")" "bridge"
id=$(j 'd["uplink_id"]' <<<"$r")
expect_eq "ps lists the registered uplink" "$($A ps --format json | j '[u["id"] for c in d if c["name"]=="bridge" for u in c["uplinks"]][0]')" "$id"
r=$($A bus request demo.v1.bridge '{"op":"bad"}' --timeout 20 2>&1)
expect_eq "an unknown profile is refused" "$(j 'd["bad_profile_ok"]' <<<"$r")" "False"
ok_if "  naming the allowed ones" grep -q "is not chat, interactive, notify or bridge" <<<"$r"
expect_eq "a duplicate (name, platform) is refused" "$(j 'd["dup_ok"]' <<<"$r")" "False"
ok_if "  as already registered" grep -q "already registered" <<<"$r"
echo "1..$_tap_n"
