#!/usr/bin/env bash
# Request/reply through two federation bridges against raw NATS
# request/reply, in the same run on one nats-server (issue #19):
#   bridge: a wire client on A publishes bench.v1.ping.x; A seals and
#           publishes it, B verifies, stamps default@A and puts it on its
#           bus; a wire client on B answers bench.v1.pong.x, which B seals,
#           A verifies and hands to the client on A: two bridges, two
#           envelopes, four socket hops.
#   raw:    tests/tools/fedtool rawbench against `fedtool serve` (libnats
#           request/reply, no envelope, no daemon).
# Latency = median of sequential round trips; throughput = pipelined, both sides.
# Envelope seal/verify per message: build/bench/bench_federation.
set -u
: "${ASTRID_SRC:?run through make bench}" "${ASTRID_BUILD:?}"
command -v nats-server >/dev/null || { echo "   skipped: nats-server missing"; exit 0; }
A=$ASTRID_BUILD/bin/astrid
FT=$ASTRID_BUILD/tests/fedtool
N=${FED_BENCH_N:-1000}
T=$(mktemp -d "${TMPDIR:-/tmp}/astrid-fedbench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for h in A B; do ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1; done
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
for h in A B; do ASTRID_HOME=$T/$h $A start >/dev/null 2>&1 && ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1; done
sleep 0.3
for h in A B; do
  o=$([[ $h == A ]] && echo B || echo A)
  ASTRID_HOME=$T/$h $A trust add $o "$(cat "$T/$o/keys/runtime.pub")" >/dev/null 2>&1
  ASTRID_HOME=$T/$h $A stop >/dev/null 2>&1
done
sleep 0.3
printf '[federation]\nhost = "A"\nlattice = "bench"\nurls = ["%s"]\nexport = ["bench.v1.ping.*"]\nimport = ["bench.v1.pong.*"]\n[[map]]\nremote = "default@B"\ngroup = "agent"\n' "$URL" >"$T/A/etc/federation.toml"
printf '[federation]\nhost = "B"\nlattice = "bench"\nurls = ["%s"]\nexport = ["bench.v1.pong.*"]\nimport = ["bench.v1.ping.*"]\n[[map]]\nremote = "default@A"\ngroup = "agent"\n' "$URL" >"$T/B/etc/federation.toml"
for h in A B; do ASTRID_HOME=$T/$h $A start >/dev/null 2>&1 || { echo "   daemon $h did not start"; exit 1; }; done
python3 "$ASTRID_SRC/bench/fed_pingpong.py" echo "$T/B" >"$T/echo.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$T/echo.out" && break; sleep 0.1; done
sleep 1 # heartbeats: A and B see each other
read -r b_lat b_tp < <(timeout 300 python3 "$ASTRID_SRC/bench/fed_pingpong.py" ping "$T/A" "$N")
$FT serve "$URL" bench.raw $((2 * N)) >"$T/serve.out" &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$T/serve.out" && break; sleep 0.1; done
read -r r_lat _ < <("$FT" rawbench "$URL" bench.raw "$N")
read -r r_tp < <("$FT" rawpipe "$URL" bench.raw "$N")
echo "   raw NATS request/reply:         median ${r_lat} us sequential, ${r_tp} req/s pipelined"
echo "   through two bridges (+sockets): median ${b_lat:-?} us sequential, ${b_tp:-?} req/s pipelined"
if [[ -n ${b_lat:-} && -n ${r_lat:-} ]]; then
  python3 -c "print('   latency %.1fx raw (target <= 1.5x), throughput %.2fx raw (target >= 0.7x)' % ($b_lat / $r_lat, $b_tp / $r_tp))"
fi
