#!/usr/bin/env bash
# Who a capsule serves and what installing grants (docs/capsules.md):
# bob (group agent) installs a capsule: it is private, so it runs for bob's
# messages only (interceptors, run-loop subscriptions, trigger-hook
# fan-out); default's (admin) capsules serve bob; a grant of
# capsule:shared makes bob's serve everyone. Privileged manifest asks
# (uplink, identity, net_bind) are refused at install and, for a manifest
# planted on disk, at load. ReloadCapsules by bob reloads only his
# capsules. An install killed half-way leaves nothing that makes the next
# one an "upgrade".
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
req() { $A bus request "$@" 2>&1; }
reload() { $A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 60 2>&1; }
as() { $A agent switch "$1" >/dev/null; }
BH=$ASTRID_HOME/home/bob/.local/capsules

for c in kv-counter echo; do build_capsule "$ASTRID_SRC/capsules/examples/$c"; done
for c in probe looper bridge idprobe listener hooked; do build_capsule "$ASTRID_SRC/tests/capsules/$c"; done
# bob's own run loop: looper under another name and topic
L=$TEST_TMP/bobloop && mkdir -p "$L" && tar xzf "$O/looper.capsule" -C "$L"
sed -i -e 's/^name = "looper"/name = "bobloop"/' -e 's/"demo.v1.loop" = /"demo.v1.bobloop" = /' "$L/Capsule.toml"

ok_if "start" $A start
ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus tools" $A caps grant bob system:bus
for cap in capsule:shared capsule:uplink capsule:identity capsule:net_bind capsule:host_process capsule:allow_prompt_injection capsule:reload; do
  out=$($A caps check bob $cap 2>&1)
  ok_if "$cap is a valid capability that group agent does not hold" grep -q "^denied: bob does not hold $cap" <<<"$out"
done
out=$($A caps check default capsule:uplink 2>&1)
ok_if "  admin's '*' holds them" grep -q "^allowed" <<<"$out"
ok_if "default installs echo and probe" bash -c "$A capsule install '$O/echo.capsule' >/dev/null 2>&1 && $A capsule install '$O/probe.capsule' >/dev/null 2>&1"

# --- a private capsule
as bob
out=$($A capsule install "$O/kv-counter.capsule" 2>&1); rc=$?
expect_eq "bob installs kv-counter" "$rc" "0"
ok_if "  the success line is unchanged" grep -q "^Installed kv-counter 0.1.0 (wasm [0-9a-f]\{12\}) into $BH/kv-counter\$" <<<"$out"
ok_if "  it says what the manifest asks for" grep -q "^  ipc_publish *demo.v1.count.reply\$" <<<"$out"
ok_if "  and that it serves only bob" grep -q "^  serves *only its owner bob (private: bob does not hold capsule:shared)" <<<"$out"
ok_if "  bob's install reloaded only bob's capsules (1, not 3)" grep -q "daemon reloaded: 1 capsule(s) loaded" <<<"$out"
r=$($A capsule install --format json "$O/kv-counter.capsule" 2>/dev/null)
expect_eq "--format json has the asks object" "$(j '(d["status"], d["asks"]["owner"], d["asks"]["shared"], d["asks"]["ipc_publish"], d["asks"]["uplink"], d["asks"]["identity"], d["asks"]["needs"])' <<<"$r")" "('upgraded', 'bob', False, ['demo.v1.count.reply'], False, 'none', [])"
r=$(req demo.v1.count '{}' --timeout 20)
expect_eq "bob's message runs his capsule" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  as bob" "$(j 'd["principal"]' <<<"$r")" "bob"
as default
req demo.v1.count '{}' --timeout 3 >/dev/null; expect_eq "default's message does not run bob's private capsule (no reply)" "$?" "1"
r=$($A ps --format json)
expect_eq "  ps: invoked for bob only, not shared" "$(j '[([p["principal"] for p in c["principals"]], c["owner"], c["shared"]) for c in d if c["name"]=="kv-counter"]' <<<"$r")" "[(['bob'], 'bob', False)]"
ok_if "  nothing of kv-counter in default's KV or log" test ! -e "$ASTRID_HOME/home/default/.local/log/kv-counter"
r=$(req demo.v1.probe '{"try":"hook","hook_topic":"demo.v1.count"}' --timeout 20)
expect_eq "default's trigger-hook skips bob's private capsule" "$(j 'd["error"]' <<<"$r")" "[]"
as bob
r=$(req demo.v1.probe '{"try":"hook","hook_topic":"demo.v1.count"}' --timeout 20)
ok_if "  bob's reaches it, as bob" grep -q "'principal':'bob'" <<<"$r"
expect_eq "default's (admin) echo serves bob" "$(req demo.v1.echo '{"hi":"bob"}' --timeout 20 | j 'd["hi"]')" "bob"
as default

