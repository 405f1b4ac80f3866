#!/usr/bin/env bash
# The capsule lifecycle verbs as an operator uses them: capsule show, config
# (env JSON vs secret store, refusals that leave files intact), tree
# (semver-resolved imports, unsatisfied ones marked), update (unchanged,
# updated, failed, remote), build (astrid-build's exit code), and top.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
CLEANUP_EXTRA='cd /'
H=$ASTRID_HOME/home
meta() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$H/$1/.local/capsules/$2/meta.json" "$3"; }

# cfgdemo: the echo example with [env], [exports] and [imports] (both forms)
S=$TEST_TMP/cfgdemo
cp -r "$ASTRID_SRC/capsules/examples/echo" "$S"
sed -i 's/^name = "echo"/name = "cfgdemo"/' "$S/Capsule.toml"
cat >>"$S/Capsule.toml" <<'EOF'

[env]
API_KEY = { type = "secret", request = "Your API key" }
BASE_URL = { type = "string", default = "https://example.com" }

[exports.demo]
echo = "1.0.0"

[imports]
"astrid:llm" = "^1.0"
"demo:echo" = "^1.0"
EOF
ok_if "astrid-build cfgdemo" bash -c "$AB '$S' -o '$O' >/dev/null 2>&1"
ok_if "astrid-build echo" bash -c "$AB '$ASTRID_SRC/capsules/examples/echo' -o '$O' >/dev/null 2>&1"
ok_if "install cfgdemo (daemon stopped)" bash -c "$A capsule install '$O/cfgdemo.capsule' >/dev/null 2>&1"

# --help
out=$($A capsule --help); rc=$?
expect_eq "capsule --help exits 0" "$rc" "0"
for v in show config tree update build; do ok_if "  lists $v" grep -q "^ *$v " <<<"$out"; done
ok_if "capsule config --help names the env JSON" bash -c "$A capsule config --help | grep -q 'env.json'"

# show
r=$($A capsule show cfgdemo --format json); rc=$?
expect_eq "show exits 0" "$rc" "0"
expect_eq "  name and version" "$(j '(d["name"], d["version"])' <<<"$r")" "('cfgdemo', '0.1.0')"
expect_eq "  source is the absolute archive path" "$(j 'd["source"]' <<<"$r")" "$O/cfgdemo.capsule"
expect_eq "  wasm_hash is meta.json's" "$(j 'd["wasm_hash"]' <<<"$r")" "$(meta default cfgdemo wasm_hash)"
expect_eq "  install dir" "$(j 'd["dir"]' <<<"$r")" "$H/default/.local/capsules/cfgdemo"
expect_eq "  interceptor" "$(j '[(i["event"], i["action"], i["priority"]) for i in d["interceptors"]]' <<<"$r")" "[('demo.v1.echo', 'echo', 100)]"
expect_eq "  ipc_publish ACL" "$(j 'd["capabilities"]["ipc_publish"]' <<<"$r")" "['demo.v1.echo.reply']"
expect_eq "  env keys, types, unset" "$(j '[(e["key"], e["type"], e["status"]) for e in d["env"]]' <<<"$r")" "[('API_KEY', 'secret', 'unset'), ('BASE_URL', 'string', 'unset')]"
expect_eq "  imports (flat form)" "$(j '[(i["interface"], i["version"]) for i in d["imports"]]' <<<"$r")" "[('astrid:llm', '^1.0'), ('demo:echo', '^1.0')]"
expect_eq "  exports (nested form)" "$(j '[(i["interface"], i["version"]) for i in d["exports"]]' <<<"$r")" "[('demo:echo', '1.0.0')]"
out=$($A capsule show cfgdemo); ok_if "show pretty names the wasm hash" grep -q "^wasm_hash: *[0-9a-f]\{64\}" <<<"$out"
out=$($A capsule show nope 2>&1); rc=$?
expect_eq "show of an unknown capsule exits 1" "$rc" "1"
ok_if "  saying it is not installed" grep -q "no capsule 'nope' installed" <<<"$out"
$A capsule show ../etc >/dev/null 2>&1; expect_eq "show of a traversal name exits 1" "$?" "1"
$A capsule show cfgdemo --format xml >/dev/null 2>&1; expect_eq "show --format xml exits 1" "$?" "1"

