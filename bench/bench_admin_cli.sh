#!/usr/bin/env bash
# `astrid caps grant` end to end (a CLI process per grant: spawn, connect,
# handshake, the admin request with its durable audit entry and profile
# write), ops/s, against `astrid version` (CLI startup alone) in the same run.
set -u
A=$ASTRID_BUILD/bin/astrid
N=${BENCH_ADMIN_RUNS:-100}
H=$(mktemp -d "${TMPDIR:-/tmp}/astrid-bench-admin.XXXXXX")
export ASTRID_HOME=$H/home
cleanup() { "$A" stop >/dev/null 2>&1; sleep 0.2; rm -rf "$H"; }
trap cleanup EXIT
"$A" start >/dev/null || { echo "  skipped: the daemon did not start"; exit 0; }
"$A" agent create bench >/dev/null || { echo "  skipped: agent create failed"; exit 0; }
python3 - "$N" "$A" <<'PY'
import subprocess, sys, time, statistics
n, a = int(sys.argv[1]), sys.argv[2]
def per_op(cmd_of):
    ts = []
    for i in range(n):
        t = time.perf_counter()
        subprocess.run(cmd_of(i), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)
v = per_op(lambda i: [a, "version"])
g = per_op(lambda i: [a, "caps", "grant", "bench", f"e2e{i}:x"])
print(f"   astrid caps grant end to end: {1/g:.0f} ops/s (median {g*1e3:.2f} ms; astrid version {v*1e3:.2f} ms)")
PY