# --- a private run loop: its subscription gets only bob's messages
as bob
ok_if "bob installs bobloop (a run loop)" bash -c "$A capsule install '$L' >/dev/null 2>&1"
for _ in $(seq 50); do [[ $($A ps --format json | j '[c["ready"] for c in d if c["name"]=="bobloop"][0]') == True ]] && break; sleep 0.1; done
as default
req demo.v1.bobloop '{"op":"tick"}' --reply demo.v1.loop.reply --timeout 3 >/dev/null; expect_eq "default's tick never reaches bob's run loop" "$?" "1"
as bob
r=$(req demo.v1.bobloop '{"op":"tick"}' --reply demo.v1.loop.reply --timeout 20)
expect_eq "bob's tick does, counted 1" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  as bob" "$(j 'd["principal"]' <<<"$r")" "bob"
as default
ok_if "  no tick ran as default" test ! -e "$ASTRID_HOME/home/default/.local/log/bobloop"

# --- capsule:shared makes bob's capsule serve everyone (after a reload)
ok_if "caps grant bob capsule:shared" $A caps grant bob capsule:shared
r=$(reload); ok_if "default reloads" grep -q '"reloaded"' <<<"$r"
r=$(req demo.v1.count '{}' --timeout 20)
expect_eq "now default's message runs bob's capsule" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  as default (its own KV)" "$(j 'd["principal"]' <<<"$r")" "default"
expect_eq "  ps: shared" "$($A ps --format json | j '[c["shared"] for c in d if c["name"]=="kv-counter"]')" "[True]"
ok_if "caps revoke bob capsule:shared" $A caps revoke bob capsule:shared
reload >/dev/null
req demo.v1.count '{}' --timeout 3 >/dev/null; expect_eq "  revoked + reload: private again" "$?" "1"

# --- privileged asks, refused at install
as bob
for t in "bridge uplink capsule:uplink" "idprobe identity capsule:identity" "listener net_bind capsule:net_bind"; do
  set -- $t
  out=$($A capsule install "$O/$1.capsule" 2>&1); rc=$?
  expect_eq "bob installing $1 ($2) is refused" "$rc" "1"
  ok_if "  with the daemon's message" grep -q "^astrid: capsule $1: manifest asks for $2, which needs capability $3 that owner bob does not hold\$" <<<"$out"
  ok_if "  before the compile" bash -c "! grep -q 'compiling (cc)' <<<'$out'"
  ok_if "  and nothing was written" bash -c "! ls -A '$BH' | grep -q '$1'"
done
W=$(mktemp_dir)
out=$(cd "$W" && $A capsule install --workspace "$O/echo.capsule" 2>&1); rc=$?
expect_eq "bob may not put a capsule in the workspace (owned by default, serves all)" "$rc" "1"
ok_if "  naming capsule:shared" grep -q "needs capability capsule:shared that installing agent bob does not hold" <<<"$out"
ok_if "  nothing written" test ! -e "$W/.astrid/capsules/echo"
as default

# --- the same manifests planted on disk in bob's home: refused at load
for c in bridge idprobe listener; do
  $A capsule install "$O/$c.capsule" >/dev/null 2>&1 || echo "# default could not install $c"
  mv "$ASTRID_HOME/home/default/.local/capsules/$c" "$BH/$c"