# config
EJ=$H/default/.config/env/cfgdemo.env.json
r=$($A capsule config cfgdemo --format json)
expect_eq "config lists declared keys with defaults, none set" "$(j '[(e["key"], e["default"], e["set"]) for e in d]' <<<"$r")" "[('API_KEY', None, False), ('BASE_URL', 'https://example.com', False)]"
ok_if "config --set BASE_URL" bash -c "$A capsule config cfgdemo --set BASE_URL=http://127.0.0.1:9 >/dev/null"
expect_eq "  lands in the env JSON" "$(j 'd' <"$EJ")" "{'BASE_URL': 'http://127.0.0.1:9'}"
expect_eq "  file 0600" "$(stat -c %a "$EJ")" "600"
expect_eq "  dir 0700" "$(stat -c %a "$(dirname "$EJ")")" "700"
ok_if "config --set API_KEY (secret)" bash -c "$A capsule config cfgdemo --set API_KEY=sk-topsecret >/dev/null"
expect_eq "  lands in the secret store" "$(cat "$ASTRID_HOME/secrets/default/cfgdemo/API_KEY")" "sk-topsecret"
ok_if "  not in the env JSON" bash -c "! grep -q 'topsecret\|API_KEY' '$EJ'"
r=$($A capsule config cfgdemo --show --format json)
expect_eq "config --show masks the secret" "$(j '[(e["key"], e["value"], e["set"]) for e in d]' <<<"$r")" "[('API_KEY', '********', True), ('BASE_URL', 'http://127.0.0.1:9', True)]"
ok_if "  and never prints it" bash -c "! $A capsule config cfgdemo | grep -q topsecret"
ok_if "show never prints it either" bash -c "! $A capsule show cfgdemo --format json | grep -q topsecret"
expect_eq "show: API_KEY set" "$($A capsule show cfgdemo --format json | j '[e["status"] for e in d["env"]]')" "['set', 'set']"
cp "$EJ" "$TEST_TMP/env.before"
out=$($A capsule config cfgdemo --set NOPE=1 2>&1); rc=$?
expect_eq "config --set of an undeclared key exits 1" "$rc" "1"
ok_if "  naming the key" grep -q "declares no env key 'NOPE'" <<<"$out"
ok_if "  and listing the declared ones" grep -q "BASE_URL (string)" <<<"$out"
$A capsule config cfgdemo --set BASE_URL=http://changed --set NOPE=1 >/dev/null 2>&1
expect_eq "a bad --set among good ones writes nothing" "$?$(cmp -s "$EJ" "$TEST_TMP/env.before" && echo same)" "1same"
$A capsule config cfgdemo --set justakey >/dev/null 2>&1; expect_eq "--set without = exits 1" "$?" "1"
$A capsule config cfgdemo --set =v >/dev/null 2>&1; expect_eq "--set with an empty key exits 1" "$?" "1"
$A capsule config cfgdemo --set API_KEY= >/dev/null 2>&1; expect_eq "an empty secret is refused" "$?" "1"
expect_eq "  and the stored secret is intact" "$(cat "$ASTRID_HOME/secrets/default/cfgdemo/API_KEY")" "sk-topsecret"
$A capsule config cfgdemo --show --set BASE_URL=x >/dev/null 2>&1; expect_eq "--show with --set exits 1" "$?" "1"
ok_if "the env JSON is unchanged by every refusal" cmp -s "$EJ" "$TEST_TMP/env.before"
echo '{"BASE_URL": ' >"$EJ"
out=$($A capsule config cfgdemo 2>&1); rc=$?
expect_eq "a malformed env JSON is an error" "$rc" "1"
ok_if "  naming the file" grep -q "cfgdemo.env.json" <<<"$out"
$A capsule config cfgdemo --set BASE_URL=x >/dev/null 2>&1
expect_eq "  --set refuses to overwrite it" "$?$(cat "$EJ")" '1{"BASE_URL": '
cp "$TEST_TMP/env.before" "$EJ"
$A capsule config nope >/dev/null 2>&1; expect_eq "config of an unknown capsule exits 1" "$?" "1"

# tree
out=$($A capsule tree); rc=$?
expect_eq "tree exits 0" "$rc" "0"
ok_if "  marks the unsatisfied import" grep -q "imports astrid:llm \^1.0 UNSATISFIED" <<<"$out"
ok_if "  resolves the self-satisfied one" grep -q "imports demo:echo \^1.0 <- cfgdemo 1.0.0" <<<"$out"
ok_if "  no colour off a tty" bash -c "! grep -q $'\e' <<<'$out'"
expect_eq "deps (hidden alias) --format json" "$($A capsule deps --format json | j '[(i["interface"], i["satisfied"]) for c in d for i in c["imports"]]')" "[('astrid:llm', False), ('demo:echo', True)]"
# a provider at the wrong major version, then the right one through update
P=$TEST_TMP/llmprov
mkdir -p "$P" && tar xzf "$O/echo.capsule" -C "$P" Capsule.toml echo.wasm
sed -i 's/^name = "echo"/name = "llmprov"/' "$P/Capsule.toml"
printf '\n[exports]\n"astrid:llm" = "2.0.0"\n' >>"$P/Capsule.toml"
ok_if "install llmprov (exports astrid:llm 2.0.0) from a directory" bash -c "$A capsule install '$P' >/dev/null 2>&1"
out=$($A capsule tree)
ok_if "tree: 2.0.0 does not satisfy ^1.0" grep -q "astrid:llm \^1.0 UNSATISFIED (llmprov exports 2.0.0)" <<<"$out"

