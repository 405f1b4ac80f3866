#!/usr/bin/env bash
# Budget charging of chat turns (docs/chat.md "Budget", src/kernel/usage.h):
# react's agent.v1.usage priced from the provider's describe answer and
# charged by the kernel to the agent the turn ran as; an exhausted budget
# refuses the next turn (wire, headless -p) and stops a running one at its
# next LLM call; forged usage (a client, a capsule whose owner lacks
# capsule:usage_report) and a forged price table charge nobody.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"

turn_stack_build
build_capsule "$ASTRID_SRC/tests/capsules/echotool"
build_capsule "$ASTRID_SRC/tests/capsules/usagespoof"
# fakellm with its describe answer declared: fake-1 at 1000 / 2000 USD per
# million tokens, so a "Hello" turn (3 in, 4 out) costs 0.011 USD.
cp -r "$ASTRID_SRC/tests/capsules/fakellm" "$TEST_TMP/fakellm"
cat >>"$TEST_TMP/fakellm/Capsule.toml" <<'EOF'

[[interceptor]]
event = "llm.v1.request.describe"
action = "describe"

[env]
price_in = { type = "string", default = "1000", description = "USD per million input tokens" }
price_out = { type = "string", default = "2000", description = "USD per million output tokens" }
EOF
build_capsule "$TEST_TMP/fakellm"

ok_if "start" $A start
turn_stack_install
ok_if "install fakellm (with describe)" bash -c "$A capsule install '$O/fakellm.capsule' >/dev/null 2>&1"
ok_if "install echotool" bash -c "$A capsule install '$O/echotool.capsule' >/dev/null 2>&1"
for a in alice bob carol dave; do
  ok_if "agent $a" bash -c "$A agent create $a >/dev/null 2>&1"
done
# carol's capsules serve everyone (capsule:shared) but may not report usage
ok_if "carol may share capsules" bash -c "$A caps grant carol capsule:shared >/dev/null"
ok_if "carol installs usagespoof" bash -c "$A agent switch carol >/dev/null && $A capsule install '$O/usagespoof.capsule' >/dev/null 2>&1"
ok_if "back to default" bash -c "$A agent switch default >/dev/null"
ok_if "usagespoof is shared" bash -c "$A ps --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c[\"name\"]==\"usagespoof\" and c[\"shared\"] for c in d) else 1)'"

spent() { $A budget show -a "$1" --format json | j 'round(d["session_spent_usd"], 6)'; }
ok_if "alice's session budget: 0.01 USD" bash -c "$A budget set -a alice --session 0.01 >/dev/null"
ok_if "dave's session budget: 0.02 USD" bash -c "$A budget set -a dave --session 0.02 >/dev/null"
audit_of() { cat "$ASTRID_HOME/home/$1/.local/audit/audit.jsonl" 2>/dev/null; }

# --- a turn is charged to the agent it ran as, at the provider's price
r=$($PROBE alice s1 "hi there" --timeout 20)
expect_eq "alice's first turn runs" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"
expect_eq "  charged to alice at fake-1's price: (3*1000 + 4*2000)/1e6 USD" "$(spent alice)" "0.011"
expect_eq "  nothing charged to bob" "$(spent bob)" "0.0"
ok_if "  the charge is in alice's audit log" \
  bash -c "grep 'usage_charge' '$ASTRID_HOME/home/alice/.local/audit/audit.jsonl' | grep -q '(provider) = 0.011000 USD'"

# --- over budget: the next turn is refused
r=$($PROBE alice s2 "hi again" --timeout 20)
expect_eq "alice's next turn is refused with the budget error" \
  "$(j 'd["final"]["text"].split(";")[0]' <<<"$r")" \
  "Budget exceeded: session limit 0.0100 USD reached (spent 0.011000 USD)"
expect_eq "  flagged as an error, no delta" "$(j 'd["final"]["error"], len(d["deltas"])' <<<"$r")" "True 0"
expect_eq "  the provider was not asked again" \
  "$(cat "$ASTRID_HOME"/home/alice/.local/log/fakellm/*.log | grep -c 'fakellm request')" "1"
