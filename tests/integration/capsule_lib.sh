# Shared set-up of the capsule suites (sourced, not a suite itself): the
# CLI and astrid-build, a private ASTRID_HOME, the SDK for building test
# capsules, and on exit the default agent back, the daemon stopped and the
# scratch tree removed. A suite may set CLEANUP_EXTRA (a command run first
# on exit, e.g. to stop a test server).
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
AB=$BIN/astrid-build
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
export ASTRID_SDK=$ASTRID_SRC/sdk/c
O=$TEST_TMP/out
CLEANUP_EXTRA=:
capsule_cleanup() {
  eval "$CLEANUP_EXTRA"
  $A agent switch default >/dev/null 2>&1
  $A stop >/dev/null 2>&1
  sleep 0.2
  rm -rf "$TEST_TMP"
}
trap capsule_cleanup EXIT
# j EXPR: evaluate a Python expression over the JSON on stdin (as d).
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# build_capsule DIR: astrid-build DIR into $O, as a TAP check.
build_capsule() { ok_if "astrid-build $(basename "$1")" bash -c "$AB '$1' -o '$O' >/dev/null 2>&1"; }
# The chat turn's capsules with a scripted provider (the chat suites):
# turn_stack_build [SED_ARGS...] builds session, identity, prompt-builder,
# router, context-engine and a copy of react pointed at tests/capsules/fakellm
# (llm.v1.request.generate.fake, model fake-1); SED_ARGS (`-e EXPR` pairs)
# change that react's manifest further. turn_stack_install installs the six.
turn_stack_build() {
  local c
  for c in session identity prompt-builder router context-engine; do
    build_capsule "$ASTRID_SRC/capsules/$c"
  done
  cp -r "$ASTRID_SRC/capsules/react" "$TEST_TMP/react"
  sed -i -e 's/llm.v1.request.generate.anthropic"/llm.v1.request.generate.fake"/' \
    -e 's/default = "claude-sonnet-4-20250514"/default = "fake-1"/' "$@" "$TEST_TMP/react/Capsule.toml"
  build_capsule "$TEST_TMP/react"
}
turn_stack_install() {
  local c
  for c in session identity prompt-builder router context-engine react; do
    ok_if "install astrid-capsule-$c" bash -c "$A capsule install '$O/astrid-capsule-$c.capsule' >/dev/null 2>&1"
  done
}
# history PRINCIPAL SESSION: that agent's messages of SESSION as JSON (asked
# of the session capsule on the bus, as the agent)
history() {
  PRINCIPAL=$1 python3 - "$ASTRID_HOME" "$2" <<'EOF'
import sys, os, json
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
s = w.connect(sys.argv[1]); w.handshake(s, sys.argv[1], os.environ["PRINCIPAL"])
w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": "session.v1.response.*"}})
w.recv(s)
w.send(s, {"topic": "session.v1.request.get_messages",
           "payload": {"session_id": sys.argv[2], "correlation_id": "c42"}})
while True:
    m = w.recv(s)
    if m["topic"] == "session.v1.response.get_messages.c42":
        print(json.dumps(m["payload"]["messages"])); break
EOF
}