# update
out=$($A capsule update llmprov 2>&1); rc=$?
expect_eq "update of an unchanged source exits 0" "$rc" "0"
ok_if "  reports unchanged" grep -q "^llmprov: unchanged" <<<"$out"
sed -i 's/"astrid:llm" = "2.0.0"/"astrid:llm" = "1.2.0"/; s/^version = "0.1.0"/version = "0.1.1"/' "$P/Capsule.toml"
out=$($A capsule update llmprov 2>&1); rc=$?
expect_eq "update after the source changed exits 0" "$rc" "0"
ok_if "  reports updated" grep -q "^llmprov: updated 0.1.0 -> 0.1.1" <<<"$out"
expect_eq "  meta.json has the new version" "$(meta default llmprov version)" "0.1.1"
ok_if "tree: now satisfied by llmprov 1.2.0" bash -c "$A capsule tree | grep -q 'astrid:llm \^1.0 <- llmprov 1.2.0'"
at=$(meta default cfgdemo installed_at)
sed -i 's/^version = "0.1.0"/version = "0.2.0"/' "$S/Capsule.toml"
ok_if "rebuild cfgdemo 0.2.0" bash -c "$AB '$S' -o '$O' >/dev/null 2>&1"
out=$($A capsule update 2>&1); rc=$?
expect_eq "update (all) exits 0" "$rc" "0"
ok_if "  cfgdemo updated from its archive" grep -q "^cfgdemo: updated 0.1.0 -> 0.2.0" <<<"$out"
ok_if "  llmprov unchanged" grep -q "^llmprov: unchanged" <<<"$out"
ok_if "  a summary line" grep -q "^1 updated, 1 unchanged, 0 failed" <<<"$out"
expect_eq "  installed_at kept" "$(meta default cfgdemo installed_at)" "$at"
expect_eq "  env values survive the update" "$(j 'd["BASE_URL"]' <"$EJ")" "http://127.0.0.1:9"
mv "$P" "$P.gone"
out=$($A capsule update llmprov 2>&1); rc=$?
expect_eq "update from a vanished source exits 1" "$rc" "1"
ok_if "  reports failed" grep -q "^llmprov: failed: source $P" <<<"$out"
mv "$P.gone" "$P"
sed -i 's/^name = "llmprov"/name = "other"/' "$P/Capsule.toml"
out=$($A capsule update llmprov 2>&1); rc=$?
expect_eq "a source that now names another capsule is refused" "$rc$(grep -c "declares capsule 'other'" <<<"$out")" "11"
ok_if "  and nothing was installed as 'other'" test ! -e "$H/default/.local/capsules/other"
sed -i 's/^name = "other"/name = "llmprov"/' "$P/Capsule.toml"
M=$H/default/.local/capsules/llmprov/meta.json
python3 - "$M" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["source"] = "openclaw:@unicity-astrid/llmprov"; json.dump(m, open(sys.argv[1], "w"))
PY
out=$($A capsule update llmprov 2>&1); rc=$?
# (remote https/GitHub sources are fetched: capsule_remote.sh)
expect_eq "update from an OpenClaw source exits 2" "$rc" "2"
ok_if "  naming it" grep -q "OpenClaw source openclaw:@unicity-astrid/llmprov is not available" <<<"$out"
$A capsule update nope >/dev/null 2>&1; expect_eq "update of an unknown capsule exits 1" "$?" "1"

