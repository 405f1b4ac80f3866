#!/usr/bin/env bash
# The provider capsules against the local model server (tools/mockllm),
# through the real daemon: an llm_request published on
# llm.v1.request.generate.<provider> comes back as ordered llm_stream_events
# on llm.v1.stream.<provider> (text deltas, tool calls reassembled from
# many deltas, usage, Done), and every failure as one Error: an HTTP error
# with the API's message, a connection cut mid-stream, an error event in
# the stream, an agent without egress. The request bodies the capsules sent
# are checked field by field by the server (schema.js) and here.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
source "$ASTRID_SRC/tests/integration/mockllm_lib.sh"
W=$TEST_TMP/watch.jsonl
WATCH_PID=
CLEANUP_EXTRA='[[ -n $WATCH_PID ]] && kill $WATCH_PID 2>/dev/null'

# events RID: the StreamEvents of request RID, in bus order, one JSON per line
events() {
  python3 - "$W" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: m = json.loads(line)
    except ValueError: continue
    p = m.get("payload") or {}
    if p.get("type") == "llm_stream_event" and p.get("request_id") == sys.argv[2]:
        print(json.dumps(p["event"]))
PY
}
# wait_end RID: until RID's stream ended (Done or Error), at most 60 s
wait_end() {
  for _ in $(seq 600); do events "$1" | grep -q '^"Done"$\|^{"Error"' && return 0; sleep 0.1; done
  return 1
}
# summary RID: text, tool calls (id name args), usage, the last event
summary() {
  events "$1" | python3 -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin]
text = "".join(e["TextDelta"] for e in ev if isinstance(e, dict) and "TextDelta" in e)
calls = {}
order = []
for e in ev:
    if isinstance(e, dict) and "ToolCallStart" in e:
        s = e["ToolCallStart"]; calls[s["id"]] = [s["name"], "", False, 0]; order.append(s["id"])
    elif isinstance(e, dict) and "ToolCallDelta" in e:
        d = e["ToolCallDelta"]; calls[d["id"]][1] += d["args_delta"]; calls[d["id"]][3] += 1
    elif isinstance(e, dict) and "ToolCallEnd" in e:
        calls[e["ToolCallEnd"]["id"]][2] = True
usage = [e["Usage"] for e in ev if isinstance(e, dict) and "Usage" in e]
print(json.dumps({"text": text, "ndeltas": sum(1 for e in ev if isinstance(e, dict) and "TextDelta" in e),
  "calls": [{"name": calls[i][0], "args": json.loads(calls[i][1]) if calls[i][2] else None,
             "deltas": calls[i][3], "ended": calls[i][2]} for i in order],
  "usage": usage, "last": ev[-1] if ev else None, "n": len(ev),
  "errors": [e["Error"] for e in ev if isinstance(e, dict) and "Error" in e],
  "dones": sum(1 for e in ev if e == "Done")}))'
}
gen() { # gen PROVIDER RID [MESSAGES_JSON] [TOOLS_JSON]
  local msgs=${3:-'[{"role":"user","content":"hello"}]'} tools=${4:-'[]'}
  $A bus publish "llm.v1.request.generate.$1" \
    "{\"type\":\"llm_request\",\"request_id\":\"$2\",\"model\":\"\",\"messages\":$msgs,\"tools\":$tools,\"system\":\"You are terse.\"}" >/dev/null
}
TOOLS='[{"name":"read_file","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}]'
# a conversation with a finished tool call: both APIs' shapes for calls and results
HIST='[{"role":"user","content":"read it"},{"role":"assistant","content":[{"id":"call_7","name":"read_file","arguments":{"path":"README.md"}}]},{"role":"tool","content":{"call_id":"call_7","content":"# Astrid\nline two","is_error":false}},{"role":"user","content":"and now?"}]'

