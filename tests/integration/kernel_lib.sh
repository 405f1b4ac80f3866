# Shared by kernel_*.sh: start/stop a real daemon in a temp ASTRID_HOME.
# (Not a suite itself: sourced; the runner only runs files it can count.)
WIRE="python3 $ASTRID_SRC/tests/tools/astrid_wire.py"
start_daemon() { # start_daemon HOME [args...]
  local h=$1; shift
  # a daemon killed with -9 leaves its ready file: waiting on it would
  # return before the new one listens (as `astrid start`, remove it first)
  rm -f "$h/run/system.ready"
  ASTRID_HOME=$h "$BIN/astrid-daemon" "$@" >"$h.daemon.out" 2>&1 &
  DAEMON_PID=$!
  _daemons+=("$DAEMON_PID")
  for _ in $(seq 100); do [[ -e $h/run/system.ready ]] && return 0; sleep 0.05; done
  return 1
}
stop_daemon() { # stop_daemon PID
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null; return 1
}
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1.daemon.out"; }
_daemons=()
trap 'for p in "${_daemons[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$TEST_TMP"' EXIT
