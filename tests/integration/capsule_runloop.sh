#!/usr/bin/env bash
# Run-loop capsules end to end: a capsule with a real `run` export (looper)
# gets its own thread and drains its [subscribe] handler as a runtime-owned
# subscription; every batch runs as its publisher (KV counts per agent even
# when two agents' messages queue up together: mixed batches are cut); the
# subscribe ACL and runtime-owned handles hold; a `run` that merely aliases
# astrid-install (stubrun) leaves a plain interceptor capsule; unloading
# stops the loop.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
req() { $A bus request demo.v1.loop "$1" --timeout 30 2>&1; }

build_capsule "$ASTRID_SRC/tests/capsules/looper"
build_capsule "$ASTRID_SRC/tests/capsules/stubrun"
# stubrun: export `run` as the very function astrid-install is
S=$TEST_TMP/stubrun && mkdir -p "$S" && tar xzf "$O/stubrun.capsule" -C "$S"
wasm2wat --no-debug-names "$S/stubrun.wasm" -o "$S/s.wat"
idx=$(sed -n 's/.*(export "astrid-install" (func \([0-9]*\))).*/\1/p' "$S/s.wat")
sed -i "s/(export \"astrid-install\" (func $idx))/& (export \"run\" (func $idx))/" "$S/s.wat"
wat2wasm "$S/s.wat" -o "$S/stubrun.wasm" && rm -f "$S/s.wat"
ok_if "  its run export aliases astrid-install" bash -c "wasm-objdump -x '$S/stubrun.wasm' | grep -q '\"run\"'"

ok_if "start" $A start
ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus tools" $A caps grant bob system:bus
ok_if "capsule install looper" $A capsule install "$O/looper.capsule"
ok_if "capsule install stubrun (from a directory)" $A capsule install "$S"
r=$($A ps --format json)
expect_eq "ps: looper runs a run loop" "$(j '[c["run_loop"] for c in d if c["name"]=="looper"][0]' <<<"$r")" "running"
for _ in $(seq 50); do [[ $($A ps --format json | j '[c["ready"] for c in d if c["name"]=="looper"][0]') == True ]] && break; sleep 0.1; done
expect_eq "ps: looper signalled ready" "$($A ps --format json | j '[c["ready"] for c in d if c["name"]=="looper"][0]')" "True"
expect_eq "ps: stubrun is a plain interceptor capsule" "$(j '[c["run_loop"] for c in d if c["name"]=="stubrun"][0]' <<<"$r")" "none"
expect_eq "stubrun answers as an interceptor" "$($A bus request demo.v1.stub '{}' --timeout 20 | j 'd["stub"]')" "answered"
ok_if "looper logged its handle" bash -c "grep -q 'run loop on demo.v1.loop (loop)' '$ASTRID_HOME'/home/default/.local/log/looper/*.log"

r=$(req '{"op":"tick"}')
expect_eq "a tick from default counts 1" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  and ran as default" "$(j 'd["principal"]' <<<"$r")" "default"
expect_eq "a second tick counts 2" "$(req '{"op":"tick"}' | j 'd["count"]')" "2"
ok_if "agent switch bob" $A agent switch bob
r=$(req '{"op":"tick"}')
expect_eq "bob's first tick counts 1 (his own KV namespace)" "$(j 'd["count"]' <<<"$r")" "1"
expect_eq "  and ran as bob" "$(j 'd["principal"]' <<<"$r")" "bob"
ok_if "bob's tick was logged in bob's home" bash -c "grep -q 'tick 1' '$ASTRID_HOME'/home/bob/.local/log/looper/*.log"
ok_if "agent switch default" $A agent switch default

# mixed batches: stall the loop, queue default x3, bob x3, default x2
$A bus publish demo.v1.loop '{"op":"stall","ms":4000}' >/dev/null
sleep 0.3
for _ in 1 2 3; do $A bus publish demo.v1.loop '{"op":"tick"}' >/dev/null; done
$A agent switch bob >/dev/null
for _ in 1 2 3; do $A bus publish demo.v1.loop '{"op":"tick"}' >/dev/null; done
$A agent switch default >/dev/null
for _ in 1 2; do $A bus publish demo.v1.loop '{"op":"tick"}' >/dev/null; done
# wait (at most 30 s) until the loop has worked through the queue: 11 ticks logged
ticks() { cat "$ASTRID_HOME"/home/{default,bob}/.local/log/looper/*.log 2>/dev/null | grep -c ' tick '; }
for _ in $(seq 300); do [[ $(ticks) -ge 11 ]] && break; sleep 0.1; done
r=$(req '{"op":"report"}')
expect_eq "after a mixed queue, default counted exactly its own 2+5 ticks" "$(j 'd["count"]' <<<"$r")" "7"
ok_if "agent switch bob" $A agent switch bob
expect_eq "  and bob exactly his own 1+3" "$(req '{"op":"report"}' | j 'd["count"]')" "4"
ok_if "agent switch default" $A agent switch default
ok_if "queued ticks came in batches (more than one message per recv)" bash -c "grep -q 'in a batch of [2-9]' '$ASTRID_HOME'/home/default/.local/log/looper/*.log"
ok_if "  and no batch of bob's held more than his 3" bash -c "! grep -q 'in a batch of [4-9]' '$ASTRID_HOME'/home/bob/.local/log/looper/*.log"

# subscriptions from the guest
r=$(req '{"op":"sub"}')
expect_eq "ipc-subscribe inside the ACL" "$(j 'd["subscribed"]' <<<"$r")" "True"
expect_eq "  ipc-poll on it" "$(j 'd["polled"]' <<<"$r")" "True"
expect_eq "  ipc-unsubscribe" "$(j 'd["unsubscribed"]' <<<"$r")" "True"
expect_eq "ipc-subscribe outside the ACL is refused" "$(j 'd["acl_refused"]' <<<"$r")" "True"
ok_if "  naming the ACL" grep -q "ipc_subscribe ACL" <<<"$r"
expect_eq "a runtime-owned handle cannot be unsubscribed" "$(j 'd["runtime_unsub_refused"]' <<<"$r")" "True"
ok_if "  with upstream's message" grep -q "Cannot unsubscribe a runtime-owned interceptor handle" <<<"$r"

# a disabled agent's messages never run
ok_if "agent disable bob" $A agent disable bob
ok_if "agent switch bob" $A agent switch bob
$A bus publish demo.v1.loop '{"op":"tick"}' >/dev/null 2>&1
ok_if "agent switch default" $A agent switch default
ok_if "agent enable bob" $A agent enable bob
ok_if "agent switch bob" $A agent switch bob
expect_eq "bob's count did not move while he was disabled" "$(req '{"op":"report"}' | j 'd["count"]')" "4"
ok_if "agent switch default" $A agent switch default

# unload: reload and remove stop the thread cleanly
r=$($A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 30 2>&1)
ok_if "ReloadCapsules with a run loop running" grep -q '"loaded"' <<<"$r"
expect_eq "the reloaded loop keeps default's KV" "$(req '{"op":"report"}' | j 'd["count"]')" "7"
ok_if "capsule remove looper" $A capsule remove looper
expect_eq "  one capsule left loaded" "$($A status --format json | j 'd["loaded_capsules"]')" "1"
ok_if "the daemon logged no unexpected run-loop exit" bash -c "! grep -q 'run loop exited unexpectedly' '$ASTRID_HOME'/log/*"
ok_if "the daemon is alive" $A status
echo "1..$_tap_n"