cat >"$TEST_TMP/script.json" <<'JSON'
[
 {"text": "Hello there, world!", "usage": {"input_tokens": 11, "output_tokens": 7}, "delay_ms": 20},
 {"text": "Reading.", "tool_calls": [{"name": "read_file", "arguments": {"path": "README.md", "why": "the user asked \"what is this\""}}], "chunk_bytes": 7},
 {"error": {"status": 500, "body": {"error": {"message": "the model is overloaded", "type": "server_error"}}}},
 {"text": "a partial answer that is never finished", "disconnect_after": 4},
 {"text": "x", "stream_error": "rate limit reached in stream"},
 {"text": "seen the history"},
 {"text": "Bonjour", "reasoning": "think", "usage": {"input_tokens": 5, "output_tokens": 3}},
 {"tool_calls": [{"name": "read_file", "arguments": {"path": "docs/a b.md"}}], "chunk_bytes": 11},
 {"error": {"status": 529, "body": "upstream exploded"}},
 {"text": "cut short here for sure", "disconnect_after": 5},
 {"text": "seen the history too"}
]
JSON
ok_if "mock model server starts" mockllm_start "$TEST_TMP/script.json"
r=$(curl -s -o /dev/null -w '%{http_code}' "$MOCK_URL/v1/chat/completions" -d '{"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":"nope"}],"bogus":1}')
expect_eq "mock: a request off the OpenAI schema is answered 400" "$r" "400"
ok_if "  and recorded as invalid, naming the fields" bash -c "tail -n 1 '$MOCK_REC' | grep -q '\"valid\":false.*unknown field .bogus.*preceding message with .tool_calls.'"
: >"$MOCK_REC"

OC=$(provider_build openai-compat "$MOCK_URL" model=mock-model temperature=0.5 max_output_tokens=256)
AN=$(provider_build anthropic "$MOCK_URL/" model=mock-claude max_output_tokens=256)
ok_if "openai-compat capsule built" test -f "$OC"
ok_if "anthropic capsule built" test -f "$AN"
ok_if "start (local addresses allowed for the mock)" env ASTRID_ALLOW_LOCAL_IPS=1 $A start
ok_if "install openai-compat" bash -c "$A capsule install '$OC' >/dev/null 2>&1"
ok_if "install anthropic" bash -c "$A capsule install '$AN' >/dev/null 2>&1"
ok_if "api_key secrets set" bash -c "$A capsule config astrid-capsule-openai-compat --set api_key=sk-test-oai >/dev/null &&
  $A capsule config astrid-capsule-anthropic --set api_key=sk-ant-test >/dev/null"

# llm.v1.* (not the frontend pattern llm.v1.stream.*, which is narrowed to
# the watcher's own principal even with system:bus, docs/wire.md): the
# admin watches bob's stream below too. events() keeps llm_stream_events.
$A bus watch 'llm.v1.*' >"$W" 2>&1 &
WATCH_PID=$!
for _ in $(seq 100); do
  $A bus publish llm.v1.stream.marker '{"m":1}' >/dev/null 2>&1
  grep -q llm.v1.stream.marker "$W" && break
  sleep 0.1
done
ok_if "bus watch on llm.v1.* is live" grep -q llm.v1.stream.marker "$W"

# ---- openai-compat ----
gen openai-compat o1 && wait_end o1
s=$(summary o1)
expect_eq "openai: text deltas reassemble the answer" "$(j 'd["text"]' <<<"$s")" "Hello there, world!"
# (deltas that arrive in one read are published as one event: how many
# events depends on the reads, so only "at least one" is asserted)
ok_if "  in TextDelta events" test "$(j 'd["ndeltas"]' <<<"$s")" -ge 1
expect_eq "  Usage from the stream's usage block" "$(j 'd["usage"]' <<<"$s")" "[{'input_tokens': 11, 'output_tokens': 7}]"
expect_eq "  ends with one Done" "$(j 'd["last"], d["dones"], d["errors"]' <<<"$s")" "Done 1 []"

gen openai-compat o2 '[{"role":"user","content":"read"}]' "$TOOLS" && wait_end o2
s=$(summary o2)
expect_eq "openai: a tool call split over many deltas and reads: Start, Delta(s), End" \
  "$(j '[(c["name"], c["ended"], c["deltas"] >= 1) for c in d["calls"]]' <<<"$s")" "[('read_file', True, True)]"
