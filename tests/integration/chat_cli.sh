#!/usr/bin/env bash
# The chat CLI against a scripted agent (tests/capsules/fakeagent, speaking
# the chat contract's topics): headless `astrid run` / `-p` / piped stdin,
# --format json, --session NAME resuming across processes and the UUID of
# --print-session round-tripping, exit 53 on silence, exit 1 on an LLM
# error, answers for another session ignored, `session list|show|delete`,
# and the interactive TUI driven under tmux.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
TMUX_SOCK=chatcli-$$
CLEANUP_EXTRA='tmux -L $TMUX_SOCK kill-server >/dev/null 2>&1'

build_capsule "$ASTRID_SRC/tests/capsules/fakeagent"
ok_if "install fakeagent" bash -c "$A capsule install '$O/fakeagent.capsule' >/dev/null 2>&1"
ok_if "start" $A start
# Before any chat: a new agent starts from a copy of default's capsule state.
ok_if "agent create bob" bash -c "$A agent create bob >/dev/null 2>&1"
E=$TEST_TMP/stderr

# --- headless prompts
out=$($A run "hello there" 2>"$E"); rc=$?
expect_eq "astrid run PROMPT exits 0" "$rc" "0"
expect_eq "  prints the streamed answer once" "$out" "Hello from fakeagent; turn 1: hello there"
out=$(printf 'from stdin\n' | $A -p "and the flag" 2>"$E"); rc=$?
expect_eq "-p with piped stdin exits 0" "$rc" "0"
expect_eq "  the prompt is stdin, a blank line, then -p" "$out" "$(printf 'Hello from fakeagent; turn 1: from stdin\n\nand the flag')"
out=$(printf 'only stdin\n' | $A 2>"$E"); rc=$?
expect_eq "bare astrid with piped stdin is headless" "$rc,$out" "0,Hello from fakeagent; turn 1: only stdin"
out=$($A run "   " </dev/null 2>&1); rc=$?
ok_if "a blank prompt is refused (exit 1)" bash -c "[[ $rc == 1 && '$out' == *'no prompt'* ]]"
out=$($A agent list -p hi 2>&1); rc=$?
ok_if "-p with a verb is a usage error" bash -c "[[ $rc == 1 && \"\$1\" == *'-p/--prompt'* ]]" _ "$out"

# --- --format json
out=$($A -p "use a tool" --format json 2>"$E"); rc=$?
expect_eq "--format json exits 0" "$rc" "0"
expect_eq "  response" "$(j 'd["response"]' <<<"$out")" "Hello from fakeagent; turn 1: use a tool"
expect_eq "  tool_calls (name, arguments, result)" \
  "$(j 'd["tool_calls"][0]["tool_name"]+" "+d["tool_calls"][0]["arguments"]["path"]+" "+d["tool_calls"][0]["content"].split(chr(10))[0]+" "+str(d["tool_calls"][0]["is_error"])' <<<"$out")" \
  "read_file README.md # Astrid False"
expect_eq "  usage" "$(j 'str(d["usage"]["input_tokens"])+"/"+str(d["usage"]["output_tokens"])+" "+d["usage"]["model"]' <<<"$out")" "10/5 fake-1"
ok_if "  session_id is a fresh UUID v4" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$(j 'd["session_id"]' <<<"$out")"
out=$($A run "use a tool" 2>"$E")
ok_if "pretty: tool activity goes to stderr" bash -c "grep -q 'tool read_file started' '$E' && grep -q 'tool read_file finished' '$E'"
expect_eq "  and stdout holds only the answer" "$out" "Hello from fakeagent; turn 1: use a tool"

# --- sessions across processes
want=$(python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "my-work"))')
out=$($A run "first" --session my-work --print-session 2>"$E")
expect_eq "--session NAME: first turn" "$out" "Hello from fakeagent; turn 1: first"
expect_eq "--print-session prints the UUID v5 of the name on stderr" "$(cat "$E")" "[headless] Session: $want"
out=$($A -p "second" --session my-work 2>"$E")
expect_eq "a second process resumes the named session" "$out" "Hello from fakeagent; turn 2: second"
upper=$(tr 'a-f' 'A-F' <<<"$want")
out=$($A run "third" --session "$upper" --print-session 2>"$E")
expect_eq "the printed UUID round-trips through --session (any case)" "$out" "Hello from fakeagent; turn 3: third"
expect_eq "  and is used verbatim" "$(cat "$E")" "[headless] Session: $want"
out=$($A run "other" --session other-work 2>"$E")
expect_eq "another name is another session" "$out" "Hello from fakeagent; turn 1: other"

