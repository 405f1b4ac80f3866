#!/usr/bin/env bash
# Uplink capsules: a capsule with [[uplink]] registers a platform
# connection and sends what its users say; the kernel publishes it on
# uplink.v1.inbound under the invoking agent. Profiles are checked,
# (name, platform) is unique per capsule, and a capsule that is no uplink
# cannot use any of it (probe's forge attempt in capsule_e2e covers
# publish-as).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"

build_capsule "$ASTRID_SRC/tests/capsules/bridge"
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
