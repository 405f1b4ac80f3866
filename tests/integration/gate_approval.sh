#!/usr/bin/env bash
# The security gate end to end (docs/authority.md): tests/capsules/approver
# calls request-approval / elicit / has-secret for whoever publishes to it;
# tests/tools/approval_responder.py plays each agent's human. Alice's
# answers, allowances and tokens never reach Bob; Bob cannot answer
# Alice's prompt; no listener and the timeout deny; a session allowance
# lasts as long as Alice's connections; an always-token survives a restart.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
# long enough for python clients and the sanitizer-built CLI to start on a
# loaded machine while a prompt waits; one
# check below waits it out
export ASTRID_APPROVAL_TIMEOUT_MS=25000
R="python3 $ASTRID_SRC/tests/tools/approval_responder.py"
RESP_PIDS=""
CLEANUP_EXTRA='for p in $RESP_PIDS; do kill $p 2>/dev/null; done'
# ask AGENT ACTION RESOURCE: the capsule's answer as AGENT
ask() {
  $R "$ASTRID_HOME" "$1" request demo.v1.approver "{\"op\":\"ask\",\"action\":\"$2\",\"resource\":\"$3\"}" 2>&1
}
# listen AGENT DECISION LOG: start a human for AGENT; waits until it listens
listen() {
  $R "$ASTRID_HOME" "$1" listen "$2" "${4:-v}" >"$3" 2>&1 &
  RESP_PIDS="$RESP_PIDS $!"
  LAST_PID=$!
  for _ in $(seq 100); do grep -q ready "$3" && return 0; sleep 0.1; done
  return 1
}
stop_listener() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; sleep 0.3; }
prompts() { grep -c '"approval_required"' "$1"; }

build_capsule "$ASTRID_SRC/tests/capsules/approver"
ok_if "start" bash -c "$A start >/dev/null"
ok_if "install approver" bash -c "$A capsule install '$O/approver.capsule' >/dev/null 2>&1"
for a in alice bob; do
  $A agent create $a >/dev/null 2>&1 && $A caps grant $a system:bus >/dev/null 2>&1
done
ok_if "agents alice and bob" test -e "$ASTRID_HOME/etc/profiles/bob.toml"

# nobody listening: denied at once
r=$(ask alice delete_file /tmp/a)
expect_eq "no listener: denied" "$r" '{"approved":false}'

# alice approves: the prompt reaches alice's human in upstream's shape
listen alice approve "$TEST_TMP/alice1.log"; A1=$LAST_PID
listen bob none "$TEST_TMP/bob1.log"; B1=$LAST_PID
r=$(ask alice delete_file /tmp/a)
expect_eq "alice's human approves" "$r" '{"approved":true}'
p=$(grep approval_required "$TEST_TMP/alice1.log" | head -1)
expect_eq "  prompt keys" "$(j 'sorted(d["payload"].keys())' <<<"$p")" "['action', 'reason', 'request_id', 'resource', 'type']"
expect_eq "  prompt topic and principal" "$(j 'd["topic"], d["principal"]' <<<"$p")" "astrid.v1.approval alice"
expect_eq "  action and resource" "$(j 'd["payload"]["action"], d["payload"]["resource"]' <<<"$p")" "delete_file /tmp/a"
expect_eq "bob's human never saw alice's prompt" "$(prompts "$TEST_TMP/bob1.log")" "0"
# a plain approve is one time: the next identical action asks again
r=$(ask alice delete_file /tmp/a)
expect_eq "approve is once: asked again" "$(prompts "$TEST_TMP/alice1.log")" "2"
# bob's own prompt goes to bob's human (who never answers): the timeout
# denies. It waits the whole approval timeout, so it runs in the background
# while the checks below go on, and is collected before the allowances.
ask bob delete_file /tmp/a >"$TEST_TMP/bobask.out" &
BOBASK=$!
for _ in $(seq 200); do grep -q approval_required "$TEST_TMP/bob1.log" && break; sleep 0.05; done
alice1_prompts=$(prompts "$TEST_TMP/alice1.log")
stop_listener $A1

