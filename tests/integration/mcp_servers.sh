#!/usr/bin/env bash
# MCP capsules (docs/mcp.md) against real servers from the npm registry,
# installed by `make deps` into tests/npm (pinned by its lockfile; nothing is
# fetched here): a capsule wrapping @modelcontextprotocol/server-filesystem
# installs with `astrid capsule install`, its tools answer
# `astrid bus request tool.v1.execute.<tool>` as two agents, each getting
# only its own answer; /etc/passwd is refused (outside the allowed dir and
# outside the sandbox); server-memory keeps state across calls, and comes
# back after kill -9; a hostile scripted server (oversized frames, garbage,
# unknown ids) leaves the daemon serving; ps shows the servers.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
NPM=$ASTRID_SRC/tests/npm/node_modules/@modelcontextprotocol
if [[ ! -f $NPM/server-filesystem/dist/index.js || ! -f $NPM/server-memory/dist/index.js ]] ||
   ! command -v node >/dev/null; then
  echo "1..1"; skip "MCP servers" "tests/npm not installed (run make deps) or node missing"; exit 0
fi
as() { $A agent switch "$1" >/dev/null; }
# call TOOL ARGS_JSON [CALL_ID]: one tool_execute_request through the bus
call() {
  $A bus request "tool.v1.execute.$1" \
    "{\"type\":\"tool_execute_request\",\"call_id\":\"${3:-c1}\",\"tool_name\":\"$1\",\"arguments\":$2}" \
    --reply "tool.v1.execute.$1.result" --timeout 30 2>&1
}
res() { j 'd["payload"]["result"]["'"$1"'"] if "payload" in d else d["result"]["'"$1"'"]'; }
ps_json() { $A ps --format json 2>/dev/null; }
# wait_state CAPSULE STATE: until ps shows every server of CAPSULE in STATE (30 s)
wait_state() {
  for _ in $(seq 150); do
    [[ $(ps_json | j "all(s['state']=='$2' for c in d if c['name']=='$1' for s in c.get('mcp_servers',[])) and any(c['name']=='$1' for c in d)") == True ]] && return 0
    sleep 0.2
  done
  return 1
}

DATA=$TEST_TMP/data && mkdir -p "$DATA" && echo "hello from alice's dir" > "$DATA/hello.txt"
MEM=$TEST_TMP/mem && mkdir -p "$MEM"
FS=$TEST_TMP/mcp-fs && mkdir -p "$FS"
cat > "$FS/Capsule.toml" <<TOML
[package]
name = "mcp-fs"
version = "0.1.0"
description = "server-filesystem confined to one directory"

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
MM=$TEST_TMP/mcp-memory && mkdir -p "$MM"
cat > "$MM/Capsule.toml" <<TOML
[package]
name = "mcp-memory"
version = "0.1.0"

[capabilities]
host_process = ["node"]
fs_read = ["$ASTRID_SRC/tests/npm/node_modules"]

[env]
MEMORY_FILE_PATH = { type = "string", default = "\${state_dir}/memory.jsonl" }

[[mcp_server]]
id = "memory"
type = "stdio"
command = "node"
args = ["$NPM/server-memory/dist/index.js"]
per_principal = true
TOML

ok_if "start" $A start
out=$($A capsule install "$FS" 2>&1); rc=$?
expect_eq "mcp-fs (no wasm component) installs" "$rc" "0"
ok_if "  Installed line" grep -q "^Installed mcp-fs 0.1.0 (MCP servers only) into " <<<"$out"
ok_if "  its server comes up" wait_state mcp-fs running
r=$(ps_json)
expect_eq "ps: one shared fs server, 14 tools, pid > 0, sandboxed" \
  "$(j '[(s["id"], s["shared"], s["tools"], s["pid"] > 0, s["sandboxed"], s["restarts"]) for c in d if c["name"]=="mcp-fs" for s in c["mcp_servers"]]' <<<"$r")" \
  "[('fs', True, 14, True, True, 0)]"
out=$($A ps 2>&1)
ok_if "  pretty ps names it" grep -q "fs pid [0-9]* running, 0 restarts, 14 tools" <<<"$out"

