#!/usr/bin/env bash
# The real turn: react and its helpers with the real provider capsules
# (openai-compat, anthropic) against the local model server
# (tools/mockllm), the registry choosing the provider per agent and the fs
# tool reading the workspace: prompt -> read_file -> answer quoting it, for
# both APIs, each request body checked against the API's schema by the
# server.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
source "$ASTRID_SRC/tests/integration/mockllm_lib.sh"
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"

ok_if "mock model server starts" mockllm_start
OC=$(provider_build openai-compat "$MOCK_URL" model=mock-model)
AN=$(provider_build anthropic "$MOCK_URL")
WS=$TEST_TMP/ws
mkdir -p "$WS"
printf '# Astrid real-turn workspace\nsecond line\n' >"$WS/README.md"
cd "$WS" || exit 1
ok_if "start from the workspace (local addresses allowed for the mock)" env ASTRID_ALLOW_LOCAL_IPS=1 $A start
for c in "$OC" "$AN" "$ASTRID_BUILD"/capsules/{registry,fs,react,session,identity,prompt-builder,router,context-engine}.capsule; do
  ok_if "install $(basename "$c")" bash -c "$A capsule install '$c' >/dev/null 2>&1"
done
ok_if "agent alice" bash -c "$A agent create alice >/dev/null 2>&1"
r=$($PROBE alice t0 "hello" --timeout 60)
expect_eq "alice without egress to the model server: the turn ends in an LLM error naming it" \
  "$(j 'd["final"]["text"].startswith("LLM error: http: principal alice may not reach 127.0.0.1"), d["final"]["error"]' <<<"$r")" "True True"
ok_if "grant alice egress to the local model server" bash -c "$A caps grant alice network:egress:127_0_0_1 >/dev/null 2>&1"
: >"$MOCK_REC"

# set_model PRINCIPAL MODEL CORR: the registry's reply, for an ordinary
# agent (open ingress, frontend subscription)
set_model() {
  PRINCIPAL=$1 python3 - "$ASTRID_HOME" "$2" "$3" <<'EOF'
import sys, os, json
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
s = w.connect(sys.argv[1]); w.handshake(s, sys.argv[1], os.environ["PRINCIPAL"])
w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": "registry.v1.response.*"}})
w.recv(s)
w.send(s, {"topic": "registry.v1.set_active_model",
           "payload": {"correlation_id": sys.argv[3], "model": sys.argv[2]}})
while True:
    m = w.recv(s)
    if m["topic"] == "registry.v1.response.set_active_model." + sys.argv[3]:
        print(json.dumps(m["payload"])); break
EOF
}
r=$(set_model alice mock-model m0)
expect_eq "alice (no system:bus) picks openai-compat's mock-model through the registry" "$(j 'd["ok"], d["active"]["provider"]' <<<"$r")" "True openai-compat"
r=$($PROBE alice t1 "what does the readme say?" --timeout 60)
expect_eq "openai-compat: read_file called" \
  "$(j '[(t["tool_name"], t["phase"]) for t in d["tool_calls"]]' <<<"$r")" "[('read_file', 'started'), ('read_file', 'finished')]"
expect_eq "  on README.md" "$(j 'd["tool_calls"][0]["arguments"]' <<<"$r")" "{'path': 'README.md'}"
expect_eq "  the fs tool read the workspace as alice" "$(j 'd["tool_calls"][1]["is_error"], d["tool_calls"][1]["content"].splitlines()[0]' <<<"$r")" \
  "False # Astrid real-turn workspace"
expect_eq "  final answer quotes the file" "$(j 'd["final"]["text"].endswith("The file starts with: # Astrid real-turn workspace")' <<<"$r")" "True"
expect_eq "  streamed as deltas that add up to the final text" "$(j 'len(d["deltas"]) > 0 and "".join(d["deltas"]) == d["final"]["text"]' <<<"$r")" "True"
expect_eq "  usage once per LLM call, priced by provider and model" "$(j '[(u["provider"], u["model"]) for u in d["usage"]]' <<<"$r")" \
  "[('openai-compat', 'mock-model'), ('openai-compat', 'mock-model')]"
expect_eq "two chat-completions requests, both valid for the API's schema" \
  "$(mock_records | python3 -c 'import sys,json; r=[json.loads(l) for l in sys.stdin]; print([(x["_mock"]["path"], x["_mock"]["valid"]) for x in r])')" \
  "[('/v1/chat/completions', True), ('/v1/chat/completions', True)]"
expect_eq "  the second carries the tool result under its call id" \
  "$(mock_records | python3 -c 'import sys,json; r=[json.loads(l) for l in sys.stdin][1]; m=r["messages"]; t=[x for x in m if x["role"]=="tool"][0]; a=[x for x in m if x.get("tool_calls")][0]; print(t["tool_call_id"] == a["tool_calls"][0]["id"], r["tools"][0]["function"]["name"] in [x["function"]["name"] for x in r["tools"]])')" \
  "True True"
ok_if "  with the identity's system prompt naming alice" bash -c "head -n 1 '$MOCK_REC' | grep -q 'You are alice'"

: >"$MOCK_REC"
r=$(set_model alice claude-haiku-4-5 m1)
expect_eq "alice picks an Anthropic model (registry over a frontend subscription)" "$(j 'd["ok"], d["active"]["provider"]' <<<"$r")" "True anthropic"
r=$($PROBE alice t2 "and now?" --timeout 60)
expect_eq "anthropic: read_file then the answer" "$(j '[t["phase"] for t in d["tool_calls"]], d["final"]["text"].endswith("The file starts with: # Astrid real-turn workspace")' <<<"$r")" \
  "['started', 'finished'] True"
expect_eq "  two /v1/messages requests, both valid" \
  "$(mock_records | python3 -c 'import sys,json; r=[json.loads(l) for l in sys.stdin]; print([(x["_mock"]["path"], x["_mock"]["valid"], x["model"]) for x in r])')" \
  "[('/v1/messages', True, 'claude-haiku-4-5'), ('/v1/messages', True, 'claude-haiku-4-5')]"
r=$(set_model default mock-model m2)
r=$($PROBE default t3 "hello" --timeout 60)
expect_eq "default, on its own choice, talks to openai-compat while alice talks to anthropic" "$(j '[u["provider"] for u in d["usage"]]' <<<"$r")" "['openai-compat', 'openai-compat']"
expect_eq "  and gets its answer" "$(j 'd["final"]["text"].endswith("The file starts with: # Astrid real-turn workspace")' <<<"$r")" "True"
echo "1..$_tap_n"