done
r=$(reload)
ok_if "planted uplink capsule refused at load" grep -q "capsule bridge: manifest asks for uplink, which needs capability capsule:uplink that owner bob does not hold" <<<"$r"
ok_if "planted identity capsule refused at load" grep -q "capsule idprobe: manifest asks for identity, which needs capability capsule:identity that owner bob does not hold" <<<"$r"
ok_if "planted net_bind capsule refused at load" grep -q "capsule listener: manifest asks for net_bind, which needs capability capsule:net_bind that owner bob does not hold" <<<"$r"
expect_eq "  ps lists none of them" "$($A ps --format json | j 'sorted(c["name"] for c in d)')" "['bobloop', 'echo', 'kv-counter', 'probe']"
ok_if "  no socket was opened" test ! -e "$ASTRID_HOME/run/capsule-listener.sock"
ok_if "  the daemon log says why" grep -q "capsule bridge: manifest asks for uplink" "$ASTRID_HOME"/log/*
ok_if "caps grant bob capsule:uplink" $A caps grant bob capsule:uplink
r=$(reload)
ok_if "  then bob's bridge loads" bash -c "$A ps --format json | grep -q '\"bridge\"'"
ok_if "  and the others still do not" grep -q "capsule idprobe: manifest asks for identity" <<<"$r"
rm -rf "$BH/bridge" "$BH/idprobe" "$BH/listener"

# --- ReloadCapsules by bob touches only bob's capsules
ok_if "default installs looper (a run loop)" bash -c "$A capsule install '$O/looper.capsule' >/dev/null 2>&1"
loops() { cat "$ASTRID_HOME"/home/$1/.local/log/$2/*.log 2>/dev/null | grep -c 'run loop on'; }
for _ in $(seq 100); do [[ $(loops default looper) -ge 1 ]] && break; sleep 0.1; done
expect_eq "default's looper started once" "$(loops default looper)" "1"
b0=$(loops bob bobloop)
as bob
r=$(reload)
expect_eq "bob's reload reloaded his 2 capsules" "$(j 'd["data"]["loaded"]' <<<"$r" 2>/dev/null || j 'd["loaded"]' <<<"$r")" "2"
as default
for _ in $(seq 100); do [[ $(loops bob bobloop) -gt $b0 ]] && break; sleep 0.1; done
expect_eq "  his run loop restarted" "$(loops bob bobloop)" "$((b0 + 1))"
expect_eq "  default's run loop was not touched" "$(loops default looper)" "1"
expect_eq "  default's capsules still loaded" "$($A ps --format json | j 'sorted(c["name"] for c in d)')" "['bobloop', 'echo', 'kv-counter', 'looper', 'probe']"
r=$(reload)
for _ in $(seq 100); do [[ $(loops default looper) -ge 2 ]] && break; sleep 0.1; done
expect_eq "default's reload reloads everyone's" "$(loops default looper)" "2"
ok_if "  (all 5)" grep -q '"loaded": *5' <<<"$r"

# --- an install killed half-way (point 8)
HD=$ASTRID_HOME/home/default/.local/capsules/hooked
hooked() { req demo.v1.hooked '{}' --timeout 20 | j "d[\"$1\"]"; }
mkdir -p "$HD" && tar xzf "$O/hooked.capsule" -C "$HD" Capsule.toml && echo '{}' >"$HD/meta.json" && : >"$HD/.meta.json.tmp-Ab12Cd"
mkdir -p "$ASTRID_HOME/home/default/.local/capsules/.hooked.staging-Xy34Zw" && echo junk >"$ASTRID_HOME/home/default/.local/capsules/.hooked.staging-Xy34Zw/meta.json"
out=$($A capsule install "$O/hooked.capsule" 2>&1)
ok_if "leftovers (Capsule.toml, meta.json without version/wasm_hash) are not an install: 'Installed'" grep -q "^Installed hooked 0.1.0 .*; astrid-install hook ran\$" <<<"$out"
expect_eq "  the install hook ran, not the upgrade hook" "$(hooked install),$(hooked upgrade)" "1,0"
ok_if "  the interrupted temp file is gone" test ! -e "$HD/.meta.json.tmp-Ab12Cd"
ok_if "  and so is the old staging directory" bash -c "! ls -A '$ASTRID_HOME/home/default/.local/capsules' | grep -q staging"
out=$($A capsule install "$O/hooked.capsule" 2>&1)
ok_if "a complete install is upgraded" grep -q "^Upgraded hooked 0.1.0 .*; astrid-upgrade hook ran\$" <<<"$out"
# a real kill -9 while it compiles: a module nobody compiled yet
K=$TEST_TMP/killme && mkdir -p "$K" && tar xzf "$O/kv-counter.capsule" -C "$K"
sed -i 's/^name = "kv-counter"/name = "killme"/' "$K/Capsule.toml"
python3 - "$K/kv_counter.wasm" <<'PY'
import sys, os
p = sys.argv[1]; name = b"pad"; data = os.urandom(16)
body = bytes([len(name)]) + name + data
open(p, "ab").write(b"\x00" + bytes([len(body)]) + body)
PY
$A capsule install "$K" >"$TEST_TMP/kill.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "compiling (cc)" "$TEST_TMP/kill.out" && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
ok_if "killed during the compile: nothing installed" test ! -e "$ASTRID_HOME/home/default/.local/capsules/killme/meta.json"
out=$($A capsule install "$K" 2>&1)
ok_if "  the next install says Installed" grep -q "^Installed killme 0.1.0" <<<"$out"
echo "1..$_tap_n"
