#!/usr/bin/env bash
# Federation's import audit in batches (issue #19, docs/federation.md
# "Performance"): two daemons on a local nats-server, A exporting
# fed.burst.*, B importing it. A burst of messages from a client on A is
# recorded on B in fewer entries than messages, each saying how many
# (count) and which seq range (seq .. seq_last) of which origin, with every
# envelope's seq, timestamp, payload hash and origin signature (or, for a
# batch envelope A signed once, every signed entry and which were
# imported), so each origin signature can still be checked against A's key; the counts add up
# to the messages imported, no seq twice; the chain verifies; the batch
# still open when B stops is written (stop flushes), and drops stay one
# entry each.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
if ! command -v nats-server >/dev/null; then
  skip "federation_audit" "nats-server is not installed (apt-get install nats-server)"
  echo "1..$_tap_n"; exit 0
fi
FT=$ASTRID_BUILD/tests/fedtool
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
URL=nats://127.0.0.1:$PORT
NATS_PID=
CLEANUP_EXTRA='[[ -n $NATS_PID ]] && kill "$NATS_PID" 2>/dev/null; for h in A B; do ASTRID_HOME=$TEST_TMP/$h $A stop >/dev/null 2>&1; done'
nats-server -a 127.0.0.1 -p "$PORT" >"$TEST_TMP/nats.log" 2>&1 &
NATS_PID=$!
for _ in $(seq 100); do grep -q "Server is ready" "$TEST_TMP/nats.log" && break; sleep 0.1; done
ok_if "nats-server on 127.0.0.1:$PORT" grep -q "Server is ready" "$TEST_TMP/nats.log"
mkdir -p "$TEST_TMP/ws" && cd "$TEST_TMP/ws" || exit 1
on() { local h=$1; shift; ASTRID_HOME=$TEST_TMP/$h "$@"; }
for h in A B; do on $h $A start >/dev/null 2>&1 && on $h $A stop >/dev/null 2>&1; done
sleep 0.3
for h in A B; do
  o=$([[ $h == A ]] && echo B || echo A)
  ok_if "$h trusts $o" bash -c "ASTRID_HOME=$TEST_TMP/$h $A trust add $o $(cat "$TEST_TMP/$o/keys/runtime.pub") >/dev/null 2>&1"
  on $h $A stop >/dev/null 2>&1
done
sleep 0.3
printf '[federation]\nhost = "A"\nlattice = "dev"\nurls = ["%s"]\nheartbeat_ms = 200\nexport = ["fed.burst.*"]\n' \
  "$URL" >"$TEST_TMP/A/etc/federation.toml"
printf '[federation]\nhost = "B"\nlattice = "dev"\nurls = ["%s"]\nheartbeat_ms = 200\nimport = ["fed.burst.*"]\n[[map]]\nremote = "default@A"\ngroup = "agent"\n' \
  "$URL" >"$TEST_TMP/B/etc/federation.toml"
ok_if "A starts" on A $A start
ok_if "B starts" on B $A start
imported() { on B $A status --format json 2>/dev/null | j 'd["federation"]["imported"]'; }
wait_imported() { # wait_imported N: B's status counts N imports
  for _ in $(seq 300); do [[ $(imported) == "$1" ]] && return 0; sleep 0.1; done
  return 1
}
wait_peer() {
  for _ in $(seq 100); do
    on B $A status --format json 2>/dev/null | j 'any(p["host"] == "A" and p["alive"] for p in d["federation"]["peers"])' | grep -q True && return 0
    sleep 0.1
  done
  return 1
}
ok_if "B sees A" wait_peer
# burst N FROM: N messages fed.burst.x {"i": FROM..FROM+N-1} from one client on A
burst() {
  python3 - "$TEST_TMP/A" "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w
home, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = w.connect(home)
w.handshake(s, home, "default")
for i in range(first, first + n):
    w.send(s, {"topic": "fed.burst.x", "payload": {"i": i}})
s.close()  # what was sent is read by the daemon before it sees the end
PY
}
N=300
burst $N 0
ok_if "B imported the burst of $N" wait_imported $N
sleep 0.5 # the last batch is written at most 50 ms after its first message
AB=$TEST_TMP/B/home/default/.local/audit/audit.jsonl
# the import entries of fed.burst.x, read from B's chain as it is on disk
entries() {
  python3 - "$AB" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    a = e.get("action", {})
    if a.get("type") == "federation_import" and a.get("topic") == "fed.burst.x":
        out.append(a)
print(json.dumps(out))
PY
}
E=$(entries)
expect_eq "every imported message is counted once in B's audit (sum of count)" \
  "$(j 'sum(a.get("count", 1) for a in d)' <<<"$E")" "$N"
