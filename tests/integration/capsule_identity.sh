#!/usr/bin/env bash
# Identity host functions and check-capsule-capability end to end, as an
# operator would drive them: build tests/capsules/idprobe (identity =
# ["admin"], allow_prompt_injection) and idplain (neither) with
# astrid-build, install both, and call them with `astrid bus request`.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
req() { $A bus request "demo.v1.$1" "$2" --timeout 20 "${@:3}" 2>&1; }

for c in idprobe idplain; do
  build_capsule "$ASTRID_SRC/tests/capsules/$c"
done
ok_if "start" $A start
# manifest rules at install: a capsule for another runtime version, or
# with a [[topic]] named "*", is refused naming the field
bad=$TEST_TMP/bad && mkdir -p "$bad" && tar xzf "$O/idprobe.capsule" -C "$bad" Capsule.toml idprobe.wasm
sed -i 's/^astrid-version = .*/astrid-version = ">=9.0"/' "$bad/Capsule.toml"
out=$($A capsule install "$bad" 2>&1); rc=$?
expect_eq "install refuses astrid-version >=9.0" "$rc" "1"
ok_if "  naming package.astrid-version and this runtime" grep -q "package.astrid-version: this capsule requires Astrid >=9.0; this runtime is 0.6.0" <<<"$out"
sed -i 's/^astrid-version = .*/astrid-version = "^0.6"/; s/^name = "demo.v1.idprobe"$/name = "*"/' "$bad/Capsule.toml"
out=$($A capsule install "$bad" 2>&1); rc=$?
expect_eq "install refuses a [[topic]] named *" "$rc" "1"
ok_if "  too broad, naming topic[0].name" grep -q "topic\[0\].name: '\*' is too broad" <<<"$out"
ok_if "  nothing was installed" test ! -e "$ASTRID_HOME/home/default/.local/capsules/idprobe"

ok_if "capsule install idprobe" $A capsule install "$O/idprobe.capsule"
ok_if "capsule install idplain" $A capsule install "$O/idplain.capsule"

# create user, link, resolve, list links, unlink
r=$(req idprobe '{"op":"create","name":"Alice Smith"}')
expect_eq "create-user ok" "$(j 'd["ok"]' <<<"$r")" "True"
uid=$(j 'd.get("user_id","")' <<<"$r")
ok_if "  returns a UUID" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$uid"
r=$(req idprobe '{"op":"create"}')
expect_eq "create-user without a display name" "$(j 'd["ok"]' <<<"$r")" "True"
r=$(req idprobe '{"op":"create","name":"a/b"}')
expect_eq "a display name with '/' is refused in the response" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  naming the '/'" grep -q "must not contain '/'" <<<"$r"
r=$(req idprobe "{\"op\":\"link\",\"platform\":\" Discord \",\"puid\":\"42\",\"user\":\"$uid\",\"method\":\"admin\"}")
expect_eq "link ok" "$(j 'd["ok"]' <<<"$r")" "True"
r=$(req idprobe "{\"op\":\"link\",\"platform\":\"telegram\",\"puid\":\"t-7\",\"user\":\"$uid\",\"method\":\"code\"}")
expect_eq "a second link ok" "$(j 'd["ok"]' <<<"$r")" "True"
r=$(req idprobe '{"op":"link","platform":"discord","puid":"43","user":"not-a-uuid","method":"admin"}')
expect_eq "link to a non-UUID: ok false" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  invalid UUID" grep -q "invalid UUID" <<<"$r"
r=$(req idprobe '{"op":"link","platform":"discord","puid":"43","user":"6f1c7a52-1d7e-4c57-9d0a-2b5f3c1e9a11","method":"admin"}')
expect_eq "link to a user that does not exist: ok false" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  does not exist" grep -q "does not exist" <<<"$r"
r=$(req idprobe "{\"op\":\"link\",\"platform\":\"discord\",\"puid\":\"44\",\"user\":\"$uid\",\"method\":\"\"}")
expect_eq "link with an empty method: ok false" "$(j 'd["ok"]' <<<"$r")" "False"
r=$(req idprobe '{"op":"resolve","platform":"DISCORD","puid":"42"}')
expect_eq "resolve finds the link (platform case-folded)" "$(j 'd["found"]' <<<"$r")" "True"
expect_eq "  to the user" "$(j 'd["user_id"]' <<<"$r")" "$uid"
expect_eq "  with its display name" "$(j 'd["display_name"]' <<<"$r")" "Alice Smith"
r=$(req idprobe '{"op":"resolve","platform":"discord","puid":"nobody"}')
expect_eq "resolve of an unknown link: found false" "$(j 'd["found"]' <<<"$r")" "False"
expect_eq "  no error" "$(j '"error" in d' <<<"$r")" "False"
r=$(req idprobe '{"op":"resolve","platform":"","puid":"42"}')
expect_eq "resolve with a blank platform: an error in the response" "$(j 'd["found"], "blank" in d["error"]' <<<"$r")" "False True"
r=$(req idprobe "{\"op\":\"links\",\"user\":\"$uid\"}")
expect_eq "list-links ok" "$(j 'd["ok"]' <<<"$r")" "True"
expect_eq "  both links, upstream's fields" "$(j 'sorted((l["platform"], l["platform_user_id"], l["method"]) for l in d["links"])' <<<"$r")" "[('discord', '42', 'admin'), ('telegram', 't-7', 'code')]"
expect_eq "  every link names the user" "$(j 'set(l["astrid_user_id"] for l in d["links"])' <<<"$r")" "{'$uid'}"
ok_if "  with linked_at" bash -c "python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(l[\"linked_at\"].endswith(\"Z\") for l in d[\"links\"])' <<<'$r'"
r=$(req idprobe '{"op":"unlink","platform":"discord","puid":"42"}')
expect_eq "unlink removes it" "$(j 'd["ok"], d["removed"]' <<<"$r")" "True True"
r=$(req idprobe '{"op":"unlink","platform":"discord","puid":"42"}')
expect_eq "unlink again: removed false" "$(j 'd["ok"], d["removed"]' <<<"$r")" "True False"
r=$(req idprobe '{"op":"resolve","platform":"discord","puid":"42"}')
expect_eq "resolve after unlink: found false" "$(j 'd["found"]' <<<"$r")" "False"
r=$(req idprobe "{\"op\":\"links\",\"user\":\"$uid\"}")
expect_eq "list-links shows the one left" "$(j '[l["platform"] for l in d["links"]]' <<<"$r")" "['telegram']"