expect_eq "  its arguments reassembled exactly" "$(j 'd["calls"][0]["args"]' <<<"$s")" \
  "{'path': 'README.md', 'why': 'the user asked \"what is this\"'}"
expect_eq "  text before it, then Done" "$(j 'd["text"], d["last"]' <<<"$s")" "Reading. Done"

gen openai-compat o3 && wait_end o3
s=$(summary o3)
expect_eq "openai: HTTP 500 ends the stream with one Error carrying the API's message" \
  "$(j 'd["errors"], d["dones"], d["n"]' <<<"$s")" "['HTTP 500: the model is overloaded'] 0 1"

gen openai-compat o4 && wait_end o4
s=$(summary o4)
# (curl sees the chunked body cut: "transfer closed with outstanding read data")
expect_eq "openai: a connection cut mid-stream: the text so far, then one Error" \
  "$(j 'len(d["errors"]), "closed" in d["errors"][0], d["dones"]' <<<"$s")" "1 True 0"
ok_if "  (some text had arrived)" test -n "$(j 'd["text"]' <<<"$s")"

gen openai-compat o5 && wait_end o5
expect_eq "openai: an error event inside the stream becomes Error" "$(summary o5 | j 'd["errors"], d["dones"]')" \
  "['rate limit reached in stream'] 0"

gen openai-compat o6 "$HIST" "$TOOLS" && wait_end o6
expect_eq "openai: a history with a tool call and its result is accepted" "$(summary o6 | j 'd["text"]')" "seen the history"

# ---- anthropic ----
gen anthropic a1 && wait_end a1
s=$(summary a1)
expect_eq "anthropic: text deltas reassemble the answer" "$(j 'd["text"]' <<<"$s")" "Bonjour"
ok_if "  thinking arrives as ReasoningDelta" grep -q '{"ReasoningDelta": "thin' <<<"$(events a1)"
expect_eq "  Usage from message_start + message_delta, then Done" "$(j 'd["usage"], d["last"]' <<<"$s")" \
  "[{'input_tokens': 5, 'output_tokens': 3}] Done"

gen anthropic a2 '[{"role":"user","content":"read"}]' "$TOOLS" && wait_end a2
s=$(summary a2)
expect_eq "anthropic: input_json_delta pieces become ToolCallDeltas; arguments reassembled" \
  "$(j '[(c["name"], c["ended"], c["deltas"] >= 1, c["args"]) for c in d["calls"]]' <<<"$s")" \
  "[('read_file', True, True, {'path': 'docs/a b.md'})]"
expect_eq "  then Done" "$(j 'd["last"]' <<<"$s")" "Done"

gen anthropic a3 && wait_end a3
expect_eq "anthropic: HTTP 529 with a text body: Error with the body" "$(summary a3 | j 'd["errors"], d["dones"]')" \
  "['HTTP 529: upstream exploded'] 0"
gen anthropic a4 && wait_end a4
expect_eq "anthropic: a cut before message_stop is an Error" \
  "$(summary a4 | j 'len(d["errors"]), "closed" in d["errors"][0], d["dones"]')" "1 True 0"
gen anthropic a5 "$HIST" "$TOOLS" && wait_end a5
expect_eq "anthropic: a history with tool_use/tool_result is accepted" "$(summary a5 | j 'd["text"]')" "seen the history too"

# ---- what the capsules sent ----
R=$TEST_TMP/rec.json
python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$MOCK_REC" >"$R"
expect_eq "every request the capsules sent passed the schema checks" "$(j 'sum(1 for r in d if not r["_mock"]["valid"]), len(d)' <"$R")" "0 11"
q() { j "$1" <"$R"; }
expect_eq "openai: model from env, temperature, max_tokens, stream with usage" \
  "$(q 'd[0]["model"], d[0]["temperature"], d[0]["max_tokens"], d[0]["stream"], d[0]["stream_options"]')" \
  "mock-model 0.5 256 True {'include_usage': True}"
