#!/usr/bin/env bash
# `astrid secret` and `capsule config` for every agent, as an operator
# drives them (issue 15 points 6 and 8): secret-typed keys land in the
# file store only (never env JSON, logs, audit params or `ps`), the heal
# moves a planted plaintext secret at load, agents cannot write each
# other's secrets, get-config answers agent value -> default's -> manifest
# default, and remove --purge takes the secrets with it.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
req() { $A bus request demo.v1.cfgprobe "{\"key\":\"$1\"}" --timeout 20 2>&1; }
H=$ASTRID_HOME
VAL='sk-test-Zq9yXw7Vu5'

build_capsule "$ASTRID_SRC/tests/capsules/cfgprobe"
ok_if "start" $A start
ok_if "capsule install cfgprobe (default's, shared)" $A capsule install "$O/cfgprobe.capsule"
ok_if "agent create erin" $A agent create erin
ok_if "agent create bob" $A agent create bob
# to read the capsule's replies with `bus request` as erin and bob
ok_if "caps grant erin, bob system:bus" bash -c "$A caps grant erin system:bus && $A caps grant bob system:bus"

# --- set: secret-typed key -> file store, nothing else
out=$($A secret set API_KEY "$VAL" --capsule cfgprobe 2>&1); rc=$?
expect_eq "secret set API_KEY (secret-typed) exits 0" "$rc" "0"
ok_if "  says secret store" grep -q "Set API_KEY for default/cfgprobe (secret store" <<<"$out"
ok_if "  the value is not echoed" bash -c "! grep -qF '$VAL' <<<'$out'"
f=$H/secrets/default/cfgprobe/API_KEY
expect_eq "  stored in secrets/default/cfgprobe/API_KEY" "$(cat "$f" 2>/dev/null)" "$VAL"
expect_eq "  mode 0600" "$(stat -c %a "$f" 2>/dev/null)" "600"
ok_if "  not in any env JSON" bash -c "! grep -rqF '$VAL' '$H/home' 2>/dev/null"
ok_if "  not in the daemon log, audit log or anywhere else under the home" \
  bash -c "! grep -rqF --exclude-dir=secrets '$VAL' '$H'"
r=$(req API_KEY)
expect_eq "  get-config returns it to the capsule" "$(j 'd.get("value")' <<<"$r")" "$VAL"
# without --capsule: the one capsule declaring the key
out=$($A secret set API_KEY "${VAL}2" 2>&1); rc=$?
expect_eq "secret set without --capsule finds the declaring capsule" "$rc" "0"
expect_eq "  and writes the file store" "$(cat "$f" 2>/dev/null)" "${VAL}2"
out=$($A secret set NOT_DECLARED x 2>&1); rc=$?
expect_eq "an undeclared key without --capsule is refused (no plaintext default.env.json)" "$rc" "1"
ok_if "  naming --capsule" grep -q "give --capsule NAME" <<<"$out"
ok_if "  nothing written" test ! -e "$H/home/default/.config/env/default.env.json"
# value from stdin
out=$(printf '%s\n' "$VAL" | $A secret set API_KEY - --capsule cfgprobe 2>&1); rc=$?
expect_eq "secret set KEY - reads the value from stdin" "$rc$(cat "$f")" "0$VAL"

# --- ps: the value is gone from the command line while the CLI runs
fake=$TEST_TMP/fakehome && mkdir -p "$fake/run" && chmod 700 "$fake" "$fake/run"
echo 0000000000000000000000000000000000000000000000000000000000000000 >"$fake/run/system.token"
python3 - "$fake/run/system.sock" "$TEST_TMP/accepted" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
c, _ = s.accept(); open(sys.argv[2], "w").write("1"); time.sleep(20)
EOF
srv=$!
for _ in $(seq 100); do [[ -S $fake/run/system.sock ]] && break; sleep 0.05; done
ASTRID_HOME=$fake $A secret set API_KEY "$VAL" --capsule cfgprobe >/dev/null 2>&1 &
cli=$!
for _ in $(seq 200); do [[ -e $TEST_TMP/accepted ]] && break; sleep 0.05; done
ok_if "ps: the CLI is waiting on the daemon" test -e "$TEST_TMP/accepted"
cmd=$(tr '\0' ' ' </proc/$cli/cmdline 2>/dev/null)
ok_if "  its command line names the key" grep -q "secret set API_KEY" <<<"$cmd"
ok_if "  but not the value (ps shows no secret)" bash -c "! grep -qF '$VAL' <<<'$cmd'"
ok_if "  nor does ps -ef" bash -c "! ps -ef | grep -v grep | grep -qF '$VAL'"
kill $cli $srv 2>/dev/null; wait $cli $srv 2>/dev/null

