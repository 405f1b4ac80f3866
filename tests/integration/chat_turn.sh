#!/usr/bin/env bash
# A chat turn through the real daemon and the first-party turn capsules
# (react, session, identity, prompt-builder, router, context-engine) with a
# scripted provider (tests/capsules/fakellm) and a test tool
# (tests/capsules/echotool): text and tool turns, streaming while the
# provider is still running (dispatch lanes per capsule), max-iterations
# stop, cancel mid-stream, LLM error, unknown tool, the watchdog-driven
# timeout, and two ordinary agents chatting at once on the same session id
# without seeing each other (frontend subscriptions, per-agent KV).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"

build_capsule "$ASTRID_SRC/tests/capsules/fakellm"
build_capsule "$ASTRID_SRC/tests/capsules/echotool"
# react configured for the fake provider through its manifest defaults
# (what `capsule config` would set): small limits so the stops are quick.
turn_stack_build -e '/^max_iterations/s/default = "10"/default = "2"/' \
  -e '/^llm_timeout_secs/s/default = "120"/default = "3"/'

ok_if "start" $A start
turn_stack_install
ok_if "install fakellm" bash -c "$A capsule install '$O/fakellm.capsule' >/dev/null 2>&1"
ok_if "install echotool" bash -c "$A capsule install '$O/echotool.capsule' >/dev/null 2>&1"
ok_if "agent alice" bash -c "$A agent create alice >/dev/null 2>&1"
ok_if "agent bob" bash -c "$A agent create bob >/dev/null 2>&1"

# sub PRINCIPAL PATTERN: the subscribe reply's status
sub() {
  PRINCIPAL=$1 python3 - "$ASTRID_HOME" "$2" <<'EOF'
import sys, os
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
s = w.connect(sys.argv[1]); w.handshake(s, sys.argv[1], os.environ["PRINCIPAL"])
w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": sys.argv[2]}})
while True:
    m = w.recv(s)
    if m["topic"] == "astrid.v1.connection.response.subscribe":
        print(m["payload"]["status"]); break
EOF
}

# --- frontend subscriptions
expect_eq "an ordinary agent may subscribe to agent.v1.* (frontend pattern)" "$(sub alice 'agent.v1.*')" "success"
expect_eq "  and to llm.v1.stream.*" "$(sub alice 'llm.v1.stream.*')" "success"
expect_eq "  but not to agent.* (not a frontend pattern: system:bus)" "$(sub alice 'agent.*')" "error"
expect_eq "  nor to tool.v1.*" "$(sub alice 'tool.v1.*')" "error"

# --- a text turn
r=$($PROBE alice s1 "hi there" --timeout 20)
expect_eq "text turn: deltas as they stream" "$(j '"|".join(d["deltas"])' <<<"$r")" "Hello, |alice|!"
expect_eq "  final answer is the whole text" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"
expect_eq "  usage reported with model and provider" "$(j '[(u["model"],u["provider"],u["input_tokens"],u["output_tokens"]) for u in d["usage"]]' <<<"$r")" "[('fake-1', 'fake', 3, 4)]"
ok_if "  the provider got the identity's system prompt naming the agent and its tools" \
  bash -c "grep -q 'tools=\[echo_tool\] messages=1 system=You are alice' '$ASTRID_HOME'/home/alice/.local/log/fakellm/*.log"

# --- a turn with a tool call
r=$($PROBE alice s2 "check it [tool]" --timeout 20)
expect_eq "tool turn: started then finished" "$(j '[t["phase"] for t in d["tool_calls"]]' <<<"$r")" "['started', 'finished']"
expect_eq "  arguments joined from three deltas" "$(j 'd["tool_calls"][0]["arguments"]' <<<"$r")" "{'text': 'ping'}"
expect_eq "  the tool ran as the asking agent" "$(j 'd["tool_calls"][1]["content"]' <<<"$r")" "echo ping as alice"
expect_eq "  final answer covers both LLM calls" "$(j 'd["final"]["text"]' <<<"$r")" "Let me check. tool said: echo ping as alice"
h=$(history alice s2)
expect_eq "  history: user, assistant text, tool call, tool result, answer" \
  "$(j '[m["role"] for m in d]' <<<"$h")" "['user', 'assistant', 'assistant', 'tool', 'assistant']"
expect_eq "  the tool result is stored under its call id" \
  "$(j 'd[3]["content"]["call_id"] == d[2]["content"][0]["id"]' <<<"$h")" "True"

# --- the same agent's other capsule runs while the provider still streams
r=$($PROBE alice s3 "go [slow]" --cancel-after 5 --timeout 30)
expect_eq "slow stream: react's deltas arrive while the provider is still running" \
  "$(j 'min(i for i,f in enumerate(d["frames"]) if f["topic"]=="agent.v1.response") < max(i for i,f in enumerate(d["frames"]) if f["topic"]=="llm.v1.stream.fake")' <<<"$r")" "True"
