#!/usr/bin/env bash
# Capsules end to end, as an operator would: build C capsules with
# astrid-build, install them, call them as two agents with `astrid bus
# request`, and check isolation and refusals: per-agent KV, the publish ACL,
# a forged principal, a disabled agent, the integrity check, hostile archives.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
req() { $A bus request "$1" "$2" --timeout 20 2>&1; }

for c in echo kv-counter http-fetch; do build_capsule "$ASTRID_SRC/capsules/examples/$c"; done
build_capsule "$ASTRID_SRC/tests/capsules/probe"
ok_if "start" $A start
ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus tools" $A caps grant bob system:bus
out=$($A capsule install "$O/kv-counter.capsule" 2>&1); rc=$?
expect_eq "capsule install kv-counter" "$rc" "0"
ok_if "  shows compile progress" grep -q "compiling (cc)" <<<"$out"
ok_if "  the running daemon reloaded" grep -q "daemon reloaded" <<<"$out"
ok_if "capsule install probe" $A capsule install "$O/probe.capsule"
# install from a directory holding just Capsule.toml and the wasm
mkdir -p "$TEST_TMP/echo-dir" && tar xzf "$O/echo.capsule" -C "$TEST_TMP/echo-dir" Capsule.toml echo.wasm
ok_if "capsule install from a directory" $A capsule install "$TEST_TMP/echo-dir"
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wasm_hash"])' "$ASTRID_HOME/home/default/.local/capsules/kv-counter/meta.json")
ok_if "the wasm is content-addressed in bin/" test -f "$ASTRID_HOME/bin/$hash.wasm"
ok_if "  and its name is its BLAKE3" bash -c "[[ \$('$AB' hash --no-names '$ASTRID_HOME/bin/$hash.wasm') == '$hash' ]]"
ok_if "meta.json is 0600" bash -c "[[ \$(stat -c %a '$ASTRID_HOME/home/default/.local/capsules/kv-counter/meta.json') == 600 ]]"
expect_eq "capsule list" "$($A capsule list --format json | j 'sorted(c["name"] for c in d)')" "['echo', 'kv-counter', 'probe']"
expect_eq "status counts the loaded capsules" "$($A status --format json | j 'd["loaded_capsules"]')" "3"
# the same capsule, two agents, two counts
expect_eq "default counts 1" "$(req demo.v1.count '{}' | j 'd["count"]')" "1"
expect_eq "default counts 2" "$(req demo.v1.count '{}' | j 'd["count"]')" "2"
ok_if "agent switch bob" $A agent switch bob
r=$(req demo.v1.count '{}')
expect_eq "bob's count starts at 1 (KV isolation)" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  and the capsule saw bob as its caller" "$(j 'd["principal"]' <<<"$r")" "bob"
ok_if "agent switch default" $A agent switch default
expect_eq "default's count went on from 2" "$(req demo.v1.count '{}' | j 'd["count"]')" "3"
r=$($A ps --format json)
expect_eq "ps: kv-counter invoked 3 times for default" "$(j '[p["invocations"] for c in d if c["name"]=="kv-counter" for p in c["principals"] if p["principal"]=="default"][0]' <<<"$r")" "3"
expect_eq "ps: and once for bob" "$(j '[p["invocations"] for c in d if c["name"]=="kv-counter" for p in c["principals"] if p["principal"]=="bob"][0]' <<<"$r")" "1"
expect_eq "echo answers with the payload" "$(req demo.v1.echo '{"hello":"world"}' | j 'd["hello"]')" "world"
# refusals
r=$(req demo.v1.probe '{"try":"acl"}')
expect_eq "publishing outside the ipc_publish ACL is refused" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  naming the ACL" grep -q "ipc_publish ACL" <<<"$r"
r=$(req demo.v1.probe '{"try":"forge"}')
expect_eq "a non-uplink capsule cannot publish as another principal" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  (is not an uplink)" grep -q "not an uplink" <<<"$r"
# files: home:// is the invoking agent's, traversal and ungated writes refused
r=$(req demo.v1.probe '{"try":"fswrite"}')
expect_eq "write-file under home:// (fs_write home://probe)" "$(j 'd["ok"]' <<<"$r")" "True"
ok_if "  landed in default's home" bash -c "[[ \$(cat '$ASTRID_HOME/home/default/probe/note.txt') == default ]]"
r=$(req demo.v1.probe '{"try":"fsread"}')
expect_eq "read-file reads it back" "$(j 'd["error"]' <<<"$r")" "default"
ok_if "agent switch bob" $A agent switch bob
r=$(req demo.v1.probe '{"try":"fsread"}')
expect_eq "bob does not see default's file (home:// isolation)" "$(j 'd["ok"]' <<<"$r")" "False"
r=$(req demo.v1.probe '{"try":"fswrite"}')
ok_if "bob's write lands in bob's home" bash -c "[[ \$(cat '$ASTRID_HOME/home/bob/probe/note.txt') == bob ]]"
ok_if "agent switch default" $A agent switch default
r=$(req demo.v1.probe '{"try":"traverse"}')
expect_eq "traversal out of home:// is refused" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  naming the escape" grep -qi "escape\|\.\." <<<"$r"
r=$(req demo.v1.probe '{"try":"fsgate"}')
expect_eq "a write outside fs_write is refused" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  naming fs_write" grep -q "fs_write" <<<"$r"
ok_if "  and wrote nothing" test ! -e "$ASTRID_HOME/home/default/secret.txt"
r=$(req demo.v1.probe '{"try":"kv"}')
expect_eq "an empty KV key is refused" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "agent disable bob" $A agent disable bob
ok_if "agent switch bob (disabled)" $A agent switch bob
req demo.v1.count '{}' >/dev/null; expect_eq "a disabled agent cannot invoke the capsule" "$?" "1"
ok_if "agent switch default" $A agent switch default
expect_eq "  bob's invocations unchanged" "$($A ps --format json | j '[p["invocations"] for c in d if c["name"]=="kv-counter" for p in c["principals"] if p["principal"]=="bob"][0]')" "1"
ok_if "agent enable bob" $A agent enable bob
# logs: per agent, per capsule
ok_if "the echo capsule logged under default's home" bash -c "grep -q 'echoed' '$ASTRID_HOME'/home/default/.local/log/echo/*.log"
# trigger-hook: the other capsules' interceptors answer, as the caller
r=$(req demo.v1.probe '{"try":"hook"}')
expect_eq "trigger-hook collects the echo capsule's answer" "$(j 'd["error"]' <<<"$r")" "[{'hooked':'yes'}]"
r=$(req demo.v1.probe '{"try":"hook","hook_topic":"demo.v1.count"}')
ok_if "  a hooked capsule runs as the triggering agent (default)" grep -q "'principal':'default'" <<<"$r"
ok_if "agent switch bob" $A agent switch bob
r=$(req demo.v1.probe '{"try":"hook","hook_topic":"demo.v1.count"}')
ok_if "  and as bob when bob triggers it (never the capsule's owner)" grep -q "'principal':'bob'" <<<"$r"
ok_if "agent switch default" $A agent switch default
r=$(req demo.v1.probe '{"try":"hook","hook_topic":"bad.*"}')
expect_eq "trigger-hook on a wildcard topic is refused" "$(j 'd["ok"]' <<<"$r")" "False"
r=$(req demo.v1.probe '{"try":"netbind"}')
expect_eq "a capsule without net_bind cannot listen" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  naming net_bind" grep -q "no net_bind entry" <<<"$r"
r=$(req demo.v1.probe '{"try":"spawn"}')
expect_eq "process kill of an id the caller never started answers an error" "$(j 'd["ok"]' <<<"$r")" "False"
ok_if "  saying there is no such process of the caller" grep -q "no background process 1 of default" <<<"$r"
# integrity: a corrupted wasm is refused at load
cp "$ASTRID_HOME/bin/$hash.wasm" "$TEST_TMP/good.wasm"
printf 'X' | dd of="$ASTRID_HOME/bin/$hash.wasm" bs=1 seek=100 conv=notrunc 2>/dev/null
r=$($A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 30 2>&1)
ok_if "a corrupted wasm is refused on reload" grep -q "WASM integrity check failed" <<<"$r"
expect_eq "  and the others still load" "$($A status --format json | j 'd["loaded_capsules"]')" "2"
cp "$TEST_TMP/good.wasm" "$ASTRID_HOME/bin/$hash.wasm"
# hostile archives
mkdir -p "$TEST_TMP/evil" && cd "$TEST_TMP/evil" || exit 1
cp "$TEST_TMP/echo-dir/Capsule.toml" "$TEST_TMP/echo-dir/echo.wasm" .
ln -s /etc/passwd link
tar czf "$TEST_TMP/symlink.capsule" Capsule.toml echo.wasm link
python3 - "$TEST_TMP/abs.capsule" "$TEST_TMP/dotdot.capsule" <<'PY'
import tarfile, io, sys
for path, name in ((sys.argv[1], "/tmp/astrid-evil"), (sys.argv[2], "wit/../../astrid-evil")):
    with tarfile.open(path, "w:gz") as t:
        for f in ("Capsule.toml", "echo.wasm"):
            t.add(f)
        i = tarfile.TarInfo(name); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