# --- failures
out=$(ASTRID_HEADLESS_TIMEOUT_SECS=1 $A run "stay silent" 2>"$E"); rc=$?
expect_eq "silence: exit 53" "$rc" "53"
ok_if "  saying it timed out" grep -q '^\[headless\] Timed out waiting for response (1s)$' "$E"
out=$(ASTRID_HEADLESS_TIMEOUT_SECS=soon $A run hi 2>&1); rc=$?
ok_if "a malformed ASTRID_HEADLESS_TIMEOUT_SECS is refused" bash -c "[[ $rc == 1 && \"\$1\" == *'ASTRID_HEADLESS_TIMEOUT_SECS'* ]]" _ "$out"
out=$($A run "please fail" 2>"$E"); rc=$?
expect_eq "LLM error: exit 1" "$rc" "1"
ok_if "  with the provider's text on stderr" grep -q 'LLM error: provider exploded (HTTP 500)' "$E"
out=$($A run "please fail" --format json 2>/dev/null)
expect_eq "  --format json still reports it" "$(j 'str(d["error"])+" "+d["response"]' <<<"$out")" "True LLM error: provider exploded (HTTP 500)"
out=$($A run "decoy" 2>"$E"); rc=$?
expect_eq "an answer for another session is ignored" "$rc,$out" "0,Hello from fakeagent; turn 1: decoy"
ok_if "-y is accepted by run and by bare astrid" bash -c "$A run hi -y >/dev/null 2>&1 && $A -y -p hi >/dev/null 2>&1"

# --- session verbs
out=$($A session list 2>&1)
ok_if "session list shows the named session with its title" grep -Eq "^$want +6 .* first\$" <<<"$out"
out=$($A session list --format json)
expect_eq "session list --format json" "$(j 'sorted(s["messages"] for s in d if s["session_id"]=="'"$want"'")[0]' <<<"$out")" "6"
out=$($A session show my-work)
ok_if "session show NAME prints the transcript" bash -c "grep -q '^user: second$' <<<\"\$1\" && grep -q '^assistant: Hello from fakeagent; turn 3: third$' <<<\"\$1\"" _ "$out"
out2=$($A session info "$want")
expect_eq "session info UUID is the same transcript" "$out2" "$out"
out=$($A session delete my-work); rc=$?
expect_eq "session delete" "$rc,$out" "0,Deleted session $want."
out=$($A session show my-work 2>&1); rc=$?
expect_eq "  the deleted session has no messages (exit 1)" "$rc" "1"
out=$($A session delete my-work 2>&1); rc=$?
ok_if "  deleting it again: exit 1 naming it" bash -c "[[ $rc == 1 && \"\$1\" == *'no session $want'* ]]" _ "$out"
out=$($A run "fresh start" --session my-work)
expect_eq "  a new turn on the name starts over" "$out" "Hello from fakeagent; turn 1: fresh start"

# --- the TUI under tmux
if ! command -v tmux >/dev/null; then
  for n in prompt stream tool model ctrl-c exit; do skip "tui $n" "tmux not installed"; done
  echo "1..$_tap_n"; exit 0
fi
T() { tmux -L "$TMUX_SOCK" "$@"; }
screen() { T capture-pane -t chat -p -J; }
# wait_for TEXT: poll the screen (up to 15 s) until it shows TEXT.
wait_for() { for _ in $(seq 150); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done; screen >&2; return 1; }
T -f /dev/null new-session -d -s chat -x 110 -y 30 \
  "env ASTRID_HOME='$ASTRID_HOME' NO_COLOR=1 TERM=xterm-256color $A chat; echo \"CHAT EXITED rc=\$?\"; sleep 60"