ok_if "agent create alice" $A agent create alice
ok_if "agent create bob" $A agent create bob
ok_if "  both may use the bus" bash -c "$A caps grant alice system:bus >/dev/null && $A caps grant bob system:bus >/dev/null"

r=$($A bus request tool.v1.request.describe '{}' --timeout 20 2>&1)
expect_eq "describe lists the fs tools with input_schema" \
  "$(j '(len(d["payload"]["tools"]) if "payload" in d else len(d["tools"]))' <<<"$r")" "14"

as alice
r=$(call read_text_file "{\"path\":\"$DATA/hello.txt\"}" alice-1)
expect_eq "alice reads a file in the allowed dir" "$(res content <<<"$r")" "hello from alice's dir"
expect_eq "  call_id comes back" "$(res call_id <<<"$r")" "alice-1"
expect_eq "  not an error" "$(res is_error <<<"$r")" "False"
r=$(call read_text_file '{"path":"/etc/passwd"}' alice-2)
expect_eq "/etc/passwd is refused (is_error)" "$(res is_error <<<"$r")" "True"
ok_if "  by the server's allowed-directory check" grep -qi "denied\|outside\|not allowed" <<<"$(res content <<<"$r")"
ok_if "  and no line of /etc/passwd leaks" bash -c "! grep -q 'root:' <<<'$r'"
as bob
r=$(call write_file "{\"path\":\"$DATA/bob.txt\",\"content\":\"bob was here\"}" bob-1)
expect_eq "bob writes through the same server" "$(res is_error <<<"$r")" "False"
expect_eq "  the file is on the host" "$(cat "$DATA/bob.txt" 2>/dev/null)" "bob was here"

# two agents at once, each watching every tool topic: neither sees the
# other's answer (the CLI reads its agent at connect: a pause after each
# background start lets it connect before the next switch)
as alice
$A bus watch 'tool.v1.execute.*' > "$TEST_TMP/alice.watch" 2>/dev/null & WA=$!
sleep 0.7
as bob
$A bus watch 'tool.v1.execute.*' > "$TEST_TMP/bob.watch" 2>/dev/null & WB=$!
CLEANUP_EXTRA="kill $WA $WB 2>/dev/null"
sleep 0.7
as alice
call get_file_info "{\"path\":\"$DATA/hello.txt\"}" A-ONLY > "$TEST_TMP/ra" & CA=$!
sleep 0.7
as bob; rb=$(call list_allowed_directories '{}' B-ONLY)
wait $CA
sleep 0.5
kill $WA $WB 2>/dev/null
expect_eq "alice's answer is hers" "$(res call_id < "$TEST_TMP/ra")" "A-ONLY"
expect_eq "bob's answer is his" "$(res call_id <<<"$rb")" "B-ONLY"
# (requests are ordinary broadcasts, seen by any system:bus watcher; the
# results are addressed to the asking connection)
ok_if "  bob's watcher saw alice's request but never her result" bash -c "grep -q '\"tool.v1.execute.get_file_info\"' '$TEST_TMP/bob.watch' && ! grep -q 'get_file_info.result' '$TEST_TMP/bob.watch'"
ok_if "  alice's watcher never saw bob's result" bash -c "! grep -q 'list_allowed_directories.result' '$TEST_TMP/alice.watch'"

# unknown principal-less or private access: an unadmitted (disabled) agent
as default
ok_if "disable bob" $A agent disable bob
as bob
r=$(call list_allowed_directories '{}' B-2)
ok_if "  a disabled agent gets nothing run" bash -c "[[ \"\$(res is_error <<<'$r' 2>/dev/null)\" != False ]]"
as default
$A agent enable bob >/dev/null 2>&1

