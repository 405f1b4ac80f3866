#!/usr/bin/env bash
# `make run`, the main job: a throw-away home, `astrid init` with the
# default distro (distros/astralis), one agent turn that reads a file
# through the fs tool and writes a note after an approval (answered by
# -y), then the answer, the tool calls, the audit entries of that turn and
# `astrid ps`; the daemon is stopped and the home removed at the end.
#
# The model: tools/mockllm/server.js on a free local port, unless a real
# provider is configured (OPENAI_API_KEY, ANTHROPIC_API_KEY, or
# OPENAI_BASE_URL for a local OpenAI-compatible server). KEEP_HOME=1 keeps
# the home (its path is printed).
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
A=$(cd "$build/bin" && pwd)/astrid
tmp=$(mktemp -d "${TMPDIR:-/tmp}/astrid-run.XXXXXX")
export ASTRID_HOME=$tmp/home
unset ASTRID_NO_AUTO_INIT
work=$tmp/work
mkdir -p "$work"
cp "$src/README.md" "$work/README.md"
mock_pid=
cleanup() {
  "$A" stop >/dev/null 2>&1 || true
  [[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null || true
  if [[ -n ${KEEP_HOME:-} ]]; then echo "(home kept: $ASTRID_HOME)"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

"$A" version
first=$(head -n 1 "$work/README.md")
vars=()
provider=openai
if [[ -n ${ANTHROPIC_API_KEY:-} && -z ${OPENAI_API_KEY:-} ]]; then
  provider=anthropic
  vars+=(--var "anthropic_api_key=$ANTHROPIC_API_KEY")
  [[ -n ${ANTHROPIC_BASE_URL:-} ]] && vars+=(--var "anthropic_base_url=$ANTHROPIC_BASE_URL")
  echo "== model: Anthropic (ANTHROPIC_API_KEY is set)"
elif [[ -n ${OPENAI_API_KEY:-} || -n ${OPENAI_BASE_URL:-} ]]; then
  [[ -n ${OPENAI_API_KEY:-} ]] && vars+=(--var "openai_api_key=$OPENAI_API_KEY")
  [[ -n ${OPENAI_BASE_URL:-} ]] && vars+=(--var "openai_base_url=$OPENAI_BASE_URL")
  [[ -n ${OPENAI_MODEL:-} ]] && vars+=(--var "openai_model=$OPENAI_MODEL")
  echo "== model: OpenAI-compatible (${OPENAI_BASE_URL:-https://api.openai.com})"
else
  # The local model server plays the turn: read README.md, write a note
  # (this asks an approval), answer.
  node -e '
    const first = process.argv[1];
    console.log(JSON.stringify([
      {text: "Let me read the README.", tool_calls: [{name: "read_file", arguments: {path: "README.md"}}]},
      {text: "Saving a note.", tool_calls: [{name: "write_file", arguments: {path: "NOTES.md", content: "README.md starts with: " + first + "\n"}}]},
      {text: "README.md starts with \"" + first + "\"; I saved that line in NOTES.md."}
    ]));' "$first" >"$tmp/script.json"
  node "$src/tools/mockllm/server.js" --port 0 --script "$tmp/script.json" \
    --record "$tmp/mockllm.jsonl" >"$tmp/mockllm.out" 2>&1 &
  mock_pid=$!
  for _ in $(seq 100); do grep -q '^listening ' "$tmp/mockllm.out" && break; sleep 0.1; done
  port=$(awk '/^listening /{print $2}' "$tmp/mockllm.out")
  [[ -n $port ]] || { echo "make run: the local model server did not start" >&2; cat "$tmp/mockllm.out" >&2; exit 1; }
  vars+=(--var "openai_base_url=http://127.0.0.1:$port" --var openai_model=mock-model)
  # The daemon refuses loopback addresses to capsules unless told.
  export ASTRID_ALLOW_LOCAL_IPS=1
  echo "== model: the local model server (tools/mockllm) on 127.0.0.1:$port"
fi

echo "== start (home $ASTRID_HOME, workspace $work)"
# The daemon's working directory is the fs tool's cwd://.
(cd "$work" && ASTRID_NO_AUTO_INIT=1 "$A" start)
echo "== astrid init --yes"
if [[ $provider == anthropic ]]; then
  # The llm group is answered on stdin: 2 = anthropic.
  printf '2\n' | "$A" init "${vars[@]}" --var anthropic_model="${ANTHROPIC_MODEL:-claude-sonnet-4-5}" \
    --var anthropic_base_url="${ANTHROPIC_BASE_URL:-https://api.anthropic.com}" \
    --var anthropic_temperature= --var anthropic_max_tokens=4096
else
  "$A" init --yes "${vars[@]}"
fi
"$A" distro show

since=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
prompt="Read README.md, then save its first line in NOTES.md."
echo "== astrid run -y \"$prompt\""
out=$("$A" run -y --format json "$prompt")
node -e '
  const d = JSON.parse(process.argv[1]);
  for (const t of d.tool_calls || []) {
    const c = String(t.content || "").split("\n")[0].slice(0, 100);
    console.log(`tool call: ${t.tool_name} ${JSON.stringify(t.arguments)} -> ${t.is_error ? "error" : "ok"}: ${c}`);
  }
  for (const a of d.approvals || []) console.log(`approval: ${JSON.stringify(a)}`);
  console.log(`answer: ${d.response}`);' "$out"
# The agent's write sits in its copy-on-write overlay of the workspace
# (docs/capsules.md "The workspace overlay") until the operator commits it.
echo "== the agent's pending workspace changes, then the operator's commit"
"$A" workspace diff -a default
"$A" workspace commit -a default
if [[ -f $work/NOTES.md ]]; then
  echo "NOTES.md (written after the approval, committed): $(cat "$work/NOTES.md")"
fi
echo "== audit entries of the turn"
"$A" audit show --since "$since" --limit 40
echo "== astrid ps"
"$A" ps
echo "== stop"
"$A" stop