expect_eq "  in fewer entries than messages (batched)" "$(j 'len(d) < '$N' and any(a.get("count", 1) > 1 for a in d)' <<<"$E")" "True"
expect_eq "  no batch over 64 messages" "$(j 'max(a.get("count", 1) for a in d) <= 64' <<<"$E")" "True"
expect_eq "  each says origin A, principal default@A (A's default)" \
  "$(j 'sorted(set((a["origin"], a["principal"], a["remote_principal"]) for a in d))' <<<"$E")" "[('A', 'default@A', 'default')]"
# the seqs an import entry covers: a batch of imports (`envelopes`), a
# signed batch envelope (`batch`, its imported entries) or one message
SEQS='def seqs(a):
    if "batch" in a: return [a["batch"]["entries"][i][1] for i, _ in a["batch"]["imported"]]
    if "envelopes" in a: return [x[0] for x in a["envelopes"]]
    return [a["seq"]]
'
jj() { python3 -c "import json,sys
$SEQS
d=json.load(sys.stdin); print($1)"; }
expect_eq "  A sent batch envelopes (one signature over several messages)" \
  "$(jj 'any("batch" in a and a["count"] > 1 for a in d)' <<<"$E")" "True"
expect_eq "  an entry lists its count of messages, its seq range first..last, increasing" \
  "$(jj 'all(len(seqs(a)) == a.get("count", 1) and a["seq"] == seqs(a)[0] and a.get("seq_last", a["seq"]) == seqs(a)[-1] and all(x < y for x, y in zip(seqs(a), seqs(a)[1:])) for a in d)' <<<"$E")" "True"
expect_eq "  a signed batch keeps every signed entry and names what it imported as default@A" \
  "$(jj 'all(len(a["batch"]["entries"]) >= a["count"] and all(p == "default@A" for _, p in a["batch"]["imported"]) for a in d if "batch" in a)' <<<"$E")" "True"
expect_eq "  no seq twice across entries" \
  "$(jj 'len(set(s for a in d for s in seqs(a)))' <<<"$E")" "$N"
# every origin signature kept in the entries checks with A's key
PUBA=$(cat "$TEST_TMP/A/keys/runtime.pub")
expect_eq "  all $N messages' origin signatures verify with A's key (fedtool verify-audit)" \
  "$($FT verify-audit "$PUBA" dev A <"$AB")" "$N 0"
expect_eq "  and none with B's key (the check can fail)" \
  "$($FT verify-audit "$(cat "$TEST_TMP/B/keys/runtime.pub")" dev A <"$AB")" "0 $N"
# one imported seq changed in the first signed batch (or the first entry)
python3 - "$AB" >"$TEST_TMP/changed.jsonl" <<'PY'
import json, sys
done = False
for line in open(sys.argv[1]):
    e = json.loads(line)
    a = e.get("action", {})
    if not done and a.get("type") == "federation_import" and a.get("topic") == "fed.burst.x":
        if "batch" in a:
            a["batch"]["entries"][a["batch"]["imported"][-1][0]][1] += 1
        elif "envelopes" in a:
            a["envelopes"][-1][0] += 1
        else:
            a["seq"] += 1
        done = True
    print(json.dumps(e))
PY
expect_eq "  nor with a seq changed" \
  "$($FT verify-audit "$PUBA" dev A <"$TEST_TMP/changed.jsonl" | awk '{print ($2 > 0)}')" "1"
ok_if "B's audit chain verifies" bash -c "ASTRID_HOME=$TEST_TMP/B $A audit verify >/dev/null 2>&1"

# stop: the batch still open is written before the audit log closes
burst 5 $N
ok_if "B imported 5 more" wait_imported $((N + 5))
ok_if "B stops" on B $A stop
sleep 0.5
expect_eq "after the stop, B's audit counts all $((N + 5))" "$(entries | j 'sum(a.get("count", 1) for a in d)')" "$((N + 5))"

# drops stay one entry each
ok_if "B starts again" on B $A start
ok_if "B sees A again" wait_peer
for i in 1 2 3; do $FT pub "$URL" astrid.dev.fed.burst.x "garbage $i"; done
sleep 1
expect_eq "three garbage messages: three drop entries" \
  "$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("action", {}).get("type") == "federation_drop" and json.loads(l)["action"].get("subject") == "astrid.dev.fed.burst.x"))' "$AB")" "3"
echo "1..$_tap_n"