expect_eq "  system prompt as the first message" "$(q 'd[0]["messages"][0]')" "{'role': 'system', 'content': 'You are terse.'}"
expect_eq "  tools in OpenAI's function shape" "$(q 'd[1]["tools"][0]["type"], d[1]["tools"][0]["function"]["name"], d[1]["tools"][0]["function"]["parameters"]["required"]')" \
  "function read_file ['path']"
expect_eq "  no tools key when the request has none (OpenAI refuses [])" "$(q '"tools" in d[0]')" "False"
expect_eq "  Authorization: Bearer from the agent's api_key secret" "$(q 'd[0]["_mock"]["headers"]["authorization"]')" "Bearer sk-test-oai"
expect_eq "  a tool call as assistant tool_calls (arguments as JSON text), its result as role tool" \
  "$(q '[(m["role"], m.get("tool_call_id"), m.get("tool_calls", [{}])[0].get("function")) for m in d[5]["messages"][1:4]]')" \
  "[('user', None, None), ('assistant', None, {'name': 'read_file', 'arguments': '{\"path\":\"README.md\"}'}), ('tool', 'call_7', None)]"
expect_eq "anthropic: x-api-key and anthropic-version headers" \
  "$(q 'd[6]["_mock"]["headers"]["x-api-key"], d[6]["_mock"]["headers"]["anthropic-version"]')" "sk-ant-test 2023-06-01"
expect_eq "  model from env, max_tokens, system top-level, no temperature when unset" \
  "$(q 'd[6]["model"], d[6]["max_tokens"], d[6]["system"], "temperature" in d[6], d[6]["_mock"]["path"]')" \
  "mock-claude 256 You are terse. False /v1/messages"
expect_eq "  tools with input_schema" "$(q 'd[7]["tools"][0]["name"], d[7]["tools"][0]["input_schema"]["type"]')" "read_file object"
expect_eq "  tool_use in the assistant message, tool_result in the next user message" \
  "$(q '[(m["role"], [b["type"] for b in m["content"]]) for m in d[10]["messages"]]')" \
  "[('user', ['text']), ('assistant', ['tool_use']), ('user', ['tool_result', 'text'])]"
expect_eq "  the tool_use input is an object, the result names its call" \
  "$(q 'd[10]["messages"][1]["content"][0]["input"], d[10]["messages"][2]["content"][0]["tool_use_id"]')" "{'path': 'README.md'} call_7"

# ---- describe ----
r=$($A bus request llm.v1.request.describe '{"correlation_id":"c1"}' --reply 'llm.v1.response.describe.c1' --timeout 30 2>&1)
expect_eq "describe: a provider answers with its request topic and priced models, the configured one first" \
  "$(j 'd["request_topic"] == "llm.v1.request.generate." + d["id"], d["models"][0]["id"].startswith("mock-"), "input_usd_per_mtok" in d["models"][1]' <<<"$r")" \
  "True True True"

# ---- hostile input: nothing crashes, stored data intact ----
$A bus publish llm.v1.request.generate.openai-compat '{"type":"llm_request","model":"x","messages":[]}' >/dev/null 2>&1
gen openai-compat bad1 '[{"role":"user","content":{"not":"a content"}}]' && wait_end bad1
expect_eq "a message content of no known shape: Error naming it, no request sent" \
  "$(summary bad1 | j 'd["errors"]'; wc -l <"$MOCK_REC")" "['bad llm_request: messages[0].content: not a Message content']
11"

# ---- egress belongs to the agent ----
ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus" $A caps grant bob system:bus
ok_if "agent switch bob" $A agent switch bob
gen openai-compat b1 && wait_end b1
s=$(summary b1)
ok_if "bob without egress to the model host gets an Error naming it" grep -q 'principal bob may not reach 127.0.0.1' <<<"$s"
expect_eq "  and the server got no request" "$(wc -l <"$MOCK_REC")" "11"
ok_if "agent switch default" $A agent switch default
ok_if "the daemon survived all of it" $A status
echo "1..$_tap_n"