# ---- server-memory: per-principal servers keep state across calls
out=$($A capsule install "$MM" 2>&1); rc=$?
expect_eq "mcp-memory installs" "$rc" "0"
ok_if "  its owner's server comes up" wait_state mcp-memory running
as alice
r=$(call create_entities '{"entities":[{"name":"astrid","entityType":"os","observations":["written by alice"]}]}' m1)
expect_eq "alice stores an entity" "$(res is_error <<<"$r")" "False"
r=$(call read_graph '{}' m2)
ok_if "  a later call sees it (state kept)" grep -q "written by alice" <<<"$(res content <<<"$r")"
as bob
r=$(call read_graph '{}' m3)
ok_if "bob's own memory server does not see alice's graph" bash -c "! grep -q 'written by alice' <<<'$(res content <<<"$r")'"
ok_if "  alice's state lives in her home" test -s "$ASTRID_HOME/home/alice/.local/mcp/mcp-memory/memory.jsonl"
r=$(ps_json)
expect_eq "ps: memory servers for default, alice, bob" \
  "$(j 'sorted(s["principal"] for c in d if c["name"]=="mcp-memory" for s in c["mcp_servers"])' <<<"$r")" "['alice', 'bob', 'default']"

# ---- kill -9: restarted (2 s backoff), calls work, health.failed published
pid=$(ps_json | j '[s["pid"] for c in d if c["name"]=="mcp-memory" for s in c["mcp_servers"] if s["principal"]=="alice"][0]')
as default
$A bus watch 'astrid.v1.health.failed' > "$TEST_TMP/health.watch" 2>/dev/null & WH=$!
CLEANUP_EXTRA="kill $WH 2>/dev/null"
sleep 0.5
ok_if "kill -9 alice's memory server (pid $pid)" kill -9 "$pid"
for _ in $(seq 100); do
  [[ $(ps_json | j '[s["restarts"] for c in d if c["name"]=="mcp-memory" for s in c["mcp_servers"] if s["principal"]=="alice"][0]') == 1 ]] && break
  sleep 0.1
done
as alice
r=$(call read_graph '{}' m4)
ok_if "  after the restart alice's graph is still there" grep -q "written by alice" <<<"$(res content <<<"$r")"
r=$(ps_json)
expect_eq "  ps: 1 restart, running, a new pid" \
  "$(j '[(s["restarts"], s["state"], s["pid"] != '"$pid"') for c in d if c["name"]=="mcp-memory" for s in c["mcp_servers"] if s["principal"]=="alice"]' <<<"$r")" \
  "[(1, 'running', True)]"
kill $WH 2>/dev/null
ok_if "  astrid.v1.health.failed named the capsule and why" grep -q '"capsule_id":"mcp-memory".*killed by signal 9' "$TEST_TMP/health.watch"

# ---- astrid capsule build --from-mcp-json
as default
MJ=$TEST_TMP/mj && mkdir -p "$MJ"
cat > "$MJ/mcp.json" <<'JSON'
{"mcpServers": {
  "Memory Server": {"command": "node", "args": ["/opt/x/index.js", "a \"quoted\"\nline", "[[x]]"],
                    "env": {"MEMORY_FILE_PATH": "/tmp/m.json", "API_KEY": "sk-not-copied"}},
  "remote": {"url": "https://example.com/mcp"}}}