# --- non-secret config: capsule config for any agent, get-config chain
r=$(req MODEL)
expect_eq "get-config MODEL with nothing set: the manifest default" "$(j 'd.get("value")' <<<"$r")" "manifest-default"
ok_if "capsule config cfgprobe --set MODEL=gpt-default (default agent)" $A capsule config cfgprobe --set MODEL=gpt-default
r=$(req MODEL)
expect_eq "  get-config returns the set value, not the default" "$(j 'd.get("value")' <<<"$r")" "gpt-default"
out=$($A capsule config cfgprobe -a erin --set MODEL=gpt-erin 2>&1); rc=$?
expect_eq "capsule config cfgprobe -a erin --set works for a shared capsule" "$rc" "0"
ok_if "  no 'no capsule installed for agent erin'" bash -c "! grep -q 'no capsule' <<<'$out'"
expect_eq "  written to erin's env JSON" "$(j 'd["MODEL"]' <"$H/home/erin/.config/env/cfgprobe.env.json")" "gpt-erin"
out=$($A capsule config cfgprobe -a erin --show --format json 2>&1)
expect_eq "  config -a erin --show: set, erin's value" "$(j '[(r["set"], r["value"]) for r in d if r["key"]=="MODEL"][0]' <<<"$out")" "(True, 'gpt-erin')"
ok_if "agent switch erin" $A agent switch erin
r=$(req MODEL)
expect_eq "get-config as erin: erin's value" "$(j 'd.get("principal"), d.get("value")' <<<"$r")" "erin gpt-erin"
ok_if "agent switch bob" $A agent switch bob
r=$(req MODEL)
expect_eq "get-config as bob (nothing set): default agent's value" "$(j 'd.get("principal"), d.get("value")' <<<"$r")" "bob gpt-default"
r=$(req API_KEY)
expect_eq "get-config API_KEY as bob: default's secret is not bob's" "$(j 'd.get("value")' <<<"$r")" ""
out=$($A capsule config cfgprobe --show --format json 2>&1)
expect_eq "config --show as bob: MODEL not his own, inherited from default" "$(j '[(r["set"], r["value"], r.get("inherited_from")) for r in d if r["key"]=="MODEL"][0]' <<<"$out")" "(False, 'gpt-default', 'default')"

# --- agents cannot write each other's secrets
out=$($A secret set API_KEY bobs-own --capsule cfgprobe 2>&1); rc=$?
expect_eq "bob sets his own secret" "$rc" "0"
expect_eq "  in secrets/bob/" "$(cat "$H/secrets/bob/cfgprobe/API_KEY" 2>/dev/null)" "bobs-own"
r=$(req API_KEY)
expect_eq "  get-config as bob: his" "$(j 'd.get("value")' <<<"$r")" "bobs-own"
out=$($A secret set API_KEY stolen -a erin --capsule cfgprobe 2>&1); rc=$?
expect_eq "bob cannot set erin's secret" "$rc" "1"
ok_if "  permission denied" grep -q "permission denied" <<<"$out"
ok_if "  nothing written for erin" test ! -e "$H/secrets/erin/cfgprobe/API_KEY"
out=$($A secret set API_KEY shared-by-bob --capsule cfgprobe --scope shared 2>&1); rc=$?
expect_eq "bob cannot set a host-wide secret" "$rc$(test -e "$H/secrets/__host__/cfgprobe/API_KEY" && echo ' written')" "1"
out=$($A secret delete API_KEY -a default 2>&1); rc=$?
expect_eq "bob cannot delete default's secret" "$rc" "1"
ok_if "  still there" test -e "$H/secrets/default/cfgprobe/API_KEY"
out=$($A capsule config cfgprobe -a erin --set MODEL=by-bob 2>&1); rc=$?
expect_eq "bob cannot capsule-config erin" "$rc$(j 'd["MODEL"]' <"$H/home/erin/.config/env/cfgprobe.env.json")" "1gpt-erin"
ok_if "agent switch default" $A agent switch default