ok_if "tui: starts with the status line" wait_for "session "
T send-keys -t chat "use a tool now" Enter
ok_if "tui: the streamed answer appears" wait_for "Hello from fakeagent; turn 1: use a tool now"
ok_if "tui: the tool call is shown finished, result folded" wait_for '✓ read_file {"path":"README.md"} → # Astrid… (+2 lines)'
ok_if "tui: status line counts the tokens" wait_for "tokens 10 in / 5 out"
T send-keys -t chat C-o
ok_if "tui: Ctrl-O unfolds the tool result" wait_for "line three"
T send-keys -t chat "/models" Enter
ok_if "tui: /models lists the provider's models" wait_for "fake/fake-2"
T send-keys -t chat "/model fake-2" Enter
ok_if "tui: /model switches (status line shows it)" wait_for "model fake/fake-2 "
T send-keys -t chat "stay silent" Enter
ok_if "tui: busy while the agent answers" wait_for "thinking…"
T send-keys -t chat C-c
ok_if "tui: Ctrl-C cancels the turn (the agent got cancel_turn)" wait_for "Turn cancelled."
T send-keys -t chat "/session" Enter
sid=$(screen | grep -o 'session [0-9a-f-]\{36\} (resume' | head -1 | cut -d' ' -f2)
ok_if "tui: /session shows the session id" test -n "$sid"
T send-keys -t chat C-c
T send-keys -t chat C-c
ok_if "tui: a second Ctrl-C exits cleanly" wait_for "CHAT EXITED rc=0"
out=$($A session show "$sid" 2>&1)
ok_if "tui: its session is stored under the id it showed" grep -q '^user: use a tool now$' <<<"$out"
T kill-session -t chat
T -f /dev/null new-session -d -s chat -x 110 -y 30 \
  "env ASTRID_HOME='$ASTRID_HOME' NO_COLOR=1 TERM=xterm-256color $A chat -s '$sid'; echo \"CHAT EXITED rc=\$?\"; sleep 60"
ok_if "tui: -s resumes the session with its history" wait_for "resumed session $sid"
ok_if "  showing the earlier prompt" wait_for "> use a tool now"
T send-keys -t chat "/clear" Enter
ok_if "tui: /clear clears the session's history" wait_for "session history cleared"
ok_if "  (the store has no messages for it)" bash -c "! $A session show '$sid' >/dev/null 2>&1"
T send-keys -t chat "/agent bob" Enter
ok_if "tui: /agent bob switches the agent" wait_for "now talking to agent bob"
ok_if "  the status line names bob" wait_for " bob │ model"
T send-keys -t chat "hello as bob" Enter
ok_if "  bob's own first turn" wait_for "Hello from fakeagent; turn 1: hello as bob"
T send-keys -t chat "/models" Enter
ok_if "  bob (no system:bus) may ask the registry: /models" wait_for "fake/fake-2"
T send-keys -t chat "/quit" Enter
ok_if "tui: /quit exits" wait_for "CHAT EXITED rc=0"
T kill-session -t chat

# --- chat starts an ephemeral daemon when none runs, and stops it on exit
$A stop >/dev/null 2>&1
for _ in $(seq 100); do $A status >/dev/null 2>&1 || break; sleep 0.1; done
ok_if "no daemon runs" bash -c "! $A status >/dev/null 2>&1"
T -f /dev/null new-session -d -s chat -x 110 -y 30 \
  "env ASTRID_HOME='$ASTRID_HOME' NO_COLOR=1 TERM=xterm-256color $A chat; echo \"CHAT EXITED rc=\$?\"; sleep 60"
ok_if "tui: chat started one" wait_for "│ ready"
ok_if "  it answers" bash -c "$A status >/dev/null"
T send-keys -t chat "/quit" Enter
ok_if "tui: /quit" wait_for "CHAT EXITED rc=0"
gone() { for _ in $(seq 100); do $A status >/dev/null 2>&1 || return 0; sleep 0.1; done; return 1; }
ok_if "  and the daemon chat started is stopped (not left idling 30 s)" gone
echo "1..$_tap_n"
