#!/usr/bin/env bash
# Capsule writes served by the daemon (docs/wire.md "Capsule management"):
# the astrid CLI links no installer and writes nothing under $ASTRID_HOME;
# InstallCapsule runs in the daemon as the requester (owner = the
# requesting principal), its progress reaches the requester only; a source
# under $ASTRID_HOME (or a link into it) is refused without echoing what is
# there; concurrent installs of one name end in one consistent install; a
# requester that goes away cancels its install; remove --purge, config
# --set (secret values never in the audit log) and gc (admin only) are
# requests too.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
as() { $A agent switch "$1" >/dev/null; }
DH=$ASTRID_HOME/home/default/.local/capsules
BH=$ASTRID_HOME/home/bob/.local/capsules

# --- the CLI no longer carries the installer
expect_eq "astrid links no installer, engine, hook runner or secret store" \
  "$(nm "$BIN/astrid" | grep -cE ' T (astrid_capsule_install|astrid_capsule_run_hook|astrid_wasm_engine_new|astrid_secret_set|astrid_capsule_unpack)$')" "0"
expect_eq "src/cli includes none of their headers" \
  "$(grep -lE '#include "(capsule/install|capsule/hooks|capsule/wasm/[a-z_]+|store/secrets)\.h"' "$ASTRID_SRC"/src/cli/*.c "$ASTRID_SRC"/src/cli/*.h | wc -l)" "0"

for c in echo kv-counter; do build_capsule "$ASTRID_SRC/capsules/examples/$c"; done
build_capsule "$ASTRID_SRC/tests/capsules/hooked"
ok_if "start" $A start
ok_if "agent create bob" bash -c "$A agent create bob >/dev/null"

# --- progress on a private topic, to the requester alone
$A bus watch 'astrid.v1.*' >"$TEST_TMP/watch.out" 2>&1 &
wpid=$!
$A bus watch 'astrid.v1.response.*' >"$TEST_TMP/watch2.out" 2>&1 &
wpid2=$!
for _ in $(seq 100); do
  [[ $($A status --format json 2>/dev/null | j 'd["connected_clients"]') -ge 3 ]] && break; sleep 0.05
done
out=$($A capsule install "$O/echo.capsule" 2>&1); rc=$?
expect_eq "default installs echo through the daemon" "$rc" "0"
ok_if "  the requester saw the compile progress" grep -q "^  compiling (cc)" <<<"$out"
ok_if "  and the success line" grep -q "^Installed echo 0.1.0 (wasm [0-9a-f]\{12\}) into $DH/echo\$" <<<"$out"
ok_if "  the daemon reloaded it" grep -q "^  daemon reloaded: 1 capsule(s) loaded" <<<"$out"
expect_eq "  owned by default (ps)" "$($A ps --format json | j '[c["owner"] for c in d if c["name"]=="echo"]')" "['default']"
as bob
out=$($A capsule install "$O/kv-counter.capsule" 2>&1); rc=$?
expect_eq "bob installs kv-counter" "$rc" "0"
ok_if "  into bob's home" test -f "$BH/kv-counter/meta.json"
ok_if "  not default's" test ! -e "$DH/kv-counter"
ok_if "  it serves only bob" grep -q "^  serves *only its owner bob" <<<"$out"
as default
expect_eq "  owner bob (ps)" "$($A ps --format json | j '[c["owner"] for c in d if c["name"]=="kv-counter"]')" "['bob']"
ok_if "a broadcast reaches the watcher meanwhile (the watch works)" \
  bash -c "$A bus publish astrid.v1.watchcheck '{\"x\":1}' >/dev/null"
sleep 0.5
kill "$wpid" "$wpid2" 2>/dev/null; wait "$wpid" "$wpid2" 2>/dev/null
ok_if "  the watcher got it" grep -q 'astrid.v1.watchcheck' "$TEST_TMP/watch.out"
ok_if "bus watch 'astrid.v1.*' (default, another connection) saw no install progress or reply" \
  bash -c "! grep -qE 'install_capsule|compiling|progress' '$TEST_TMP/watch.out'"
ok_if "bus watch 'astrid.v1.response.*' saw nothing at all" test ! -s "$TEST_TMP/watch2.out"
r=$($A bus request astrid.v1.request.install_capsule "{\"method\":\"InstallCapsule\",\"params\":{\"source\":\"$O/echo.capsule\"}}" --reply 'astrid.v1.response.install_capsule.progress' --timeout 60 2>&1)
ok_if "a raw InstallCapsule gets its progress on astrid.v1.response.install_capsule.progress" \
  grep -q '"line"' <<<"$r"