# --- shared scope by the operator, list, delete
ok_if "secret set --scope shared (admin)" $A secret set API_KEY host-wide --capsule cfgprobe --scope shared
expect_eq "  in secrets/__host__/" "$(cat "$H/secrets/__host__/cfgprobe/API_KEY" 2>/dev/null)" "host-wide"
ok_if "agent switch erin" $A agent switch erin
r=$(req API_KEY)
expect_eq "  get-config as erin (none of her own): the host-wide one" "$(j 'd.get("value")' <<<"$r")" "host-wide"
ok_if "agent switch default" $A agent switch default
out=$($A secret set MODEL x --capsule cfgprobe --scope shared 2>&1); rc=$?
expect_eq "--scope shared on a non-secret key is refused" "$rc" "1"
out=$($A secret list 2>&1)
ok_if "secret list: STORAGE column" grep -Eq '^KEY +CAPSULE +SCOPE +STORAGE' <<<"$out"
ok_if "  API_KEY file" grep -Eq '^API_KEY +cfgprobe +agent +file$' <<<"$out"
ok_if "  MODEL env-json" grep -Eq '^MODEL +cfgprobe +agent +env-json$' <<<"$out"
ok_if "  the shared one" grep -Eq '^API_KEY +cfgprobe +shared +file$' <<<"$out"
ok_if "  no value shown" bash -c "! grep -qF '$VAL' <<<'$out'"

# --- the heal: a plaintext secret planted in env JSON moves at load
printf '{"API_KEY": "planted-%s", "REGION": "eu"}\n' "$VAL" >"$H/home/erin/.config/env/cfgprobe.env.json"
chmod 600 "$H/home/erin/.config/env/cfgprobe.env.json"
out=$($A secret list -a erin 2>&1)
ok_if "list before the heal: env-json (LEGACY!)" grep -Eq '^API_KEY +cfgprobe +agent +env-json \(LEGACY!\)$' <<<"$out"
ok_if "capsule reload" $A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 30
ok_if "heal: the plaintext is gone from erin's env JSON" bash -c "! grep -q API_KEY '$H/home/erin/.config/env/cfgprobe.env.json'"
expect_eq "  the other keys stay" "$(j 'd.get("REGION")' <"$H/home/erin/.config/env/cfgprobe.env.json")" "eu"
expect_eq "  the value is in secrets/erin/" "$(cat "$H/secrets/erin/cfgprobe/API_KEY" 2>/dev/null)" "planted-$VAL"
expect_eq "  0600" "$(stat -c %a "$H/secrets/erin/cfgprobe/API_KEY" 2>/dev/null)" "600"
ok_if "  a security event in erin's audit log" grep -q '"violation_type":"plaintext_secret_in_env_json"' "$H/home/erin/.local/audit/audit.jsonl"
ok_if "  naming the key, never the value" bash -c "! grep -rqF --exclude-dir=secrets 'planted-$VAL' '$H'"
out=$($A secret list -a erin 2>&1)
ok_if "list after the heal: file" grep -Eq '^API_KEY +cfgprobe +agent +file$' <<<"$out"

out=$($A secret delete API_KEY -a erin 2>&1); rc=$?
expect_eq "secret delete -a erin" "$rc" "0"
ok_if "  the file is gone" test ! -e "$H/secrets/erin/cfgprobe/API_KEY"
out=$($A secret delete API_KEY -a erin 2>&1); rc=$?
expect_eq "  again: not found, exit 1" "$rc" "1"

# --- remove --purge takes the secrets
out=$($A capsule remove cfgprobe --purge 2>&1); rc=$?
expect_eq "capsule remove --purge" "$rc" "0"
ok_if "  says so" grep -q "Purged 1 secret(s) of cfgprobe and 1 host-wide secret(s)" <<<"$out"
ok_if "  secrets/default/cfgprobe gone" test ! -e "$H/secrets/default/cfgprobe"
ok_if "  secrets/__host__/cfgprobe gone" test ! -e "$H/secrets/__host__/cfgprobe"
ok_if "  env JSON gone" test ! -e "$H/home/default/.config/env/cfgprobe.env.json"
ok_if "nowhere under the home is the value left" bash -c "! grep -rqF '$VAL' '$H'"
