#!/usr/bin/env bash
# Request/reply through two federation bridges against raw NATS
# request/reply, in the same run on one nats-server (issue #19):
#   bridge: a C wire client on A (build/bench/bench_federation ping)
#           publishes bench.v1.ping.x; A seals and publishes it, B verifies,
#           stamps default@A and puts it on its bus; a C wire client on B
#           (bench_federation echo) answers bench.v1.pong.x, which B seals,
#           A verifies and hands to the client on A: two bridges, two
#           envelopes, four socket hops.
#   local:  the same two C wire clients on ONE daemon L without federation
#           (ping and echo both on L): the daemon's own path (four socket
#           hops, two bus hops), which a bridged round trip also pays and
#           the bridge cannot remove. bridged - local - raw is what the
#           bridge itself adds (sealing, verifying, its thread hand-offs).
#   raw:    bench_federation rawping against bench_federation rawserve
#           (libnats request/reply from C, no envelope, no daemon; the
#           replier with SendAsap, as the bridge's connection).
# Latency = median of N sequential round trips; throughput = N pipelined
# (all sent at once, both sides). FED_BENCH_RUNS runs (default 3) of the three,
# interleaved; printed: the median over runs of each figure, the ratios of
# those medians, and the load average. FED_BENCH_PERF=DIR: `perf record -g`
# both daemons during the bridge runs into DIR/{A,B}.perf.data.
# Also printed: the CPU time (user+system, /proc/PID/stat) each daemon spent
# per round trip during the bridge runs, which tells work from waiting.
# Envelope seal/verify per message: build/bench/bench_federation (no args).
set -u
: "${ASTRID_SRC:?run through make bench}" "${ASTRID_BUILD:?}"
command -v nats-server >/dev/null || { echo "   skipped: nats-server missing"; exit 0; }
A=$ASTRID_BUILD/bin/astrid
BF=$ASTRID_BUILD/bench/bench_federation
N=${FED_BENCH_N:-1000}
RUNS=${FED_BENCH_RUNS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/astrid-fedbench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for h in A B L; do ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1; done
  sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT
export NO_COLOR=1 ASTRID_NO_AUTO_INIT=1
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p "$PORT" >"$T/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "Server is ready" "$T/nats.log" && break; sleep 0.1; done
cd "$T" || exit 1
for h in A B L; do ASTRID_HOME=$T/$h $A start >/dev/null 2>&1 && ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1; done
sleep 0.3
for h in A B; do
  o=$([[ $h == A ]] && echo B || echo A)
  ASTRID_HOME=$T/$h $A trust add $o "$(cat "$T/$o/keys/runtime.pub")" >/dev/null 2>&1
  ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1
done
sleep 0.3
printf '[federation]\nhost = "A"\nlattice = "bench"\nurls = ["%s"]\nexport = ["bench.v1.ping.*"]\nimport = ["bench.v1.pong.*"]\n[[map]]\nremote = "default@B"\ngroup = "agent"\n' "$URL" >"$T/A/etc/federation.toml"
printf '[federation]\nhost = "B"\nlattice = "bench"\nurls = ["%s"]\nexport = ["bench.v1.pong.*"]\nimport = ["bench.v1.ping.*"]\n[[map]]\nremote = "default@A"\ngroup = "agent"\n' "$URL" >"$T/B/etc/federation.toml"
for h in A B L; do ASTRID_HOME=$T/$h $A start >/dev/null 2>&1 || { echo "   daemon $h did not start"; exit 1; }; done
for h in B L; do
  "$BF" echo "$T/$h" >"$T/echo$h.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q ready "$T/echo$h.out" && break; sleep 0.1; done
done
sleep 1 # heartbeats: A and B see each other
"$BF" rawserve "$URL" bench.raw >"$T/serve.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$T/serve.out" && break; sleep 0.1; done
declare -A dpid
for h in A B L; do
  dpid[$h]=$(ASTRID_HOME=$T/$h $A status --format json 2>/dev/null |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["pid"])')
done
cpu_ms() { # utime + stime of a process, in ms
  awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) * 1000 / hz}' "/proc/$1/stat"
}
if [[ -n ${FED_BENCH_PERF:-} ]]; then
  mkdir -p "$FED_BENCH_PERF"
  for h in A B; do
    perf record -g -F 999 --all-user -o "$FED_BENCH_PERF/$h.perf.data" -p "${dpid[$h]}" \
      >/dev/null 2>&1 &
    pids+=($!)
  done
  sleep 0.5