r=$($A bus request astrid.v1.request.install_capsule "{\"method\":\"InstallCapsule\",\"params\":{\"source\":\"$O/echo.capsule\"}}" --reply 'astrid.v1.response.install_capsule' --timeout 60 2>&1)
expect_eq "  and its reply: upgraded, with the asks" "$(j '(d["status"], d["data"]["status"], d["data"]["asks"]["owner"])' <<<"$r")" "('success', 'upgraded', 'default')"
r=$($A bus request astrid.v1.request.install_capsule '{"method":"InstallCapsule","params":{"source":"relative/echo.capsule"}}' --reply 'astrid.v1.response.install_capsule' --timeout 20 2>&1)
expect_eq "a relative source is refused (the daemon's cwd is not the client's)" "$(j 'd["error"]["kind"]' <<<"$r")" "invalid"

r=$($A bus request astrid.v1.request.update_capsule '{"method":"UpdateCapsule","params":{"name":5}}' --reply 'astrid.v1.response.update_capsule' --timeout 20 2>&1)
expect_eq "a parameter of the wrong type is refused, not ignored (UpdateCapsule name: 5)" "$(j '(d["error"]["kind"], d["data"])' <<<"$r")" "('invalid', 'params.name must be a string')"

# --- sources under $ASTRID_HOME
mkdir -p "$ASTRID_HOME/secrets/default/planted"
echo 'name = "TOPSECRET-7d1f"' >"$ASTRID_HOME/secrets/default/planted/KEY"
out=$($A capsule install "$ASTRID_HOME/keys" 2>&1); rc=$?
expect_eq "a source under \$ASTRID_HOME (keys/) is refused" "$rc" "1"
ok_if "  saying why" grep -q "is under \$ASTRID_HOME" <<<"$out"
ln -s "$ASTRID_HOME/secrets/default/planted" "$TEST_TMP/innocent"
out=$($A capsule install "$TEST_TMP/innocent" 2>&1); rc=$?
expect_eq "a symlink into \$ASTRID_HOME is refused too" "$rc$(grep -c 'is under \$ASTRID_HOME' <<<"$out")" "11"
mkdir -p "$TEST_TMP/linked" && ln -s "$ASTRID_HOME/secrets/default/planted/KEY" "$TEST_TMP/linked/Capsule.toml"
out=$($A capsule install "$TEST_TMP/linked" 2>&1); rc=$?
expect_eq "a directory whose Capsule.toml links into \$ASTRID_HOME is refused" "$rc" "1"
ok_if "  naming the rule" grep -q "resolves under" <<<"$out"
ok_if "  without echoing the file" bash -c "! grep -q TOPSECRET <<<'$out'"
mkfifo "$TEST_TMP/fifo"
out=$(timeout 20 $A capsule install "$TEST_TMP/fifo" 2>&1); rc=$?
expect_eq "a FIFO source is refused (neither a directory nor a file)" "$rc$(grep -c 'neither a directory' <<<"$out")" "11"
r=$($A bus request astrid.v1.request.install_capsule "{\"method\":\"InstallCapsule\",\"params\":{\"source\":\"$O/echo.capsule\",\"workspace\":true,\"workspace_dir\":\"$ASTRID_HOME/home/bob\"}}" --reply 'astrid.v1.response.install_capsule' --timeout 20 2>&1)
expect_eq "a workspace_dir under \$ASTRID_HOME is refused" "$(j 'd["error"]["kind"]' <<<"$r")" "permission_denied"
ok_if "  nothing written there" test ! -e "$ASTRID_HOME/home/bob/.astrid"

# --- concurrent installs of one name
$A capsule install "$O/hooked.capsule" >"$TEST_TMP/c1.out" 2>&1 &
p1=$!
$A capsule install "$O/hooked.capsule" >"$TEST_TMP/c2.out" 2>&1 &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
expect_eq "two concurrent installs of hooked both succeed" "$r1$r2" "00"
expect_eq "  one says Installed, the other Upgraded" \
  "$(cat "$TEST_TMP/c1.out" "$TEST_TMP/c2.out" | grep -oE '^(Installed|Upgraded) hooked' | sort | tr '\n' ,)" "Installed hooked,Upgraded hooked,"
expect_eq "  meta.json is one complete install" "$(j '(d["version"], len(d["wasm_hash"]))' <"$DH/hooked/meta.json")" "('0.1.0', 64)"
ok_if "  no staging directory left" bash -c "! ls -A '$DH' | grep -q staging"
expect_eq "  it is loaded once" "$($A ps --format json | j 'len([c for c in d if c["name"]=="hooked"])')" "1"

