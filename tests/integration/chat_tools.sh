#!/usr/bin/env bash
# The registry and the tool capsules through the real daemon. Registry:
# providers discovered through trigger-hook llm.v1.request.describe, the
# active model per agent in its own KV (bob never sees default's choice),
# unknown models refused. Tools: fs reads inside the workspace, refuses
# what the VFS refuses (/etc/passwd, traversal to $ASTRID_HOME, kernel
# state in the agent's home) as is_error results, never writes without an
# approval; shell never runs without one; http stays inside the agent's
# egress.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
source "$ASTRID_SRC/tests/integration/mockllm_lib.sh"
req() { $A bus request "$1" "$2" --reply "${3:-$1.reply}" --timeout 90 2>&1; }
tool() { # tool NAME CALL_ID ARGS_JSON
  req "tool.v1.execute.$1" "{\"type\":\"tool_execute_request\",\"call_id\":\"$2\",\"tool_name\":\"$1\",\"arguments\":$3}" \
    "tool.v1.execute.$1.result"
}
res() { j 'd["result"]["is_error"], d["call_id"] == d["result"]["call_id"]'; }

ok_if "mock model server starts" mockllm_start
OC=$(provider_build openai-compat "$MOCK_URL" model=mock-model)
AN=$(provider_build anthropic "$MOCK_URL")
WS=$TEST_TMP/ws
mkdir -p "$WS/sub"
printf '# Astrid test workspace\nsecond line with needle\n' >"$WS/README.md"
printf 'deep needle here\n' >"$WS/sub/deep.txt"
printf 'keep me\n' >"$WS/keep.txt"
cd "$WS" || exit 1
ok_if "start from the workspace (local addresses allowed for the mock)" env ASTRID_ALLOW_LOCAL_IPS=1 $A start
for c in "$OC" "$AN" "$ASTRID_BUILD/capsules/registry.capsule" "$ASTRID_BUILD/capsules/fs.capsule" \
  "$ASTRID_BUILD/capsules/shell.capsule" "$ASTRID_BUILD/capsules/http.capsule"; do
  ok_if "install $(basename "$c")" bash -c "$A capsule install '$c' >/dev/null 2>&1"
done

# ---- registry ----
r=$(req registry.v1.get_providers '{"correlation_id":"g1"}' registry.v1.response.get_providers.g1)
expect_eq "get_providers: both providers found by their describe answers" \
  "$(j 'sorted(p["id"] for p in d["providers"])' <<<"$r")" "['anthropic', 'openai-compat']"
expect_eq "  with priced models" "$(j 'all("input_usd_per_mtok" in m for p in d["providers"] for m in p["models"])' <<<"$r")" "True"
expect_eq "  active by default: the first provider's first model" \
  "$(j 'd["active"]["provider"] == d["providers"][0]["id"] and d["active"]["model"] == d["providers"][0]["models"][0]["id"] and d["active"]["request_topic"] == "llm.v1.request.generate." + d["active"]["provider"]' <<<"$r")" "True"
r=$(req registry.v1.set_active_model '{"correlation_id":"s1","model":"claude-haiku-4-5"}' registry.v1.response.set_active_model.s1)
expect_eq "set_active_model: a listed model, its provider found" "$(j 'd["ok"], d["active"]' <<<"$r")" \
  "True {'provider': 'anthropic', 'model': 'claude-haiku-4-5', 'request_topic': 'llm.v1.request.generate.anthropic'}"
r=$(req registry.v1.set_active_model '{"correlation_id":"s2","model":"mock-model"}' registry.v1.active_model_changed)
expect_eq "  announced on registry.v1.active_model_changed" "$(j 'd["provider"], d["model"]' <<<"$r")" "openai-compat mock-model"
r=$(req registry.v1.get_active_model '{"correlation_id":"a1"}' registry.v1.response.get_active_model.a1)
expect_eq "get_active_model: the choice persists (KV)" "$(j 'd["provider"], d["model"], d["request_topic"]' <<<"$r")" \
  "openai-compat mock-model llm.v1.request.generate.openai-compat"
r=$(req registry.v1.set_active_model '{"correlation_id":"s3","model":"gpt-nonexistent"}' registry.v1.response.set_active_model.s3)
expect_eq "an unlisted model without a provider is refused" "$(j 'd["ok"], d["error"]' <<<"$r")" \
  "False no provider lists model 'gpt-nonexistent'"