# a capsule without capabilities.identity is refused (result::err), and
# nothing changes
for op in '{"op":"create","name":"mallory"}' \
          "{\"op\":\"link\",\"platform\":\"discord\",\"puid\":\"666\",\"user\":\"$uid\",\"method\":\"x\"}" \
          '{"op":"resolve","platform":"telegram","puid":"t-7"}' \
          '{"op":"unlink","platform":"telegram","puid":"t-7"}' \
          "{\"op\":\"links\",\"user\":\"$uid\"}"; do
  name=$(j 'd["op"]' <<<"$op")
  r=$(req idplain "$op")
  expect_eq "idplain $name: refused (result::err)" "$(j '"denied: capabilities.identity must include" in d["err"], d["err"].split(":")[0]' <<<"$r")" "True identity-$( case $name in create) echo create-user;; links) echo list-links;; *) echo $name;; esac)"
done
r=$(req idprobe '{"op":"resolve","platform":"telegram","puid":"t-7"}')
expect_eq "the refused unlink left the link in place" "$(j 'd["found"]' <<<"$r")" "True"
r=$(req idprobe '{"op":"resolve","platform":"discord","puid":"666"}')
expect_eq "the refused link wrote nothing" "$(j 'd["found"]' <<<"$r")" "False"

# check-capsule-capability: idprobe relays to idplain, which checks
# idprobe's runtime UUID (its caller), and the other way round
r=$(req idprobe '{"op":"relay","to":"idplain"}' --reply demo.v1.idplain.reply)
expect_eq "idprobe (allow_prompt_injection = true): allowed" "$(j 'd["allowed"]' <<<"$r")" "True"
probe_uuid=$(j 'd["uuid"]' <<<"$r")
r=$(req idplain '{"op":"relay","to":"idprobe"}' --reply demo.v1.idprobe.reply)
expect_eq "idplain (no flag): not allowed" "$(j 'd["allowed"]' <<<"$r")" "False"
ok_if "  a different UUID" test "$(j 'd["uuid"]' <<<"$r")" != "$probe_uuid"
r=$(req idplain "{\"op\":\"check\",\"uuid\":\"$probe_uuid\"}")
expect_eq "checking idprobe's UUID directly: allowed" "$(j 'd["allowed"]' <<<"$r")" "True"
r=$(req idplain "{\"op\":\"check\",\"uuid\":\"$probe_uuid\",\"cap\":\"uplink\"}")
expect_eq "any other capability: false" "$(j 'd["allowed"]' <<<"$r")" "False"
r=$(req idplain '{"op":"check","uuid":"6f1c7a52-1d7e-4c57-9d0a-2b5f3c1e9a11"}')
expect_eq "an unknown UUID: false" "$(j 'd["allowed"]' <<<"$r")" "False"
r=$(req idplain '{"op":"check","uuid":"caller"}')
expect_eq "the CLI connection's UUID (not a capsule): false" "$(j 'd["allowed"]' <<<"$r")" "False"
r=$(req idplain '{"op":"check","uuid":"not a uuid"}')
expect_eq "garbage: false" "$(j 'd["allowed"]' <<<"$r")" "False"
# a restart loads the capsules again under new UUIDs: the old one is
# unknown afterwards
ok_if "stop" $A stop
sleep 0.3
ok_if "start again" $A start
r=$(req idplain "{\"op\":\"check\",\"uuid\":\"$probe_uuid\"}")
expect_eq "after a reload the old UUID is unknown" "$(j 'd["allowed"]' <<<"$r")" "False"
r=$(req idprobe '{"op":"relay","to":"idplain"}' --reply demo.v1.idplain.reply)
expect_eq "  and the new one is allowed" "$(j 'd["allowed"]' <<<"$r")" "True"
ok_if "  (a new UUID)" test "$(j 'd["uuid"]' <<<"$r")" != "$probe_uuid"
echo "1..$_tap_n"