# --- a requester that goes away cancels its install
K=$TEST_TMP/cancelme && mkdir -p "$K" && tar xzf "$O/kv-counter.capsule" -C "$K"
sed -i 's/^name = "kv-counter"/name = "cancelme"/' "$K/Capsule.toml"
python3 - "$K/kv_counter.wasm" <<'PY'
import sys, os
p = sys.argv[1]; name = b"pad"; data = os.urandom(16)
body = bytes([len(name)]) + name + data
open(p, "ab").write(b"\x00" + bytes([len(body)]) + body)
PY
$A capsule install "$K" >"$TEST_TMP/cancel.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "compiling (cc)" "$TEST_TMP/cancel.out" && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
for _ in $(seq 300); do grep -q "install cancelled" "$ASTRID_HOME"/log/* 2>/dev/null && break; sleep 0.1; done
ok_if "killed mid-compile: the daemon gave the install up" grep -q "install cancelled" "$ASTRID_HOME"/log/*
ok_if "  and wrote nothing" test ! -e "$DH/cancelme"

# --- remove --purge, config, gc
EJ=$ASTRID_HOME/home/default/.config/env/echo.env.json
mkdir -p "$(dirname "$EJ")" && echo '{}' >"$EJ"
out=$($A capsule remove echo --purge 2>&1); rc=$?
expect_eq "capsule remove echo --purge" "$rc" "0"
ok_if "  says so" grep -q "^Removed capsule echo and its env config" <<<"$out"
ok_if "  gone from disk" test ! -e "$DH/echo"
ok_if "  env config gone" test ! -e "$EJ"
expect_eq "  unloaded" "$($A ps --format json | j 'len([c for c in d if c["name"]=="echo"])')" "0"
W=$(mktemp_dir)
(cd "$W" && $A capsule install --workspace "$O/echo.capsule" >/dev/null 2>&1)
as bob
out=$(cd "$W" && $A capsule remove --workspace echo 2>&1); rc=$?
as default
expect_eq "bob may not remove a workspace capsule (default's, serves everyone)" "$rc" "1"
ok_if "  naming capsule:shared" grep -q "needs capability capsule:shared that bob does not hold" <<<"$out"
ok_if "  still there" test -f "$W/.astrid/capsules/echo/meta.json"
S=$TEST_TMP/cfg && mkdir -p "$S" && tar xzf "$O/echo.capsule" -C "$S"
sed -i 's/^name = "echo"/name = "cfg"/' "$S/Capsule.toml"
printf '\n[env]\nAPI_KEY = { type = "secret" }\n' >>"$S/Capsule.toml"
ok_if "install cfg (a secret-typed key)" bash -c "$A capsule install '$S' >/dev/null 2>&1"
ok_if "config --set API_KEY" bash -c "$A capsule config cfg --set API_KEY=sk-0ff1ce-5ecret >/dev/null 2>&1"
expect_eq "  in the secret store" "$(cat "$ASTRID_HOME/secrets/default/cfg/API_KEY")" "sk-0ff1ce-5ecret"
ok_if "  the audit log has the request" grep -q '"SetCapsuleConfig"' "$ASTRID_HOME/home/default/.local/audit/audit.jsonl"
ok_if "  but never the value" bash -c "! grep -rq '0ff1ce' '$ASTRID_HOME'/home/*/.local/audit/"
as bob
out=$($A capsule config cfg -a default --set API_KEY=bobs 2>&1); rc=$?
expect_eq "bob may not set default's capsule config" "$rc" "1"
ok_if "  naming capsule:config" grep -q "capsule:config" <<<"$out"
expect_eq "  default's secret untouched" "$(cat "$ASTRID_HOME/secrets/default/cfg/API_KEY")" "sk-0ff1ce-5ecret"
STRAY=$ASTRID_HOME/bin/$(printf '0%.0s' $(seq 64)).wasm
echo stray >"$STRAY"
nblobs=$(ls "$ASTRID_HOME/bin" | wc -l)
out=$($A gc --force 2>&1); rc=$?
expect_eq "gc by bob (group agent) is refused" "$rc" "1"
ok_if "  naming capsule:gc" grep -q "capsule:gc" <<<"$out"
expect_eq "  no blob removed" "$(ls "$ASTRID_HOME/bin" | wc -l)" "$nblobs"
ok_if "  not even an unreferenced one" test -f "$STRAY"
as default
out=$($A gc 2>&1); rc=$?
expect_eq "gc by default (admin) runs" "$rc" "0"
ok_if "  a dry run summary" grep -q "dry run: pass --force to delete" <<<"$out"
ok_if "  listing the unreferenced blob" grep -q "^would remove $STRAY\$" <<<"$out"
ok_if "gc --force removes it" bash -c "$A gc --force | grep -q '^removed $STRAY\$' && test ! -e '$STRAY'"
echo "1..$_tap_n"
