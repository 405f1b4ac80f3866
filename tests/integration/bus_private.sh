#!/usr/bin/env bash
# Private delivery (docs/wire.md): replies and private events reach their
# requester only. A system:bus holder subscribed to every wide pattern sees
# none of another connection's management, admin or connection replies; a
# client cannot publish on a private topic nor redirect a reply by claiming
# an addressee; capsules (run-loop subscriptions, interceptors) never receive
# replies and cannot forge them. And a capsule that traps on a request
# answers the requester at once with an error naming the trap.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/private_probe.py"

build_capsule "$ASTRID_SRC/tests/capsules/snoop"
build_capsule "$ASTRID_SRC/tests/capsules/trapper"
ok_if "start" $A start
ok_if "agent create bob (an admin: his AgentList lists every profile)" \
  bash -c "$A agent create bob --group admin >/dev/null"
ok_if "capsule install snoop" bash -c "$A capsule install '$O/snoop.capsule' >/dev/null"
ok_if "capsule install trapper" bash -c "$A capsule install '$O/trapper.capsule' >/dev/null"
for _ in $(seq 100); do
  $A ps --format json 2>/dev/null | grep -q '"ready": true' && break; sleep 0.1
done

# wire level: default watches everything it may, bob asks
r=$($PROBE "$ASTRID_HOME" default bob 2>&1)
echo "# $r"
expect_eq "the watcher's wide subscriptions were all accepted" \
  "$(j 'len(d["watcher_subscribed"])' <<<"$r")" "12"
expect_eq "the watcher received none of bob's replies (management, admin, connection)" \
  "$(j 'd["watcher_private"]' <<<"$r")" "[]"
expect_eq "bob got a reply to each of his 6 requests" "$(j 'len(d["requester_replies"])' <<<"$r")" "6"
expect_eq "  each matched to its own request_id, 5 in flight at once" "$(j 'd["correlated"]' <<<"$r")" "True"
ok_if "a client cannot publish a forged management reply" \
  grep -q 'private kernel topic' <<<"$(j 'd["forged_refusals"]["astrid.v1.response.status"]' <<<"$r")"
expect_eq "  nor an admin reply, a connection reply, an approval or an elicit request" \
  "$(j 'sorted(k for k, v in d["forged_refusals"].items() if v and "private kernel topic" in v)' <<<"$r")" \
  "['astrid.v1.admin.response.agent.list', 'astrid.v1.approval', 'astrid.v1.connection.response.subscribe', 'astrid.v1.elicit', 'astrid.v1.response.status']"
expect_eq "an approval answer is still open ingress for a client" "$(j 'd["answer_refused"]' <<<"$r")" "None"
expect_eq "a claimed addressee does not narrow a broadcast" "$(j 'd["watcher_saw_forge"]' <<<"$r")" "True"
expect_eq "  and is not forwarded" \
  "$(j 'd["forge_frame_keys"]' <<<"$r")" "['payload', 'principal', 'seq', 'signature', 'source_id', 'timestamp', 'topic']"
expect_eq "  the broadcast carries the publisher's own principal" "$(j 'd["forge_frame_principal"]' <<<"$r")" "bob"

# operator level: astrid bus watch as default while bob lists the agents
$A bus watch 'astrid.v1.*' >"$TEST_TMP/watch.out" 2>&1 &
wpid=$!
$A bus watch 'astrid.v1.admin.response.*' >"$TEST_TMP/watch2.out" 2>&1 &
wpid2=$!
for _ in $(seq 100); do
  [[ $($A status --format json 2>/dev/null | j 'd["connected_clients"]') -ge 3 ]] && break; sleep 0.05