# workspace fallback and -a
W=$(mktemp_dir)
(cd "$W" && $A capsule install --workspace "$O/echo.capsule" >/dev/null 2>&1)
expect_eq "show falls back to ./.astrid/capsules" "$(cd "$W" && $A capsule show echo --format json | j '(d["location"], d["dir"])')" "('workspace', '$W/.astrid/capsules/echo')"
out=$(cd "$W" && $A capsule tree)
ok_if "tree lists the workspace capsule" grep -q "^echo 0.1.0 \[workspace\]" <<<"$out"
ok_if "start" $A start
ok_if "agent create bob" bash -c "$A agent create bob >/dev/null"
# capsules are installed once and shared: bob sees default's install
r=$($A capsule show cfgdemo -a bob --format json 2>&1); rc=$?
expect_eq "show -a bob: default's shared cfgdemo" "$rc $(j 'd["dir"]' <<<"$r")" "0 $H/default/.local/capsules/cfgdemo"
ok_if "install cfgdemo as bob" bash -c "$A agent switch bob >/dev/null && $A capsule install '$O/cfgdemo.capsule' >/dev/null 2>&1 && $A agent switch default >/dev/null"
expect_eq "show -a bob finds bob's" "$($A capsule show cfgdemo -a bob --format json | j 'd["dir"]')" "$H/bob/.local/capsules/cfgdemo"
out=$($A capsule config cfgdemo -a bob --set API_KEY=bobs-key 2>&1); rc=$?
expect_eq "config -a bob --set exits 0" "$rc" "0"
ok_if "  the running daemon reloaded" grep -q "daemon reloaded" <<<"$out"
expect_eq "  bob's secret is in bob's slot" "$(cat "$ASTRID_HOME/secrets/bob/cfgdemo/API_KEY")" "bobs-key"
expect_eq "  default's is untouched" "$(cat "$ASTRID_HOME/secrets/default/cfgdemo/API_KEY")" "sk-topsecret"
ok_if "config -a bob --set BASE_URL" bash -c "$A capsule config cfgdemo -a bob --set BASE_URL=http://bob >/dev/null 2>&1"
expect_eq "  bob's env JSON has it" "$(j 'd["BASE_URL"]' <"$H/bob/.config/env/cfgdemo.env.json")" "http://bob"
expect_eq "  default's env JSON does not" "$(j 'd["BASE_URL"]' <"$EJ")" "http://127.0.0.1:9"

# top
ok_if "caps grant default system:bus" bash -c "$A caps grant default system:bus >/dev/null"
ok_if "install echo" bash -c "$A capsule install '$O/echo.capsule' >/dev/null 2>&1"
$A bus request demo.v1.echo '{"x":1}' --timeout 20 >/dev/null 2>&1
$A bus request demo.v1.echo '{"x":2}' --timeout 20 >/dev/null 2>&1
r=$($A top --format json); rc=$?
expect_eq "top exits 0" "$rc" "0"
expect_eq "  counts the loaded capsules" "$(j 'd["daemon"]["loaded_capsules"]' <<<"$r")" "$($A status --format json | j 'd["loaded_capsules"]')"
expect_eq "  lists echo with its interceptor" "$(j '[c["interceptors"] for c in d["capsules"] if c["name"]=="echo"]' <<<"$r")" "[['demo.v1.echo']]"
expect_eq "  echo invoked twice for default" "$(j '[(p["principal"], p["invocations"]) for p in d["principals"] if p["capsule"]=="echo"]' <<<"$r")" "[('default', 2)]"
ok_if "top pretty has the capsules table" bash -c "$A top | grep -q '^ *echo '"
ok_if "stop" bash -c "$A stop >/dev/null"
sleep 0.3
$A top >/dev/null 2>&1; expect_eq "top without a daemon exits 1" "$?" "1"

# build
B=$(mktemp_dir)
out=$($A capsule build "$ASTRID_SRC/capsules/examples/echo" -o "$B" 2>&1); rc=$?
expect_eq "capsule build exits 0" "$rc" "0"
ok_if "  wrote the .capsule" test -s "$B/echo.capsule"
$AB /nonexistent/capsule >/dev/null 2>&1; want=$?
$A capsule build /nonexistent/capsule >/dev/null 2>&1; got=$?
expect_eq "capsule build propagates astrid-build's failure ($want)" "$got" "$want"
$A capsule build "$S" -t rust >/dev/null 2>&1; expect_eq "  and its 2 for an unsupported type" "$?" "2"
$A build "$S" -o "$B" >/dev/null 2>&1; expect_eq "hidden top-level build works" "$?$(test -s "$B/cfgdemo.capsule" && echo ok)" "0ok"
ok_if "  and is hidden from --help" bash -c "! $A --help | grep -q '^ *build '"
$A capsule build --from-mcp-json x.json >/dev/null 2>&1; expect_eq "--from-mcp-json of a missing file exits 1 (converter: mcp_servers.sh)" "$?" "1"
echo "1..$_tap_n"
