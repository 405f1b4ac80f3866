#!/usr/bin/env bash
# Load and soak (issue #18 point 3; docs/testing.md "Load and soak").
#   bash bench/load.sh              load: LOAD_CLIENTS (100) x LOAD_REQUESTS (1000)
#   bash bench/load.sh --soak SECS  soak: LOAD_CLIENTS (default 8 here) for SECS
# Sets up a throw-away home: the daemon, the loadctr test capsule, agents
# load-0..load-N (LOAD_AGENTS, 20) and, when node is present, the local
# model server with the chat capsules (openai-compat pointed at it), then
# runs $ASTRID_BUILD/bench/loadgen (bench/loadgen.c), which drives the mix,
# reports latencies and checks counters and grants. Afterwards: the daemon
# stopped, every audit chain verified, the daemon started again and the
# counters and grants checked once more (they must have survived the
# restart). Prints TAP lines for the checks; exits 1 when one fails.
set -u
SOAK=
if [[ ${1:-} == --soak ]]; then SOAK=${2:?--soak SECONDS}; fi
: "${ASTRID_SRC:=$(cd "$(dirname "$0")/.." && pwd)}" "${ASTRID_BUILD:=$ASTRID_SRC/build}"
B=$ASTRID_BUILD/bin
LG=$ASTRID_BUILD/bench/loadgen
AGENTS=${LOAD_AGENTS:-20}
[[ -n $SOAK ]] && export LOAD_CLIENTS=${LOAD_CLIENTS:-8}
export LOAD_AGENTS=$AGENTS
T=$(mktemp -d "${TMPDIR:-/tmp}/astrid-load.XXXXXX")
export ASTRID_HOME=$T/home ASTRID_ALLOW_LOCAL_IPS=1 ASTRID_SDK=$ASTRID_SRC/sdk/c NO_COLOR=1
export ASTRID_NO_AUTO_INIT=1
MOCK=
cleanup() {
  "$B/astrid" stop >/dev/null 2>&1
  [[ -n $MOCK ]] && kill "$MOCK" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
failed=0
tap() { # tap OK|FAIL NAME
  if [[ $1 == OK ]]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
die() { echo "not ok - load setup: $*"; exit 1; }
[[ -x $LG ]] || die "$LG missing (make $ASTRID_BUILD/bench/loadgen)"
mkdir -p "$T/out" "$T/src" "$T/ws"
"$B/astrid-build" "$ASTRID_SRC/tests/capsules/loadctr" -o "$T/out" >/dev/null 2>&1 ||
  die "astrid-build tests/capsules/loadctr failed"
CAPS=("$T/out/loadctr.capsule")

export LOAD_CHAT=0
if [[ ${LOAD_CHAT_OFF:-0} != 1 ]] && command -v node >/dev/null; then
  node "$ASTRID_SRC/tools/mockllm/server.js" --port 0 >"$T/mock.out" 2>&1 &
  MOCK=$!
  for _ in $(seq 100); do grep -q '^listening ' "$T/mock.out" && break; sleep 0.1; done
  PORT=$(awk '/^listening /{print $2}' "$T/mock.out")
  [[ -n $PORT ]] || die "the model server did not start"
  cp -r "$ASTRID_SRC/capsules/openai-compat" "$ASTRID_SRC/capsules/common" "$T/src/"
  sed -i "s#^base_url = { type = \"string\", default = \"[^\"]*\"#base_url = { type = \"string\", default = \"http://127.0.0.1:$PORT\"#; s#^model = { type = \"string\", default = \"[^\"]*\"#model = { type = \"string\", default = \"mock-model\"#" \
    "$T/src/openai-compat/Capsule.toml"
  OC=$("$B/astrid-build" "$T/src/openai-compat" -o "$T/out" 2>/dev/null | tail -n 1)
  [[ -f $OC ]] || die "astrid-build openai-compat failed"
  CAPS+=("$OC")
  for c in registry react session identity prompt-builder router context-engine; do
    CAPS+=("$ASTRID_BUILD/capsules/$c.capsule")
  done
  export LOAD_CHAT=1
fi

cd "$T/ws" || exit 1
"$B/astrid" start >/dev/null 2>&1 || die "the daemon did not start"
for c in "${CAPS[@]}"; do
  "$B/astrid" capsule install "$c" >"$T/install.out" 2>&1 ||
    die "capsule install $(basename "$c") failed: $(tail -n 1 "$T/install.out")"
done
for ((i = 0; i < AGENTS; i++)); do
  "$B/astrid" agent create "load-$i" >/dev/null 2>&1 || die "agent create load-$i failed"
  if [[ $LOAD_CHAT == 1 ]]; then
    "$B/astrid" caps grant "load-$i" network:egress:127_0_0_1 >/dev/null 2>&1 || die "egress grant failed"
  fi
done
PID=$(tr -dc '0-9' <"$ASTRID_HOME/run/daemon.lock")
args=("$ASTRID_HOME" --expect "$T/expect.json")
[[ -n $SOAK ]] && args+=(--soak "$SOAK" --pid "$PID")
"$LG" "${args[@]}"
[[ $? -eq 0 ]] || failed=1

"$B/astrid" stop >/dev/null 2>&1
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
bad=
for a in default $(seq -f 'load-%g' 0 $((AGENTS - 1))); do
  "$B/astrid" audit verify -a "$a" >"$T/verify.out" 2>&1 || bad+="$a: $(tail -n 1 "$T/verify.out") "
done
if [[ -z $bad ]]; then tap OK "after the run: every agent's audit chain verifies"
else tap FAIL "after the run: every agent's audit chain verifies ($bad)"; fi
if [[ -f $T/expect.json ]]; then
  "$B/astrid" start >/dev/null 2>&1 || die "the daemon did not start again"
  echo "# after a restart:"
  "$LG" "$ASTRID_HOME" --verify "$T/expect.json" || failed=1
  # The checks above can fail: one increment more than answered and a grant
  # never made must each be reported.
  python3 - "$T/expect.json" "$T/wrong.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["counters"]["shared"] += 1
e["grants"].setdefault("load-0", []).append("load:never-granted")
json.dump(e, open(sys.argv[2], "w"))
PY
  "$LG" "$ASTRID_HOME" --verify "$T/wrong.json" >"$T/wrong.out" 2>&1
  if [[ $? -eq 1 && $(grep -c '^not ok' "$T/wrong.out") -eq 2 ]]; then
    tap OK "the checks fail on a lost increment and a lost grant"
  else
    tap FAIL "the checks fail on a lost increment and a lost grant: $(tr '\n' ' ' <"$T/wrong.out")"
  fi
fi
exit $failed
