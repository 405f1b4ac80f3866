#!/usr/bin/env bash
# The OS's own cost of a chat turn (issue 16, point 8), the local model
# server (tools/mockllm) answering at once: from publishing user.v1.prompt
# to the first agent.v1.response delta and to is_final, through the daemon,
# react, session, identity, prompt-builder, the openai-compat capsule and
# back; against curl (libcurl, C) asking the same server for the same stream
# directly, in the same run (its time to first byte and to the end). Then a
# long answer streamed through the whole path against the same stream read
# directly (characters per second), and the daemon's memory per idle
# session. Medians of N turns; machines here are noisy, read the ratios.
set -u
N=${BENCH_TURNS:-15}
# The daemon's KV path: ASTRID_KV_SYNC=full commits every capsule KV write
# fully synced (the behaviour before issue 16 point 8's work).
echo "   KV sync: ${ASTRID_KV_SYNC:-meta-lazy (default)}; react: ${BENCH_REACT:-this build}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
B=$ASTRID_BUILD/bin
SRC=$ASTRID_SRC
T=$(mktemp -d "${TMPDIR:-/tmp}/astrid-bench-turn.XXXXXX")
# no first-run init: its distro would bring its own openai-compat (pointed
# at api.openai.com) and every turn would measure an error
export ASTRID_HOME=$T/home ASTRID_ALLOW_LOCAL_IPS=1 ASTRID_NO_AUTO_INIT=1
cleanup() {
  "$B/astrid" stop >/dev/null 2>&1
  [[ -n ${MOCK:-} ]] && kill "$MOCK" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
LONG=$(python3 -c 'print("x" * 4000)')
printf '[%s]\n' "$(python3 - "$N" "$LONG" <<'EOF'
import json, sys
n, long = int(sys.argv[1]), sys.argv[2]
# warm-up + N short turns, N direct short streams, then 3 long turns and 3 long direct streams
turns = [{"text": "Hello there, operator."}] * (1 + 2 * n) + [{"text": long}] * 6
print(",".join(json.dumps(t) for t in turns))
EOF
)" >"$T/script.json"
node "$SRC/tools/mockllm/server.js" --port 0 --script "$T/script.json" >"$T/mock.out" 2>&1 &
MOCK=$!
for _ in $(seq 100); do grep -q '^listening ' "$T/mock.out" && break; sleep 0.1; done
PORT=$(awk '/^listening /{print $2}' "$T/mock.out")
URL=http://127.0.0.1:$PORT
mkdir -p "$T/src" "$T/out" "$T/ws"
cp -r "$SRC/capsules/openai-compat" "$SRC/capsules/common" "$T/src/"
sed -i "s#^base_url = { type = \"string\", default = \"[^\"]*\"#base_url = { type = \"string\", default = \"$URL\"#; s#^model = { type = \"string\", default = \"[^\"]*\"#model = { type = \"string\", default = \"mock-model\"#" \
  "$T/src/openai-compat/Capsule.toml"
OC=$(ASTRID_SDK=$SRC/sdk/c "$B/astrid-build" "$T/src/openai-compat" -o "$T/out" 2>/dev/null | tail -n 1)
cd "$T/ws" || exit 1
"$B/astrid" start >/dev/null 2>&1 || { echo "   daemon did not start"; exit 1; }
# BENCH_REACT=FILE.capsule: another react build (e.g. an older one, for a
# before/after comparison; ASTRID_KV_SYNC=full gives the older store path)
REACT=${BENCH_REACT:-$ASTRID_BUILD/capsules/react.capsule}
for c in "$OC" "$REACT" "$ASTRID_BUILD"/capsules/{registry,session,identity,prompt-builder,router,context-engine}.capsule; do
  "$B/astrid" capsule install "$c" >/dev/null 2>&1 || { echo "   install $(basename "$c") failed"; exit 1; }
done
PID=$(cat "$ASTRID_HOME/run/daemon.lock" 2>/dev/null | tr -dc '0-9')