PY
cd - >/dev/null || exit 1
for a in symlink dotdot abs; do
  out=$($A capsule install "$TEST_TMP/$a.capsule" 2>&1); rc=$?
  expect_eq "hostile archive ($a) refused" "$rc" "1"
done
ok_if "nothing of them was written outside" test ! -e /tmp/astrid-evil -a ! -e "$ASTRID_HOME/astrid-evil" -a ! -e "$ASTRID_HOME/run/astrid-evil"
# remove keeps env unless --purge
mkdir -p "$ASTRID_HOME/home/default/.config/env" && echo '{}' >"$ASTRID_HOME/home/default/.config/env/echo.env.json"
ok_if "capsule remove echo" $A capsule remove echo
ok_if "  env config kept" test -f "$ASTRID_HOME/home/default/.config/env/echo.env.json"
ok_if "capsule install echo again" $A capsule install "$O/echo.capsule"
ok_if "capsule remove echo --purge" $A capsule remove echo --purge
ok_if "  env config gone" test ! -e "$ASTRID_HOME/home/default/.config/env/echo.env.json"
$A capsule remove echo >/dev/null 2>&1; expect_eq "removing a missing capsule exits 1" "$?" "1"
expect_eq "the daemon dropped it" "$($A status --format json | j 'd["loaded_capsules"]')" "2"
# gc: echo's wasm is now unreferenced; kv-counter's is not
ehash=$($AB hash --no-names "$TEST_TMP/echo-dir/echo.wasm")
out=$($A gc); ok_if "gc (dry run) lists echo's wasm" grep -q "would remove .*$ehash.wasm" <<<"$out"
ok_if "  and deletes nothing" test -f "$ASTRID_HOME/bin/$ehash.wasm"
ok_if "  and not kv-counter's" bash -c "! grep -q '$hash' <<<'$out'"
ok_if "gc --force" $A gc --force
ok_if "  removed echo's wasm" test ! -e "$ASTRID_HOME/bin/$ehash.wasm"
ok_if "  kept kv-counter's" test -f "$ASTRID_HOME/bin/$hash.wasm"
expect_eq "kv-counter still answers after gc and a reload (3 + 1 hooked + 1)" "$(req demo.v1.count '{}' | j 'd["count"]')" "5"
# a slow invocation of bob's holds only bob's lane: default is served meanwhile
ok_if "agent switch bob" $A agent switch bob
ok_if "bob starts a 6 s invocation" $A bus publish demo.v1.probe '{"try":"spin","ms":6000}'
ok_if "agent switch default" $A agent switch default
r=$($A bus request demo.v1.count '{}' --timeout 4 2>&1)
ok_if "  default's invocation is answered meanwhile" grep -q '"principal":"default"\|"principal": "default"' <<<"$r"
ok_if "  while bob's is still running" bash -c "! grep -qs 'spin done' '$ASTRID_HOME'/home/bob/.local/log/probe/*.log"
for _ in $(seq 100); do grep -qs 'spin done' "$ASTRID_HOME"/home/bob/.local/log/probe/*.log && break; sleep 0.1; done
ok_if "  and bob's finishes on its own" grep -qs 'spin done' "$ASTRID_HOME"/home/bob/.local/log/probe/*.log
# a reload does not wait out a running guest: it interrupts it
rm -f "$ASTRID_HOME"/home/bob/.local/log/probe/*.log
ok_if "agent switch bob" $A agent switch bob
ok_if "bob starts a 60 s invocation" $A bus publish demo.v1.probe '{"try":"spin","ms":60000}'
ok_if "agent switch default" $A agent switch default
sleep 0.5
r=$($A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 8 2>&1)
ok_if "ReloadCapsules answers while it runs" grep -q '"reloaded"' <<<"$r"
ok_if "  the running invocation was interrupted, not finished" bash -c "! grep -qs 'spin done' '$ASTRID_HOME'/home/bob/.local/log/probe/*.log"
ok_if "  and the daemon said so" bash -c "grep -q 'probe (probe for bob).*deadline' '$ASTRID_HOME'/log/*"
# quotas are per agent: bob's tight quotas never touch default's invocations
ok_if "quota set -a bob --memory 64KiB" $A quota set -a bob --memory 64KiB
ok_if "agent switch bob" $A agent switch bob
$A bus request demo.v1.count '{}' --timeout 3 >/dev/null 2>&1; expect_eq "bob's invocation fails inside his 64 KiB" "$?" "1"
ok_if "agent switch default" $A agent switch default
ok_if "  the daemon logged why" bash -c "grep -q 'kv-counter (count for bob).*memory' '$ASTRID_HOME'/log/*"
expect_eq "  while default's goes on (7)" "$(req demo.v1.count '{}' | j 'd["count"]')" "7"
ok_if "quota set -a bob --memory 64MiB --ipc-rate 16B/s" $A quota set -a bob --memory 64MiB --ipc-rate 16B/s
ok_if "agent switch bob" $A agent switch bob
$A bus request demo.v1.count '{}' --timeout 3 >/dev/null 2>&1; expect_eq "bob's capsule cannot publish its reply past 16 B/s" "$?" "1"
ok_if "agent switch default" $A agent switch default
ok_if "  Rate limit exceeded, in bob's capsule log" bash -c "grep -q 'kv-counter: Rate limit exceeded' '$ASTRID_HOME'/home/bob/.local/log/kv-counter/*.log"
expect_eq "  while default's replies flow (8)" "$(req demo.v1.count '{}' | j 'd["count"]')" "8"
echo "1..$_tap_n"
