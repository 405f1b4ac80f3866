#!/usr/bin/env bash
# Daemon-facing CLI verbs against a real daemon in a scratch ASTRID_HOME:
# start, status, who, ps, bus, restart, stop. The daemon is always killed on
# exit.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
pids=()
cleanup() {
  $A stop >/dev/null 2>&1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$TEST_TMP"
}
trap cleanup EXIT
daemon_pid() { $A status --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null; }

ok_if "start" $A start
p=$(daemon_pid); [[ -n "$p" ]] && pids+=("$p")
ok_if "status reports a pid" test -n "$p"
expect_eq "status --format json has the version" "$($A status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" "0.6.0"
ok_if "status --format yaml parses" bash -c "$A status --format yaml | python3 -c 'import yaml,sys; assert yaml.safe_load(sys.stdin)[\"pid\"]'"
ok_if "status --format toml parses" bash -c "$A status --format toml | python3 -c 'import tomllib,sys; assert tomllib.loads(sys.stdin.read())[\"pid\"]'"
ok_if "status pretty shows pid" bash -c "$A status | grep -q '^pid:'"
ok_if "who lists principals" bash -c "$A who --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d, list)'"
ok_if "ps answers" $A ps --format json
expect_eq "start again is a no-op" "$($A start)" "Daemon is already running."
ok_if "doctor with the daemon passes the round trip" bash -c "$A doctor | grep -q '✓ GetStatus'"
ok_if "restart" $A restart
p2=$(daemon_pid); [[ -n "$p2" ]] && pids+=("$p2")
ok_if "restart gave a new daemon" test -n "$p2" -a "$p2" != "$p"
ok_if "stop" $A stop
for _ in $(seq 100); do [[ -e $ASTRID_HOME/run/system.sock ]] || break; sleep 0.05; done
$A status >/dev/null 2>&1; expect_eq "status after stop exits 1" "$?" "1"
echo "1..$_tap_n"