JSON
out=$(cd "$MJ" && $A capsule build --from-mcp-json mcp.json --server "Memory Server" 2>&1); rc=$?
expect_eq "from-mcp-json: a server name with a space is refused" "$rc" "1"
ok_if "  naming the rule" grep -q "server name \"Memory Server\" must be" <<<"$out"
sed -i 's/"Memory Server"/"memory"/' "$MJ/mcp.json"
out=$(cd "$MJ" && $A capsule build --from-mcp-json mcp.json 2>&1); rc=$?
expect_eq "from-mcp-json converts the stdio server (the url one skipped)" "$rc" "0"
ok_if "  into dist/memory/Capsule.toml" grep -q "^Wrote dist/memory/Capsule.toml (capsule memory)" <<<"$out"
T=$MJ/dist/memory/Capsule.toml
ok_if "  command in host_process, an [[mcp_server]] stdio entry" bash -c "grep -q '^host_process = \[\"node\"\]' '$T' && grep -q '^type = \"stdio\"' '$T' && grep -q '^command = \"node\"' '$T'"
ok_if "  env keys become secrets, values not copied" bash -c "grep -q '^API_KEY = { type = \"secret\"' '$T' && ! grep -q sk-not-copied '$T'"
ok_if "  quotes, newlines and brackets in args stay inside one string" grep -q '^args = \["/opt/x/index.js", "a \\"quoted\\"\\u000aline", "\[\[x\]\]"\]$' "$T"
out=$($A capsule install "$MJ/dist/memory" 2>&1); rc=$?
expect_eq "  the converted capsule installs" "$rc" "0"
$A capsule remove memory >/dev/null 2>&1
out=$(cd "$MJ" && $A capsule build --from-mcp-json mcp.json --server nope -o "$MJ/o2" 2>&1); rc=$?
expect_eq "  --server naming no server: exit 1, nothing written" "$rc$(test -e "$MJ/o2" && echo ' wrote')" "1"
ok_if "  the error lists the servers" grep -q "servers: memory, remote" <<<"$out"

# ---- a hostile server: oversized frames, garbage, unknown ids
as default
HS=$TEST_TMP/mcp-hostile && mkdir -p "$HS"
cp "$ASTRID_SRC/tests/mcp/fake_server.js" "$HS/"
cat > "$HS/Capsule.toml" <<TOML
[package]
name = "mcp-hostile"
version = "0.1.0"

[capabilities]
host_process = ["node"]
fs_read = ["$HS"]

[[mcp_server]]
id = "hostile"
type = "stdio"
command = "node"
args = ["$HS/fake_server.js", "hostile"]
TOML
ok_if "the hostile capsule installs" bash -c "$A capsule install '$HS' >/dev/null 2>&1"
ok_if "  its server comes up despite the noise" wait_state mcp-hostile running
r=$(call echo '{"x":42}' h1)
expect_eq "  its echo still answers" "$(res content <<<"$r")" '{"x":42}'
r=$(ps_json)
ok_if "  the noise is counted (protocol_errors)" test "$(j '[s["protocol_errors"] for c in d if c["name"]=="mcp-hostile" for s in c["mcp_servers"]][0]' <<<"$r")" -ge 10
# a server that ignores any allowed directory: the sandbox is what stops it
echo planted > "$HOME/.astrid-mcp-test-secret-$$" 2>/dev/null
CLEANUP_EXTRA="rm -f '$HOME/.astrid-mcp-test-secret-$$'"
r=$(call readfile "{\"path\":\"$HS/Capsule.toml\"}" h2)
ok_if "sandbox: the server reads its own capsule dir (control)" grep -q 'name = \"mcp-hostile\"' <<<"$(res content <<<"$r")"
r=$(call readfile "{\"path\":\"$ASTRID_HOME/keys/runtime.key\"}" h3)
expect_eq "  but not \$ASTRID_HOME/keys/runtime.key" "$(res is_error <<<"$r")/$(res content <<<"$r")" "True/ENOENT"
r=$(call readfile "{\"path\":\"$HOME/.astrid-mcp-test-secret-$$\"}" h4)
expect_eq "  nor a file planted in \$HOME" "$(res is_error <<<"$r")/$(res content <<<"$r")" "True/ENOENT"
r=$(call readfile '{"path":"/etc/shadow"}' h5)
expect_eq "  nor /etc/shadow" "$(res is_error <<<"$r")/$(res content <<<"$r")" "True/ENOENT"
r=$(call readfile "{\"path\":\"$DATA/hello.txt\"}" h6)
expect_eq "  nor another capsule's allowed dir" "$(res is_error <<<"$r")/$(res content <<<"$r")" "True/ENOENT"
as alice
r=$(call read_text_file "{\"path\":\"$DATA/hello.txt\"}" after)
expect_eq "  the daemon and the other servers serve on" "$(res content <<<"$r")" "hello from alice's dir"
ok_if "  the log names the oversized frame" grep -q "exceeds the 16 MiB limit" "$ASTRID_HOME"/log/astrid.*.log
echo "1..$_tap_n"