done
ok_if "agent switch bob" $A agent switch bob
out=$($A agent list --format json 2>&1)
ok_if "bob's agent list works" grep -q '"bob"' <<<"$out"
ok_if "bob's status works" bash -c "$A status >/dev/null"
r=$($A bus request astrid.v1.request.status '{"method":"GetStatus"}' --reply 'astrid.v1.response.*' --timeout 10 2>&1)
ok_if "bus request gets its own reply on a private topic" grep -q '"connected_clients"' <<<"$r"
ok_if "agent switch default" $A agent switch default
sleep 0.5
kill "$wpid" "$wpid2" 2>/dev/null; wait "$wpid" "$wpid2" 2>/dev/null
ok_if "bus watch 'astrid.v1.*' saw none of bob's replies" bash -c "! grep -q 'response' '$TEST_TMP/watch.out'"
ok_if "bus watch 'astrid.v1.admin.response.*' saw no AgentList" bash -c "! grep -q 'agent' '$TEST_TMP/watch2.out'"
out=$($A bus publish astrid.v1.admin.response.agent.list '{"status":"success","data":[]}' 2>&1); rc=$?
expect_eq "bus publish on a private topic exits 1" "$rc" "1"
ok_if "  saying why" grep -q "private kernel topic" <<<"$out"

# capsules: a run loop subscribed to every reply pattern caught nothing;
# an interceptor hooked on reply topics never ran
r=$($A bus request demo.v1.snoop '{"op":"report"}' --timeout 20 2>&1)
expect_eq "snoop holds its 6 subscriptions" "$(j 'd["handles"]' <<<"$r")" "6"
expect_eq "  and caught none of the replies sent meanwhile" "$(j 'd["seen"]' <<<"$r")" "0"
ok_if "trapper's reply hooks never ran" bash -c "! grep -qs 'snooped' '$ASTRID_HOME'/home/*/.local/log/trapper/*.log"
expect_eq "  not even once (ps)" \
  "$($A ps --format json | j '[p["invocations"] for c in d if c["name"]=="trapper" for p in c["principals"]]')" "[]"
r=$($A bus request demo.v1.snoop '{"op":"forge"}' --timeout 20 2>&1)
expect_eq "a capsule cannot publish a reply, ACL or not" "$(j 'd["reply_ok"]' <<<"$r")" "False"
ok_if "  saying why" grep -q "private kernel topic" <<<"$(j 'd["reply_error"]' <<<"$r")"
expect_eq "nor answer an approval" "$(j 'd["answer_ok"]' <<<"$r")" "False"
expect_eq "nor trigger the hooks on a reply topic" "$(j 'd["hook_ok"]' <<<"$r")" "False"
ok_if "  saying why" grep -q "private kernel topic" <<<"$(j 'd["hook_error"]' <<<"$r")"
ok_if "  so trapper's reply hooks still never ran" bash -c "! grep -qs 'snooped' '$ASTRID_HOME'/home/*/.local/log/trapper/*.log"

# a trapping capsule: the requester is told at once, with the trap named
expect_eq "trapper answers when it does not trap" "$($A bus request demo.v1.trap '{"how":"ok"}' --timeout 20 2>&1)" '{"ok":true}'
for how in unreachable:"unreachable executed" oob:"out of bounds"; do
  out=$(timeout 10 $A bus request demo.v1.trap "{\"how\":\"${how%%:*}\"}" --timeout 30 2>&1); rc=$?
  expect_eq "a trap (${how%%:*}) ends bus request at once with exit 1" "$rc" "1"
  ok_if "  naming the capsule and the trap (${how#*:})" grep -q "capsule trapper: wasm trap.*${how#*:}" <<<"$out"
done
ok_if "quota set -a default --timeout 1s" $A quota set -a default --timeout 1s
out=$(timeout 10 $A bus request demo.v1.trap '{"how":"spin"}' --timeout 30 2>&1); rc=$?
expect_eq "a deadline ends bus request before its own timeout, exit 1" "$rc" "1"
ok_if "  naming the deadline" grep -q "capsule trapper: .*deadline exceeded" <<<"$out"
ok_if "quota set -a default --timeout 300s" $A quota set -a default --timeout 300s
# the failure is private to its requester too
$A bus watch 'astrid.v1.*' >"$TEST_TMP/watch3.out" 2>&1 &
wpid=$!
sleep 0.5
ok_if "agent switch bob" $A agent switch bob
timeout 10 $A bus request demo.v1.trap '{"how":"unreachable"}' --timeout 30 >/dev/null 2>&1
expect_eq "bob's request fails at once too" "$?" "1"
ok_if "agent switch default" $A agent switch default
sleep 0.3
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
ok_if "  and default's watch did not see bob's failure" bash -c "! grep -q 'trap' '$TEST_TMP/watch3.out'"
echo "1..$_tap_n"