# hard policy: blocked without asking anyone
listen alice approve "$TEST_TMP/alice2.log"; A2=$LAST_PID
expect_eq "sudo is blocked" "$(ask alice execute_command 'sudo rm -rf /')" '{"approved":false}'
expect_eq "/usr/bin/sudo is blocked" "$(ask alice execute_command '/usr/bin/sudo ls')" '{"approved":false}'
expect_eq "rm -rf / is blocked" "$(ask alice execute_command 'rm -rf /home')" '{"approved":false}'
expect_eq "path traversal is blocked" "$(ask alice read_file '/tmp/../etc/passwd')" '{"approved":false}'
expect_eq "a denied path is blocked" "$(ask alice read_file 'file:///etc/shadow')" '{"approved":false}'
expect_eq "  no prompt for any of them" "$(prompts "$TEST_TMP/alice2.log")" "0"
stop_listener $A2

# bob answering alice's prompt is ignored; alice's own answer decides
listen alice none "$TEST_TMP/alice3.log"; A3=$LAST_PID
ask alice delete_file /tmp/b >"$TEST_TMP/ask3.out" &
ASK=$!
for _ in $(seq 200); do grep -q approval_required "$TEST_TMP/alice3.log" && break; sleep 0.05; done
rid=$(grep approval_required "$TEST_TMP/alice3.log" | head -1 | j 'd["payload"]["request_id"]')
$R "$ASTRID_HOME" bob answer "$rid" approve >/dev/null 2>&1
$A agent switch bob >/dev/null 2>&1
out=$($A approvals answer "$rid" approve 2>&1); rc=$?
expect_eq "bob's ApproveCapability on alice's prompt refused" "$rc" "1"
ok_if "  naming another principal" grep -q "belongs to another principal" <<<"$out"
$A agent switch alice >/dev/null 2>&1
ok_if "alice's approvals list shows it still pending" bash -c "$A approvals list --format json | grep -q '$rid'"
ok_if "alice answers deny through the CLI" bash -c "$A approvals answer $rid deny >/dev/null"
$A agent switch default >/dev/null 2>&1
wait $ASK
expect_eq "  the capsule is denied (bob's approve did not count)" "$(cat "$TEST_TMP/ask3.out")" '{"approved":false}'
ok_if "bob's answer is in the daemon log as ignored" grep -q "bob answered alice's request $rid: ignored" "$ASTRID_HOME"/log/*.log
stop_listener $A3

wait $BOBASK
expect_eq "bob's unanswered prompt: timeout denies" "$(cat "$TEST_TMP/bobask.out")" '{"approved":false}'
expect_eq "  it reached bob's human only" "$(prompts "$TEST_TMP/bob1.log"),$alice1_prompts" "1,2"
# bob's silent human leaves: bob's asks below are denied at once unless
# something of alice's reaches him
stop_listener $B1

# approve_session: the next identical action is approved without asking,
# for alice only, until her last connection closes
listen alice approve_session "$TEST_TMP/alice4.log"; A4=$LAST_PID
expect_eq "approve_session" "$(ask alice write_file /tmp/s)" '{"approved":true}'
expect_eq "  the next identical action is approved" "$(ask alice write_file /tmp/s)" '{"approved":true}'
expect_eq "  without a second prompt" "$(prompts "$TEST_TMP/alice4.log")" "1"
expect_eq "  bob does not inherit it" "$(ask bob write_file /tmp/s)" '{"approved":false}'
stop_listener $A4
listen alice deny "$TEST_TMP/alice5.log"; A5=$LAST_PID
expect_eq "after alice disconnected, the allowance is gone (asked, denied)" "$(ask alice write_file /tmp/s)" '{"approved":false}'
expect_eq "  it asked again" "$(prompts "$TEST_TMP/alice5.log")" "1"
stop_listener $A5

# approve_always mints a persistent token: it survives a restart, alice's only
listen alice approve_always "$TEST_TMP/alice6.log"; A6=$LAST_PID
expect_eq "approve_always" "$(ask alice deploy prod)" '{"approved":true}'
expect_eq "approve_always on a resource with a '*' in it" "$(ask alice clean '/tmp/*')" '{"approved":true}'
stop_listener $A6
ok_if "restart (approval timeout 60 s from here on)" bash -c "$A stop >/dev/null 2>&1; sleep 0.3; ASTRID_APPROVAL_TIMEOUT_MS=60000 $A start >/dev/null 2>&1"
expect_eq "after the restart, the token approves with nobody listening" "$(ask alice deploy prod)" '{"approved":true}'
expect_eq "  but not for bob" "$(ask bob deploy prod)" '{"approved":false}'
expect_eq "  nor another action of alice's" "$(ask alice deploy staging)" '{"approved":false}'
expect_eq "  the '*' token grants '/tmp/*' itself" "$(ask alice clean '/tmp/*')" '{"approved":true}'
expect_eq "  not as a wildcard" "$(ask alice clean /tmp/other)" '{"approved":false}'

# a reload while a prompt waits interrupts it (denied) instead of waiting
# the prompt out: with the approval timeout now 60 s, the reload's reply
# comes within astrid_wire's 10 s socket timeout only if it does
listen alice none "$TEST_TMP/alice8.log"; A8=$LAST_PID
ask alice delete_file /tmp/r >"$TEST_TMP/ask8.out" &
ASK=$!
for _ in $(seq 200); do grep -q approval_required "$TEST_TMP/alice8.log" && break; sleep 0.05; done
r=$(python3 "$ASTRID_SRC/tests/tools/astrid_wire.py" "$ASTRID_HOME" request astrid.v1.request.reload_capsules ReloadCapsules)
expect_eq "reload during a prompt succeeds" "$(j 'd["status"]' <<<"$r")" "success"
ok_if "  the waiting prompt was dropped before its timeout" bash -c "! $A approvals list --format json 2>/dev/null | grep -q delete_file"
wait $ASK
expect_eq "  the interrupted capsule call did not approve" "$(grep -c '"approved":true' "$TEST_TMP/ask8.out")" "0"
stop_listener $A8

# elicit and has-secret
listen alice approve "$TEST_TMP/alice7.log" "s3cr3t-value"; A7=$LAST_PID
r=$($R "$ASTRID_HOME" alice request demo.v1.approver '{"op":"elicit","key":"API_KEY"}' 2>&1)
expect_eq "elicit returns the human's value" "$r" '{"value":"s3cr3t-value"}'
r=$($R "$ASTRID_HOME" alice request demo.v1.approver '{"op":"secret","key":"API_KEY"}' 2>&1)
expect_eq "has-secret false when none is set" "$r" '{"has":false}'
stop_listener $A7
ok_if "a SecurityGate decision is in alice's audit log" grep -q SecurityGate "$ASTRID_HOME/home/alice/.local/audit/audit.jsonl"

# budgets: show/set; an agent cannot raise its own
ok_if "budget set for alice" bash -c "$A budget set -a alice --per-action 0.5 --session 2 >/dev/null"
expect_eq "budget show" "$($A budget show -a alice --format json | j 'd["per_action_usd"], d["session_usd"]')" "0.5 2.0"
$A agent switch alice >/dev/null 2>&1
$A budget set --session 100 >/dev/null 2>&1; rc=$?
$A agent switch default >/dev/null 2>&1
expect_eq "alice cannot raise her own budget" "$rc" "1"
$A budget history >/dev/null 2>&1; rc=$?
expect_eq "budget history exits 2" "$rc" "2"