expect_eq "  in publish order" "$(j '"".join(d["deltas"])' <<<"$r")" "tick 0 tick 1 tick 2 tick 3 tick 4 "
# --- cancel mid-stream
expect_eq "cancel: the turn ends at once, marked cancelled" "$(j 'd["final"]["cancelled"]' <<<"$r")" "True"
expect_eq "  with the text so far" "$(j 'd["final"]["text"]' <<<"$r")" "tick 0 tick 1 tick 2 tick 3 tick 4 "
expect_eq "  and no delta after it" "$(j 'len(d.get("late_deltas", []))' <<<"$r")" "0"
r=$($PROBE alice s3 "again" --timeout 30)
ok_if "  the provider, after empty ipc-recvs, still ran as alice (her capsule log)" \
  bash -c "grep -q 'slow stream done' '$ASTRID_HOME'/home/alice/.local/log/fakellm/*.log"
ok_if "  never as its owner" bash -c "! grep -qs 'slow stream done' '$ASTRID_HOME'/home/default/.local/log/fakellm/*.log" 
expect_eq "  the session takes a new prompt" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"

# --- stops and errors
r=$($PROBE alice s4 "forever [loop]" --timeout 30)
expect_eq "max_iterations stops the loop" "$(j 'd["final"]["text"]' <<<"$r")" "Stopped: ReAct loop exceeded maximum iterations (2)"
expect_eq "  after two tool rounds" "$(j 'len(d["tool_calls"])' <<<"$r")" "4"
r=$($PROBE alice s5 "fail [error]" --timeout 20)
expect_eq "LLM error ends the turn with its text" "$(j 'd["final"]["text"]' <<<"$r")" "LLM error: fake quota exceeded"
expect_eq "  flagged as an error" "$(j 'd["final"]["error"]' <<<"$r")" "True"
r=$($PROBE alice s6 "call [ghost]" --timeout 20)
expect_eq "a tool nobody offered is answered as an error result" "$(j 'd["tool_calls"][1]["is_error"], d["tool_calls"][1]["content"]' <<<"$r")" \
  "True unknown tool no_such_tool (not offered to the model)"
r=$($PROBE alice s7 "wait [silent]" --timeout 25)
expect_eq "a silent provider times out on the watchdog tick" "$(j 'd["final"]["text"]' <<<"$r")" \
  "LLM error: no answer from llm.v1.request.generate.fake within 3 s"

# --- two agents at once, same session id
$PROBE alice shared "both [tool]" --timeout 30 >"$TEST_TMP/a.json" &
pa=$!
$PROBE bob shared "both [tool]" --timeout 30 >"$TEST_TMP/b.json" &
pb=$!
wait $pa $pb
a=$(cat "$TEST_TMP/a.json"); b=$(cat "$TEST_TMP/b.json")
expect_eq "alice's turn answered for alice" "$(j 'd["final"]["text"]' <<<"$a")" "Let me check. tool said: echo ping as alice"
expect_eq "bob's turn answered for bob" "$(j 'd["final"]["text"]' <<<"$b")" "Let me check. tool said: echo ping as bob"
expect_eq "alice's connection saw only alice's messages" "$(j 'sorted(set(f["principal"] for f in d["frames"]))' <<<"$a")" "['alice']"
expect_eq "bob's connection saw only bob's messages" "$(j 'sorted(set(f["principal"] for f in d["frames"]))' <<<"$b")" "['bob']"
expect_eq "  nor bob's tool events" "$(j 'any("bob" in json.dumps(t) for t in d["tool_calls"])' <<<"$a")" "False"
expect_eq "same session id, separate histories (alice)" "$(history alice shared | j 'd[3]["content"]["content"]')" "echo ping as alice"
expect_eq "same session id, separate histories (bob)" "$(history bob shared | j 'd[3]["content"]["content"]')" "echo ping as bob"
expect_eq "  each of 5 messages" "$(history bob shared | j 'len(d)')" "5"

# --- an admin's frontend subscription is narrowed to its own agent too
$PROBE alice s8 "go [slow]" --cancel-after 3 --timeout 30 >"$TEST_TMP/a2.json" &
pa=$!
r=$($PROBE default s8 "hello" --timeout 20)
wait $pa
expect_eq "default (system:bus) chatting meanwhile saw only its own turn" "$(j 'sorted(set(f["principal"] for f in d["frames"]))' <<<"$r")" "['default']"
expect_eq "  and got its answer" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, default!"

# --- agent create copies default's capsule KV: never its conversations
ok_if "agent carol (created after default chatted in s8)" bash -c "$A agent create carol >/dev/null 2>&1"
expect_eq "carol does not inherit default's history of s8" "$(history carol s8)" "[]"
r=$($PROBE carol s8 "hello" --timeout 20)
expect_eq "  her own turn there" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, carol!"
expect_eq "  starts her own history" "$(history carol s8 | j '[m["content"] for m in d]')" "['hello', 'Hello, carol!']"
expect_eq "  and default's is untouched" "$(history default s8 | j '[m["content"] for m in d]')" "['hello', 'Hello, default!']"
echo "1..$_tap_n"
