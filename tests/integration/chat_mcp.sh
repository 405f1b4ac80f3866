#!/usr/bin/env bash
# An MCP server's tools in a chat turn, with no extra code (issue 16): the
# prompt builder's trigger-hook tool.v1.request.describe reaches the MCP
# capsule (the model is offered server-filesystem's tools), and the router's
# tool.v1.execute.<name> — a capsule's publish, not a connection's — is
# answered on the bus as the asking agent, so react gets the result and the
# model sees it. Two agents: bob's turn uses bob's call, never alice's.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
source "$ASTRID_SRC/tests/integration/mockllm_lib.sh"
NPM=$ASTRID_SRC/tests/npm/node_modules/@modelcontextprotocol
if [[ ! -f $NPM/server-filesystem/dist/index.js ]] || ! command -v node >/dev/null; then
  echo "1..1"; skip "MCP in chat" "tests/npm not installed (run make deps) or node missing"; exit 0
fi
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py $ASTRID_HOME"

DATA=$TEST_TMP/data && mkdir -p "$DATA" && echo "mcp data" >"$DATA/note.txt"
FS=$TEST_TMP/mcp-fs && mkdir -p "$FS"
cat >"$FS/Capsule.toml" <<TOML
[package]
name = "mcp-fs"
version = "0.1.0"

[capabilities]
host_process = ["node"]
fs_read = ["$NPM/server-filesystem", "$ASTRID_SRC/tests/npm/node_modules"]
fs_write = ["$DATA"]

[[mcp_server]]
id = "fs"
type = "stdio"
command = "node"
args = ["$NPM/server-filesystem/dist/index.js", "$DATA"]
TOML
SCRIPT=$TEST_TMP/script.json
cat >"$SCRIPT" <<JSON
[{"text": "Listing.", "tool_calls": [{"name": "list_directory", "arguments": {"path": "$DATA"}}]},
 {"text": "Done."},
 {"text": "Listing.", "tool_calls": [{"name": "list_directory", "arguments": {"path": "$DATA"}}]},
 {"text": "Done."}]
JSON

ok_if "mock model server starts" mockllm_start "$SCRIPT"
OC=$(provider_build openai-compat "$MOCK_URL" model=mock-model)
ok_if "start (local addresses allowed for the mock)" env ASTRID_ALLOW_LOCAL_IPS=1 $A start
for c in "$OC" "$ASTRID_BUILD"/capsules/{registry,react,session,identity,prompt-builder,router,context-engine}.capsule "$FS"; do
  ok_if "install $(basename "$c")" bash -c "$A capsule install '$c' >/dev/null 2>&1"
done
for _ in $(seq 150); do
  $A ps --format json 2>/dev/null | grep -q '"state": *"running"' && break
  sleep 0.2
done

r=$($PROBE default t1 "what is in the data dir?" --timeout 60)
expect_eq "the turn called the MCP tool list_directory" \
  "$(j '[(t["tool_name"], t["phase"]) for t in d["tool_calls"]]' <<<"$r")" \
  "[('list_directory', 'started'), ('list_directory', 'finished')]"
expect_eq "  and got the server's answer (not an error)" \
  "$(j 'd["tool_calls"][1]["is_error"], "note.txt" in d["tool_calls"][1]["content"]' <<<"$r")" "False True"
ok_if "  the turn ended" test "$(j 'd["final"]["text"].endswith("Done.")' <<<"$r")" = True
expect_eq "the model was offered the MCP server's tools (trigger-hook describe)" \
  "$(mock_records | head -n 1 | python3 -c 'import sys,json; r=json.loads(sys.stdin.read()); print("list_directory" in [t["function"]["name"] for t in r.get("tools", [])])')" "True"
expect_eq "  and saw the tool result in the second request" \
  "$(mock_records | sed -n 2p | python3 -c 'import sys,json; r=json.loads(sys.stdin.read()); print(any(m["role"]=="tool" and "note.txt" in json.dumps(m["content"]) for m in r["messages"]))')" "True"

ok_if "agent bob with egress to the mock" bash -c "$A agent create bob >/dev/null 2>&1 && $A caps grant bob network:egress:127_0_0_1 >/dev/null 2>&1"
r=$($PROBE bob t1 "and for bob?" --timeout 60)
expect_eq "bob's turn calls the same MCP tool as bob" \
  "$(j '[(t["tool_name"], t["phase"], t.get("is_error")) for t in d["tool_calls"]]' <<<"$r")" \
  "[('list_directory', 'started', None), ('list_directory', 'finished', False)]"
expect_eq "  bob saw only his own frames" "$(j 'sorted(set(f["principal"] for f in d["frames"] if f.get("principal")))' <<<"$r")" "['bob']"
ok_if "audit verifies" bash -c "$A audit verify >/dev/null 2>&1"
ok_if "stop" $A stop
echo "1..$_tap_n"