python3 - "$ASTRID_HOME" "$N" "$URL" "$PID" <<'EOF'
import json, os, statistics, subprocess, sys, time, uuid
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
home, n, url, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = w.connect(home)
w.handshake(s, home, "default")
s.settimeout(60)
w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": "agent.v1.*"}})
while w.recv(s)["topic"] != "astrid.v1.connection.response.subscribe":
    pass

def turn(session):
    t0 = time.perf_counter()
    first = None
    chars = 0
    w.send(s, {"topic": "user.v1.prompt",
               "payload": {"type": "user_input", "text": "hi", "session_id": session}})
    while True:
        m = w.recv(s)
        p = m.get("payload") or {}
        if m.get("topic") != "agent.v1.response" or p.get("session_id") != session:
            continue
        if first is None:
            first = time.perf_counter() - t0
        if p.get("is_final"):
            if p.get("error"):
                print("   turn failed: " + p.get("text", "")[:200], file=sys.stderr)
            return first, time.perf_counter() - t0, len(p.get("text", ""))
        chars += len(p.get("text", ""))

body = json.dumps({"model": "mock-model", "stream": True,
                   "messages": [{"role": "user", "content": "hi"}]})
def direct():
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}",
                          "-H", "content-type: application/json", "-d", body,
                          url + "/v1/chat/completions"], capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])

def rss_kb():
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0

def cpu_ms():
    # the daemon's user + system CPU time: what a turn costs the machine,
    # whatever the scheduler latency of a loaded host adds to wall time
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0

turn("warm-up-" + str(uuid.uuid4()))
# BENCH_SYSCALLS=1: count the daemon's syncs and writes over the short
# turns (strace slows every call down: read its counts, not its times)
tracer = None
if os.environ.get("BENCH_SYSCALLS") == "1":
    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", os.path.join(home, "strace.out"),
                               "-e", "trace=fsync,fdatasync,msync,pwrite64,write,sendmsg,futex",
                               "-p", pid], stderr=subprocess.DEVNULL)
    time.sleep(1)
rss0 = rss_kb()
cpu0 = cpu_ms()
firsts, totals = [], []
for i in range(n):
    f, t, _ = turn(str(uuid.uuid4()))
    firsts.append(f); totals.append(t)
rss1 = rss_kb()
cpu1 = cpu_ms()
if tracer:
    tracer.send_signal(2)
    tracer.wait()
    print(f"   syscalls per turn (strace -c over {n} turns):")
    for line in open(os.path.join(home, "strace.out")):
        f = line.split()
        if len(f) >= 5 and f[3].isdigit():
            print(f"     {f[-1]:10s} {int(f[3]) / n:8.1f}")
dfirst, dtotal = [], []
for i in range(n):
    a, b = direct()
    dfirst.append(a); dtotal.append(b)
lt, lchars = [], 0
for i in range(3):
    _, t, c = turn(str(uuid.uuid4()))
    lt.append(t); lchars = c
ld = [direct()[1] for _ in range(3)]
med = statistics.median
ms = lambda x: med(x) * 1000
print(f"   first delta: turn {ms(firsts):.2f} ms, direct HTTP first byte {ms(dfirst):.2f} ms, "
      f"added {ms(firsts) - ms(dfirst):.2f} ms (target <= 3 ms)")
print(f"   whole turn (no tools): {ms(totals):.2f} ms, direct stream {ms(dtotal):.2f} ms, "
      f"added {ms(totals) - ms(dtotal):.2f} ms (target <= 5 ms)")
tp, dp = lchars / med(lt), lchars / med(ld)
print(f"   streamed {lchars} chars: {tp:.0f} chars/s through the path, {dp:.0f} chars/s direct, "
      f"ratio {tp / dp:.2f}x (target >= 0.8x)")
print(f"   daemon CPU per turn (no tools): {(cpu1 - cpu0) / n:.1f} ms (user + system, all threads)")
if rss0 and rss1:
    print(f"   daemon RSS {rss0} kB -> {rss1} kB after {n} sessions: "
          f"{(rss1 - rss0) / n:.1f} kB per idle session")
EOF
