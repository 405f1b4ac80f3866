#!/usr/bin/env bash
# Chat turns when the instance pool is short (issue #18, the load run's
# empty answers; docs/chat.md "State in memory"): six agents stream at once
# through a pool of two slots (ASTRID_INSTANCE_POOL=2). The scripted
# provider sends a burst of deltas, which react holds in its instance's
# memory (KV is written at most every 250 ms), pauses while the other
# agents' turns run — their instances returning to the pool would evict
# this one — then sends the rest and Done. Every turn must end with its
# whole answer, in the final response and in the session history: react's
# instance with unsaved deltas is pinned (astrid-unsaved-ms) or saves them
# (astrid-save) before it may go. Then the same with reuse off
# (ASTRID_INSTANCE_POOL=0: no pins, every unsaved delta saved at once).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"
AGENTS="a1 a2 a3 a4 a5 a6"
WANT="w0 w1 w2 w3 w4 w5 end."

turn_stack_build
build_capsule "$ASTRID_SRC/tests/capsules/fakellm"


# round SESSION: a [gap] turn of every agent at once; checks each answer
round() {
  local a pids=() finals deltas hist
  for a in $AGENTS; do
    $PROBE "$a" "$1" "$1 [gap]" --timeout 60 >"$TEST_TMP/$a.$1.json" &
    pids+=($!)
  done
  wait "${pids[@]}"
  finals= deltas= hist=
  for a in $AGENTS; do
    finals+="$a=$(j 'd["final"]["text"] if d["final"] else "(no final)"' <"$TEST_TMP/$a.$1.json");"
    deltas+="$a=$(j '"".join(d["deltas"])' <"$TEST_TMP/$a.$1.json");"
    hist+="$a=$(history "$a" "$1" | j 'd[-1]["content"] if d else "(none)"');"
  done
  local want=
  for a in $AGENTS; do want+="$a=$WANT;"; done
  expect_eq "$2: every agent's final answer is whole" "$finals" "$want"
  expect_eq "  every delta reached its client, in order" "$deltas" "$want"
  expect_eq "  the whole answer is in each session's history" "$hist" "$want"
}

export ASTRID_INSTANCE_POOL=2
ok_if "start (ASTRID_INSTANCE_POOL=2)" $A start
turn_stack_install
ok_if "install fakellm" bash -c "$A capsule install '$O/fakellm.capsule' >/dev/null 2>&1"
for a in $AGENTS; do
  ok_if "agent $a" bash -c "$A agent create $a >/dev/null 2>&1"
done
round p1 "6 agents streaming through 2 slots"
round p2 "again, with the instances of the first round idle"
ok_if "stop" $A stop

export ASTRID_INSTANCE_POOL=0
ok_if "start again (ASTRID_INSTANCE_POOL=0: no reuse, no pins)" $A start
round z1 "6 agents with a fresh instance per event"
echo "1..$_tap_n"