fi
: >"$T/runs"
for r in $(seq "$RUNS"); do
  a0=$(cpu_ms "${dpid[A]}") b0=$(cpu_ms "${dpid[B]}")
  read -r b_lat b_tp < <(timeout 300 "$BF" ping "$T/A" "$N" 2>>"$T/ping.err")
  a1=$(cpu_ms "${dpid[A]}") b1=$(cpu_ms "${dpid[B]}")
  l0=$(cpu_ms "${dpid[L]}")
  read -r l_lat l_tp < <(timeout 300 "$BF" ping "$T/L" "$N" 2>>"$T/ping.err")
  l1=$(cpu_ms "${dpid[L]}")
  read -r r_lat r_tp < <("$BF" rawping "$URL" bench.raw "$N" 2>>"$T/ping.err")
  # CPU per round trip: 2N + 20 round trips per ping run
  cpa=$(python3 -c "print('%.0f' % (($a1 - $a0) * 1000 / (2 * $N + 20)))")
  cpb=$(python3 -c "print('%.0f' % (($b1 - $b0) * 1000 / (2 * $N + 20)))")
  cpl=$(python3 -c "print('%.0f' % (($l1 - $l0) * 1000 / (2 * $N + 20)))")
  echo "${b_lat:-nan} ${b_tp:-nan} ${r_lat:-nan} ${r_tp:-nan} $cpa $cpb ${l_lat:-nan} ${l_tp:-nan} $cpl" >>"$T/runs"
  ratios=$(python3 -c "print('latency %.2fx, throughput %.3fx' % (${b_lat:-0} / ${r_lat:-1}, ${b_tp:-0} / ${r_tp:-1}))" 2>/dev/null)
  echo "   run $r: bridge ${b_lat:-?} us ${b_tp:-?} req/s (daemon CPU per round trip: A $cpa us, B $cpb us); local ${l_lat:-?} us ${l_tp:-?} req/s (CPU $cpl us); raw ${r_lat:-?} us ${r_tp:-?} req/s; $ratios"
done
if [[ -n ${FED_BENCH_PERF:-} ]]; then
  for p in "${pids[@]:4}"; do kill -INT "$p" 2>/dev/null; done
  sleep 2
fi
[[ -s $T/ping.err ]] && sed 's/^/   /' "$T/ping.err"
python3 - "$T/runs" "$N" "$RUNS" <<'PY'
import math, os, statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1]) if l.strip()]
med = [statistics.median([r[i] for r in rows if not math.isnan(r[i])] or [float('nan')]) for i in range(9)]
bl, bt, rl, rt, ca, cb, ll, lt, cl = med
print("   medians of %s runs of %s round trips, load average %s" % (sys.argv[3], sys.argv[2], " ".join(open("/proc/loadavg").read().split()[:3])))
print("   raw NATS request/reply (C, libnats):    %6.0f us sequential, %7.0f req/s pipelined" % (rl, rt))
print("   one daemon, no bridge (C wire clients): %6.0f us sequential, %7.0f req/s pipelined" % (ll, lt))
print("   through two bridges (C wire clients):   %6.0f us sequential, %7.0f req/s pipelined" % (bl, bt))
print("   daemon CPU per round trip: bridged A %.0f us + B %.0f us, local %.0f us" % (ca, cb, cl))
print("   latency %.2fx raw (target <= 1.5x), throughput %.2fx raw (target >= 0.7x)" % (bl / rl, bt / rt))
print("   local path alone: latency %.2fx raw, throughput %.2fx raw" % (ll / rl, lt / rt))
print("   bridged vs local: latency %.2fx, throughput %.2fx; the bridge's own share of a round trip: %.0f us (bridged - local - raw)" % (bl / ll, bt / lt, bl - ll - rl))
PY
