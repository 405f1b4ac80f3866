#!/usr/bin/env bash
# The turn-cost work of issue 16 point 8 (docs/chat.md "Turn cost"), through
# the real daemon with a fresh react instance for every invocation
# (ASTRID_INSTANCE_POOL=0), so no instance memory helps: react keeps a
# turn's context in its one turn record, writes no request map, and every
# stream event still finds its session among the agent's stored turns;
# text and tool turns answer in full, a cancel still stops a stream.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"
export ASTRID_INSTANCE_POOL=0

turn_stack_build
build_capsule "$ASTRID_SRC/tests/capsules/fakellm"
build_capsule "$ASTRID_SRC/tests/capsules/echotool"

ok_if "start (ASTRID_INSTANCE_POOL=0)" $A start
turn_stack_install
ok_if "install fakellm" bash -c "$A capsule install '$O/fakellm.capsule' >/dev/null 2>&1"
ok_if "install echotool" bash -c "$A capsule install '$O/echotool.capsule' >/dev/null 2>&1"
ok_if "agent alice" bash -c "$A agent create alice >/dev/null 2>&1"

# react_keys PRINCIPAL: react's KV keys of that agent, from the live store
react_keys() {
  mdb_dump -p "$ASTRID_HOME/var/state.db" | sed -n '/^HEADER=END/,/^DATA=END/p' | sed '1d;$d' |
    awk 'NR % 2 == 1' | grep "^ $1:capsule:[^\\]*react\\\\00" | sed 's/.*\\00//' | sort | tr '\n' ' '
}

r=$($PROBE alice t1 "hi there" --timeout 30)
expect_eq "text turn with a fresh instance per event: every delta" "$(j '"|".join(d["deltas"])' <<<"$r")" "Hello, |alice|!"
expect_eq "  the whole answer" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"
expect_eq "  no react record left once it ended" "$(react_keys alice)" ""

r=$($PROBE alice t2 "check it [tool]" --timeout 30)
expect_eq "tool turn: started then finished" "$(j '[t["phase"] for t in d["tool_calls"]]' <<<"$r")" "['started', 'finished']"
expect_eq "  the second LLM call found its session too" "$(j 'd["final"]["text"]' <<<"$r")" "Let me check. tool said: echo ping as alice"

# while a slow stream runs: one record for the turn, its context inside it
$PROBE alice t3 "go [slow]" --cancel-after 6 --timeout 30 >"$TEST_TMP/slow.json" &
p=$!
keys=
for _ in $(seq 100); do
  keys=$(react_keys alice)
  [[ -n $keys ]] && break
  sleep 0.1
done
expect_eq "a streaming turn is one KV record (no react.ctx, no react.req2sess)" "$keys" "react.turn.t3 "
ok_if "  holding the turn's context (model, provider topic, tools)" bash -c \
  "mdb_dump -p '$ASTRID_HOME/var/state.db' | grep -A1 'react.turn.t3' | tail -1 | grep -q 'llm.v1.request.generate.fake'"
wait $p
r=$(cat "$TEST_TMP/slow.json")
expect_eq "cancel mid-stream still ends the turn" "$(j 'd["final"]["cancelled"]' <<<"$r")" "True"
expect_eq "  with the deltas so far, in order" "$(j '"".join(d["deltas"])' <<<"$r")" "tick 0 tick 1 tick 2 tick 3 tick 4 tick 5 "
expect_eq "  and no record left" "$(react_keys alice)" ""
r=$($PROBE alice t3 "again" --timeout 30)
expect_eq "  the session takes a new prompt" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"
echo "1..$_tap_n"