expect_eq "  nothing more charged" "$(spent alice)" "0.011"
ok_if "  the refusal is audited" \
  bash -c "grep 'chat_turn' '$ASTRID_HOME/home/alice/.local/audit/audit.jsonl' | grep -q 'budget exceeded'"
ok_if "agent switch alice" bash -c "$A agent switch alice >/dev/null"
out=$($A -p "and again" 2>&1 >/dev/null); rc=$?
ok_if "agent switch default" bash -c "$A agent switch default >/dev/null"
expect_eq "headless -p over budget exits 1" "$rc" "1"
ok_if "  printing the budget error" grep -q "astrid: Budget exceeded: session limit 0.0100 USD" <<<"$out"
denials() { grep -c '"chat_turn"' "$ASTRID_HOME/home/alice/.local/audit/audit.jsonl"; }
before=$(denials)
PRINCIPAL=alice python3 - "$ASTRID_HOME" <<'PY'
import sys, os, time
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
s = w.connect(sys.argv[1]); w.handshake(s, sys.argv[1], os.environ["PRINCIPAL"])
w.send(s, {"topic": "user.v1.prompt", "payload": {"type": "user_input", "text": "",
           "session_id": "s2", "context": {"action": "cancel_turn"}}})
time.sleep(1)
PY
expect_eq "  a cancel is not refused (stopping costs nothing)" "$(denials)" "$before"

# --- bob is untouched, and his price is the provider's, not usagespoof's
r=$($PROBE bob s1 "hi there" --timeout 20)
expect_eq "bob's turn runs" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, bob!"
expect_eq "  charged 0.011 USD: usagespoof's 1e9 USD/Mtok describe answer (asked first) is ignored" \
  "$(spent bob)" "0.011"
expect_eq "  alice unchanged" "$(spent alice)" "0.011"

# --- a turn running over budget ends at its next LLM call
r=$($PROBE dave s1 "check it [tool]" --timeout 20)
expect_eq "dave's tool turn stops at the second LLM call (0.025 USD spent of 0.02)" \
  "$(j 'd["final"]["text"]' <<<"$r")" \
  "LLM error: budget exceeded: session limit 0.0200 USD reached (spent 0.025000 USD)"
expect_eq "  after the tool ran" "$(j '[t["phase"] for t in d["tool_calls"]]' <<<"$r")" "['started', 'finished']"
expect_eq "  the second call was never made" \
  "$(cat "$ASTRID_HOME"/home/dave/.local/log/fakellm/*.log | grep -c 'fakellm request')" "1"

# --- forgeries charge nobody
big='{"type":"usage","provider":"fake","model":"fake-1","input_tokens":1000000,"output_tokens":1000000,"principal":"bob","session_id":"x"}'
ok_if "a client (admin, system:bus) publishes agent.v1.usage naming bob" \
  bash -c "$A bus publish agent.v1.usage '$big' >/dev/null"
ok_if "usagespoof (carol's, shared) runs as default and reports 3000 USD of usage naming bob" \
  bash -c "$A bus publish demo.v1.usagespoof '{\"usage\":$big}' >/dev/null"
for _ in $(seq 100); do
  grep -q 'usagespoof not charged' "$ASTRID_HOME/home/default/.local/audit/audit.jsonl" 2>/dev/null && break
  sleep 0.1
done
ok_if "  refused and audited in default's log (the principal it ran as)" \
  bash -c "grep 'usage_charge' '$ASTRID_HOME/home/default/.local/audit/audit.jsonl' | grep -q 'its owner does not hold capsule:usage_report'"
expect_eq "  default not charged" "$(spent default)" "0.0"
expect_eq "  bob not charged" "$(spent bob)" "0.011"
expect_eq "  alice not charged" "$(spent alice)" "0.011"

# --- raising the limit lets alice go on
ok_if "admin raises alice's budget" bash -c "$A budget set -a alice --session 1 >/dev/null"
r=$($PROBE alice s3 "hi there" --timeout 20)
expect_eq "alice's turn runs again" "$(j 'd["final"]["text"]' <<<"$r")" "Hello, alice!"
expect_eq "  and is charged" "$(spent alice)" "0.022"
echo "1..$_tap_n"