r=$(req registry.v1.set_active_model '{"correlation_id":"s4","model":"x","provider":"nope"}' registry.v1.response.set_active_model.s4)
expect_eq "an unknown provider is refused" "$(j 'd["ok"], d["error"]' <<<"$r")" "False unknown provider 'nope'"
r=$(req registry.v1.get_active_model '{"correlation_id":"a2"}' registry.v1.response.get_active_model.a2)
expect_eq "  and the refusals left the stored choice intact" "$(j 'd["model"]' <<<"$r")" "mock-model"
r=$(req registry.v1.set_active_model '{"correlation_id":"s5","model":"llama3.2:3b","provider":"openai-compat"}' registry.v1.response.set_active_model.s5)
expect_eq "a named provider may serve a model off its table (a local server's)" "$(j 'd["ok"], d["active"]["model"]' <<<"$r")" "True llama3.2:3b"
out=$($A bus request registry.v1.get_active_model '{"correlation_id":"a.b"}' --reply 'registry.v1.response.get_active_model.*' --timeout 5 2>&1)
ok_if "a correlation_id that is not one topic segment is refused (no reply)" test $? -ne 0

ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus" $A caps grant bob system:bus
ok_if "agent switch bob" $A agent switch bob
# (agent create seeds bob's capsule KV from default's; from then on they are apart)
r=$(req registry.v1.set_active_model '{"correlation_id":"b1","model":"claude-opus-4-1"}' registry.v1.response.set_active_model.b1)
expect_eq "bob chooses his own model" "$(j 'd["ok"], d["active"]["model"]' <<<"$r")" "True claude-opus-4-1"
ok_if "agent switch default" $A agent switch default
r=$(req registry.v1.get_active_model '{"correlation_id":"a3"}' registry.v1.response.get_active_model.a3)
expect_eq "  default's choice is untouched by bob's" "$(j 'd["model"]' <<<"$r")" "llama3.2:3b"
ok_if "agent switch bob" $A agent switch bob
r=$(req registry.v1.get_active_model '{"correlation_id":"b2"}' registry.v1.response.get_active_model.b2)
expect_eq "  and bob's stays his" "$(j 'd["model"]' <<<"$r")" "claude-opus-4-1"
ok_if "agent switch default" $A agent switch default

# ---- fs ----
r=$(tool read_file t1 '{"path":"README.md"}')
expect_eq "read_file in the workspace" "$(j 'd["result"]["content"]' <<<"$r")" "# Astrid test workspace
second line with needle"
expect_eq "  not an error, answering its call_id" "$(res <<<"$r")" "False True"
r=$(tool read_file t2 '"{\"path\":\"cwd://README.md\"}"')
expect_eq "  arguments as JSON text (OpenAI's form) work too" "$(j 'd["result"]["is_error"]' <<<"$r")" "False"
r=$(tool read_file t3 '{"path":"/etc/passwd"}')
expect_eq "read_file /etc/passwd is an is_error result" "$(res <<<"$r")" "True True"
ok_if "  with nothing of the file in it" bash -c "! grep -q 'root:' <<<'$r'"
r=$(tool read_file t4 '{"path":"../home/etc/groups.toml"}')
expect_eq "read_file through .. to \$ASTRID_HOME is refused" "$(res <<<"$r")" "True True"
r=$(tool read_file t5 '{"path":"home://.local/kv/x"}')
ok_if "read_file of the agent's own kernel state (home://.local) is refused by the VFS" \
  grep -q 'kernel-owned state' <<<"$(j 'd["result"]["content"], d["result"]["is_error"]' <<<"$r")"
r=$(tool write_file w1 '{"path":"new.txt","content":"pwned"}')
expect_eq "write_file without an approval: is_error" "$(res <<<"$r")" "True True"
ok_if "  saying the approval was not given" grep -qi 'approv' <<<"$(j 'd["result"]["content"]' <<<"$r")"
ok_if "  and the file was not written" test ! -e "$WS/new.txt"
r=$(tool edit_file e1 '{"path":"keep.txt","old_string":"keep","new_string":"lost"}')
expect_eq "edit_file without an approval: is_error, file unchanged" "$(res <<<"$r"; cat "$WS/keep.txt")" "True True
keep me"
r=$(tool edit_file e2 '{"path":"keep.txt","old_string":"absent","new_string":"x"}')
ok_if "edit_file of a string not in the file says so" grep -q 'old_string not found' <<<"$r"
r=$(tool list_directory l1 '{"path":"."}')
ok_if "list_directory: files with sizes, directories with /" \
  bash -c "grep -q 'README.md (48 bytes)' <<<'$(j 'd["result"]["content"]' <<<"$r")' && grep -q 'sub/' <<<'$(j 'd["result"]["content"]' <<<"$r")'"
r=$(tool search_files f1 '{"pattern":"needle"}')
expect_eq "search_files: path:line: text for each hit, into subdirectories" \
  "$(j 'sorted(d["result"]["content"].strip().split("\n"))' <<<"$r")" \
  "['README.md:2: second line with needle', 'sub/deep.txt:1: deep needle here']"
r=$(tool read_file t6 '{}')
expect_eq "a call without its arguments: is_error naming them" "$(j 'd["result"]["content"]' <<<"$r")" 'read_file needs {"path": "..."}'

# ---- shell ----
r=$(tool run_shell_command x1 '{"command":"touch pwned"}')
expect_eq "run_shell_command without an approval: is_error" "$(res <<<"$r")" "True True"
ok_if "  nothing ran" test ! -e "$WS/pwned"

# ---- http ----
r=$(tool http_request h1 "{\"url\":\"$MOCK_URL/v1/models\"}")
ok_if "http_request GET to a host the agent may reach" grep -q 'HTTP 200' <<<"$(j 'd["result"]["content"]' <<<"$r")"
ok_if "  with the body" grep -q 'mock-model' <<<"$r"
r=$(tool http_request h2 '{"url":"file:///etc/passwd"}')
expect_eq "http_request to a file:// URL: is_error" "$(res <<<"$r")" "True True"
ok_if "agent switch bob" $A agent switch bob
r=$(tool http_request h3 "{\"url\":\"$MOCK_URL/v1/models\"}")
ok_if "bob without egress to the host: is_error naming it" grep -q 'principal bob may not reach 127.0.0.1' <<<"$r"
ok_if "agent switch default" $A agent switch default
ok_if "the daemon survived all of it" bash -c "$A status >/dev/null"
echo "1..$_tap_n"
