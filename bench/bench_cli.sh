#!/usr/bin/env bash
# Whole-process wall time of the CLI, medians over N runs, measured in the
# same run as its baselines: /bin/true (process spawn) and `astrid version`
# (CLI startup). `astrid status` needs a daemon: one is started in a scratch
# ASTRID_HOME when astrid-daemon can serve, and always killed on exit.
set -u
A=$ASTRID_BUILD/bin/astrid
N=${BENCH_CLI_RUNS:-100}
H=$(mktemp -d "${TMPDIR:-/tmp}/astrid-bench-cli.XXXXXX")
export ASTRID_HOME=$H/home
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$H"
}
trap cleanup EXIT
median() { # cmd... -> median milliseconds
  python3 - "$N" "$@" <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); cmd = sys.argv[2:]
ts = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(ts):.3f}")
PY
}
t_true=$(median /bin/true)
t_ver=$(median "$A" version)
printf '  /bin/true         %8s ms (spawn baseline)\n' "$t_true"
printf '  astrid version    %8s ms  (%.2fx /bin/true)\n' "$t_ver" "$(python3 -c "print($t_ver/$t_true)")"
"$ASTRID_BUILD/bin/astrid-daemon" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -e $ASTRID_HOME/run/system.ready ]] && break; sleep 0.05; done
if "$A" status >/dev/null 2>&1; then
  t_st=$(median "$A" status)
  printf '  astrid status     %8s ms  (%.2fx astrid version; target < 5 ms)\n' "$t_st" \
    "$(python3 -c "print($t_st/$t_ver)")"
else
  echo "  astrid status     skipped: no daemon answered in $ASTRID_HOME (needs the kernel branch)"
fi
