#!/usr/bin/env bash
# Federation over NATS (issue #19, docs/federation.md): a local nats-server
# with JetStream on 127.0.0.1 (random port, temp dir) and three daemons with
# separate homes (A, B, C) on one lattice, trust exchanged with `astrid
# trust add`. A chat turn on A is served by the openai-compat capsule on B
# (against tools/mockllm); B killed mid-stream ends the turn with an error
# naming the lost host, the next turn is routed around B to C; a host lost
# before it answered is retried on the other server of the queue group.
# Forged, unsigned, replayed, tampered, other-lattice, oversized and
# untrusted-host messages are dropped and audited; an imported message is
# never exported again; a remote principal has only what its [[map]] grants
# (unmapped: refused; mapped without egress: the provider cannot reach the
# model). `astrid ps` lists remote services, `astrid status` the lattice.
# TLS (a CA made here with openssl) + nkey authentication to the server.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
source "$ASTRID_SRC/tests/integration/mockllm_lib.sh"
if ! command -v nats-server >/dev/null; then
  skip "federation" "nats-server is not installed (apt-get install nats-server)"
  echo "1..$_tap_n"; exit 0
fi
if ! command -v node >/dev/null; then
  skip "federation" "node is missing (the mock model server)"; echo "1..$_tap_n"; exit 0
fi
FT=$ASTRID_BUILD/tests/fedtool
PROBE="python3 $ASTRID_SRC/tests/tools/chat_probe.py"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
NATS_PIDS=()
CLEANUP_EXTRA='for p in "${NATS_PIDS[@]}"; do kill "$p" 2>/dev/null; done; for h in A B C D E; do ASTRID_HOME=$TEST_TMP/$h $A stop >/dev/null 2>&1; done'
# nats_start CONF: a nats-server from a config file; waits for its port
nats_start() {
  nats-server -c "$1" >"$1.log" 2>&1 &
  NATS_PIDS+=($!)
  for _ in $(seq 100); do grep -q "Server is ready" "$1.log" && return 0; sleep 0.1; done
  return 1
}
PORT=$(free_port)
URL=nats://127.0.0.1:$PORT
cat >"$TEST_TMP/nats.conf" <<EOF
listen: 127.0.0.1:$PORT
max_payload: 8MB
jetstream { store_dir: "$TEST_TMP/js" }
EOF
ok_if "nats-server with JetStream on 127.0.0.1:$PORT" nats_start "$TEST_TMP/nats.conf"
ok_if "mock model server starts" mockllm_start "$ASTRID_SRC/tests/integration/federation_llm.json"
OC=$(provider_build openai-compat "$MOCK_URL" model=mock-model)

WS=$TEST_TMP/ws
mkdir -p "$WS"
cd "$WS" || exit 1
# on HOST CMD...: run an astrid command against HOST's home
on() { local h=$1; shift; ASTRID_HOME=$TEST_TMP/$h "$@"; }
# first boot of each home: its runtime key (keys/runtime.pub) is what the
# others trust
for h in A B C; do
  on $h $A start >/dev/null 2>&1 && on $h $A stop >/dev/null 2>&1
done
sleep 0.3
ok_if "three homes with runtime keys" test -s "$TEST_TMP/A/keys/runtime.pub" -a -s "$TEST_TMP/B/keys/runtime.pub" -a -s "$TEST_TMP/C/keys/runtime.pub"

# trust: every host trusts the other two, by `astrid trust add` (before
# federation is configured: the ephemeral daemon it starts stays off the lattice)
for h in A B C; do
  for o in A B C; do
    [[ $h == "$o" ]] && continue
    ok_if "$h trusts $o" bash -c "ASTRID_HOME=$TEST_TMP/$h $A trust add $o $(cat "$TEST_TMP/$o/keys/runtime.pub") >/dev/null 2>&1"
  done
  on $h $A stop >/dev/null 2>&1 # the ephemeral daemon trust add started
done
sleep 0.3

fed_conf() { # fed_conf HOST EXTRA...
  local h=$1; shift
  { printf '[federation]\nhost = "%s"\nlattice = "dev"\nurls = ["%s"]\n' "$h" "$URL"
    printf 'heartbeat_ms = 200\npeer_timeout_ms = 1200\nrequest_timeout_ms = 3000\n'
    printf '%s\n' "$@"; } >"$TEST_TMP/$h/etc/federation.toml"
}
fed_conf A 'export = ["llm.v1.request.generate.*", "fed.test.*"]' \
  'import = ["llm.v1.stream.*", "fed.test.*"]' \
  '[[map]]' 'remote = "default@B"' 'group = "fedpeer"' \
  '[[map]]' 'remote = "*@F"' 'group = "fedpeer"'
for h in B C; do
  fed_conf $h 'export = ["llm.v1.stream.*", "fed.test.*"]' 'serve = ["llm.v1.request.generate.*"]' \
    'import = ["fed.test.*"]' \
    '[[map]]' 'remote = "alice@A"' 'group = "fedllm"' \
    '[[map]]' 'remote = "carol@A"' 'group = "fednonet"'
  printf '[groups.fedllm]\ncapabilities = ["network:egress:127_0_0_1"]\n[groups.fednonet]\ncapabilities = []\n' \
    >"$TEST_TMP/$h/etc/groups.toml"
done
printf '[groups.fedpeer]\ncapabilities = []\n' >"$TEST_TMP/A/etc/groups.toml"

start_host() { ASTRID_HOME=$TEST_TMP/$1 ASTRID_ALLOW_LOCAL_IPS=1 $A start >/dev/null 2>&1; }
ok_if "A starts with etc/federation.toml" start_host A
ok_if "B starts" start_host B
for c in "$ASTRID_BUILD"/capsules/{react,session,identity,prompt-builder,router,context-engine}.capsule; do
  ok_if "A: install $(basename "$c")" bash -c "ASTRID_HOME=$TEST_TMP/A $A capsule install '$c' >/dev/null 2>&1"
done
ok_if "B: install the provider (openai-compat against the mock)" bash -c "ASTRID_HOME=$TEST_TMP/B $A capsule install '$OC' >/dev/null 2>&1"
for p in alice bob carol; do
  on A $A agent create $p >/dev/null 2>&1
  ok_if "A: $p's react asks llm.v1.request.generate.openai-compat" bash -c \
    "ASTRID_HOME=$TEST_TMP/A $A capsule config astrid-capsule-react -a $p --set llm_provider_topic=llm.v1.request.generate.openai-compat --set model=mock-model >/dev/null 2>&1"
done

# wait_peer HOST PEER: HOST's status lists PEER alive
wait_peer() {
  for _ in $(seq 100); do
    on "$1" $A status --format json 2>/dev/null | python3 -c "
import json,sys; d=json.load(sys.stdin)['federation']
sys.exit(0 if any(p['host']=='$2' and p['alive'] for p in d['peers']) else 1)" && return 0
    sleep 0.1
  done
  return 1
}
ok_if "A sees B alive" wait_peer A B
st=$(on A $A status --format json)
expect_eq "status: A on lattice dev, connected to the server" \
  "$(j 'd["federation"]["host"], d["federation"]["lattice"], d["federation"]["connected"], d["federation"]["server"]' <<<"$st")" \
  "A dev True $URL"
expect_eq "status: peer B with an RTT and what it serves" \
  "$(j '[(p["host"], p["rtt_ms"] is None or p["rtt_ms"] >= 0, p["serves"]) for p in d["federation"]["peers"]]' <<<"$st")" \
  "[('B', True, ['llm.v1.request.generate.*'])]"
ps=$(on A $A ps --format json)
expect_eq "ps: the remote service and its host" \
  "$(j '[(r["name"], r["host"], r["alive"]) for r in d if r.get("kind") == "remote"]' <<<"$ps")" \
  "[('llm.v1.request.generate.*', 'B', True)]"

# ---- a chat turn on A served by B
r=$($PROBE "$TEST_TMP/A" alice t1 "hello" --timeout 30)
expect_eq "alice's turn on A is answered by the provider on B" "$(j 'd["final"]["text"]' <<<"$r")" "federated answer one"
expect_eq "  streamed back as deltas" "$(j 'len(d["deltas"]) >= 1 and "".join(d["deltas"]) == d["final"]["text"]' <<<"$r")" "True"
expect_eq "  the model server saw one request" "$(mock_records | wc -l)" "1"
aud() { on "$1" $A audit show -a default --format json 2>/dev/null; }
expect_eq "B audited the import as alice@A with A's signature" \
  "$(aud B | j 'any(e["action"].get("type") == "federation_import" and e["action"]["principal"] == "alice@A" and e["action"]["origin"] == "A" and len(e["action"]["origin_signature"]) == 128 for e in d)')" "True"
expect_eq "A audited B's answers as alice's (a request A sent)" \
  "$(aud A | j 'any(e["action"].get("type") == "federation_import" and e["action"]["principal"] == "alice" and e["action"]["origin"] == "B" for e in d)')" "True"

# ---- remote principals have only what their [[map]] grants
r=$($PROBE "$TEST_TMP/A" bob t1 "hello" --timeout 30)
expect_eq "bob@A has no profile and no [[map]] on B: nothing granted, the provider may not reach the model" \
  "$(j 'd["final"]["error"], "may not reach 127.0.0.1" in d["final"]["text"]' <<<"$r")" "True True"
r=$($PROBE "$TEST_TMP/A" carol t1 "hello" --timeout 30)
expect_eq "carol@A's group has no egress: the provider on B may not reach the model" \
  "$(j 'd["final"]["error"], "may not reach 127.0.0.1" in d["final"]["text"]' <<<"$r")" "True True"
expect_eq "  and the model server saw no request of theirs" "$(mock_records | wc -l)" "1"

# ---- B killed mid-stream: the turn fails cleanly, naming the lost host
BPID=$(on B $A status --format json | j 'd["pid"]')
$PROBE "$TEST_TMP/A" alice t2 "slow please" --timeout 30 >"$TEST_TMP/slow.json" &
ppid=$!
for _ in $(seq 100); do [[ $(mock_records | wc -l) -ge 2 ]] && break; sleep 0.1; done
sleep 1.8 # the slow turn's first events are out (400 ms apart)
kill -KILL "$BPID"
wait $ppid
r=$(cat "$TEST_TMP/slow.json")
expect_eq "B killed mid-stream: alice's turn ends with an error naming B" \
  "$(j 'd["final"]["error"], "host B was lost mid-stream" in d["final"]["text"]' <<<"$r")" "True True"
expect_eq "  after some of the answer had arrived" "$(j 'len(d["deltas"]) > 0' <<<"$r")" "True"

# ---- C joins: the next turn is routed around B
ok_if "C starts" start_host C
ok_if "C: install the provider" bash -c "ASTRID_HOME=$TEST_TMP/C $A capsule install '$OC' >/dev/null 2>&1"
ok_if "A sees C alive" wait_peer A C
r=$($PROBE "$TEST_TMP/A" alice t3 "hello" --timeout 30)
expect_eq "the next turn is served by C" "$(j 'd["final"]["text"]' <<<"$r")" "federated answer three"
expect_eq "  C audited it" \
  "$(aud C | j 'any(e["action"].get("type") == "federation_import" and e["action"]["principal"] == "alice@A" for e in d)')" "True"
ps=$(on A $A ps --format json)
expect_eq "ps: B is listed dead, C alive" \
  "$(j 'sorted((r["host"], r["alive"]) for r in d if r.get("kind") == "remote")' <<<"$ps")" "[('B', False), ('C', True)]"

# ---- a host lost before it answered: the request goes to the queue group again
ok_if "B restarts" start_host B
ok_if "A sees B alive again" wait_peer A B
n0=$(mock_records | wc -l)
imports() { aud "$1" | j 'sum(1 for e in d if e["action"].get("type") == "federation_import" and e["action"]["principal"] == "alice@A")'; }
before_B=$(imports B); before_C=$(imports C)
$PROBE "$TEST_TMP/A" alice t4 "wait first" --timeout 60 >"$TEST_TMP/retry.json" &
ppid=$!
for _ in $(seq 100); do [[ $(mock_records | wc -l) -gt $n0 ]] && break; sleep 0.1; done
# who took it: the host whose audit log gained alice@A's import
srv=
for _ in $(seq 50); do
  for h in B C; do
    [[ $(imports $h) -gt $(eval echo "\$before_$h") ]] && srv=$h
  done
  [[ -n $srv ]] && break
  sleep 0.1
done
ok_if "  one of B, C took the request" test -n "$srv"
SPID=$(on $srv $A status --format json | j 'd["pid"]')
kill -KILL "$SPID"
wait $ppid
r=$(cat "$TEST_TMP/retry.json")
other=$([[ $srv == B ]] && echo C || echo B)
expect_eq "$srv lost before it answered: the turn is retried on $other and completes" \
  "$(j 'bool(d["final"].get("error")), d["final"]["text"]' <<<"$r")" "False federated answer five"
grep -q "sending llm.v1.request.generate.openai-compat again" "$TEST_TMP"/A/log/*.log
ok_if "  A's log says it sent the request again" test $? -eq 0
[[ $srv == B ]] || { start_host C; wait_peer A C; }
[[ $srv == C ]] || { start_host B; wait_peer A B; }

# ---- hostile traffic on A's import topic: dropped and audited
drops() { aud A | j "sum(1 for e in d if e['action'].get('type') == 'federation_drop' and '$1' in e['outcome'].get('error',''))"; }
imports_fed() { aud A | j "sum(1 for e in d if e['action'].get('type') == 'federation_import' and e['action']['topic'].startswith('fed.test'))"; }
SUBJ=astrid.dev.fed.test.x
$FT pub "$URL" $SUBJ 'not an envelope'
$FT seal "$URL" $SUBJ "$TEST_TMP/B.forged.key" dev B fed.test.x default '{"forged":true}'
$FT seal "$URL" $SUBJ "$TEST_TMP/Z.key" dev Z fed.test.x default '{"stranger":true}'
$FT seal "$URL" $SUBJ "$TEST_TMP/B/keys/runtime.key" prod B fed.test.x default '{"lattice":"prod"}'
$FT seal "$URL" $SUBJ "$TEST_TMP/B/keys/runtime.key" dev B fed.test.x default '{"old":true}' 1 1000
head -c 5000000 /dev/zero | tr '\0' 'a' >"$TEST_TMP/big"
$FT pubfile "$URL" $SUBJ "$TEST_TMP/big"
# a genuine message of B, captured on the wire, then replayed and tampered
$FT capture "$URL" $SUBJ "$TEST_TMP/cap" 5000 >"$TEST_TMP/cap.out" &
cpid=$!
for _ in $(seq 50); do grep -q ready "$TEST_TMP/cap.out" 2>/dev/null && break; sleep 0.1; done
ok_if "B publishes fed.test.x (an export of B)" bash -c "ASTRID_HOME=$TEST_TMP/B $A bus publish fed.test.x '{\"genuine\":1}' >/dev/null 2>&1"
wait $cpid
ok_if "  captured on the wire" test -s "$TEST_TMP/cap"
$FT pubfile "$URL" $SUBJ "$TEST_TMP/cap"
sed 's/"genuine\\":1/"genuine\\":2/' "$TEST_TMP/cap" >"$TEST_TMP/tampered"
ok_if "  tampered copy differs" bash -c "! cmp -s '$TEST_TMP/cap' '$TEST_TMP/tampered'"
$FT pubfile "$URL" $SUBJ "$TEST_TMP/tampered"
sleep 1
expect_eq "unsigned garbage dropped and audited" "$(drops 'not a valid envelope: envelope: malformed')" "1"
expect_eq "forged (B's name, another key) dropped and audited" "$(drops 'signature of B does not verify')" "1"
expect_eq "untrusted host Z dropped and audited" "$(drops 'host Z is not in the trust table')" "1"
expect_eq "another lattice's envelope dropped and audited" "$(drops 'lattice prod on lattice dev')" "1"
expect_eq "stale (old seq, ts far in the past) dropped and audited" "$(drops 'refused from B')" "2"
expect_eq "oversized body dropped and audited" "$(drops 'over the 4194304-byte limit')" "1"
expect_eq "replay of B's genuine message dropped (counted with the stale one above)" "$(drops 'replay')" "1"
expect_eq "tampered payload dropped and audited" "$(drops 'not a valid envelope')" "2"
expect_eq "only the genuine message was imported, as default@B" \
  "$(aud A | j '[(e["action"]["principal"], e["action"]["origin"]) for e in d if e["action"].get("type") == "federation_import" and e["action"]["topic"] == "fed.test.x"]')" \
  "[('default@B', 'B')]"
expect_eq "no loop: A never exported B's message again" \
  "$(aud B | j 'sum(1 for e in d if e["action"].get("topic") == "fed.test.x" and e["action"].get("origin") == "A")')" "0"
# ---- batch envelopes (one signature over several messages) of a trusted host F
FPUB=$($FT pubkey "$TEST_TMP/F.key")
ok_if "A trusts F (a key made by fedtool)" bash -c "ASTRID_HOME=$TEST_TMP/A $A trust add F $FPUB >/dev/null 2>&1"
S0=$(($(date +%s) * 1000000))
$FT sealbatch "$URL" $SUBJ "$TEST_TMP/F.key" dev F fed.test.x default "$((S0 + 1)):{\"fb\":1}" "$((S0 + 2)):{\"fb\":2}"
# one entry's seq changed after signing: the whole batch is refused
$FT sealbatch - - "$TEST_TMP/F.key" dev F fed.test.x default "$((S0 + 10)):{\"fb\":10}" "$((S0 + 11)):{\"fb\":11}" >"$TEST_TMP/fbatch"
sed "s/\"seq\":$((S0 + 11))/\"seq\":$((S0 + 12))/" "$TEST_TMP/fbatch" >"$TEST_TMP/fbatch.t"
ok_if "  a batch with one tampered entry differs from the signed one" bash -c "! cmp -s '$TEST_TMP/fbatch' '$TEST_TMP/fbatch.t'"
$FT pubfile "$URL" $SUBJ "$TEST_TMP/fbatch.t"
# an entry already imported (S0+2) inside an otherwise fresh batch
$FT sealbatch "$URL" $SUBJ "$TEST_TMP/F.key" dev F fed.test.x default "$((S0 + 20)):{\"fb\":20}" "$((S0 + 2)):{\"fb\":2}" "$((S0 + 21)):{\"fb\":21}"
sleep 1
AJ=$TEST_TMP/A/home/default/.local/audit/audit.jsonl
fseqs() {
  python3 - "$AJ" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    a = json.loads(line).get("action", {})
    if a.get("type") == "federation_import" and a.get("origin") == "F":
        b = a.get("batch")
        out += [(b["entries"][i][1], p) for i, p in b["imported"]] if b else [(a["seq"], a["principal"])]
print(sorted(out))
PY
}
expect_eq "F's batches: the fresh entries imported as default@F, the tampered batch not at all, the replayed entry once" \
  "$(fseqs)" "[($((S0 + 1)), 'default@F'), ($((S0 + 2)), 'default@F'), ($((S0 + 20)), 'default@F'), ($((S0 + 21)), 'default@F')]"
expect_eq "  the tampered batch dropped whole and audited once" "$(drops 'signature of F does not verify: batch envelope')" "1"
expect_eq "  the replayed entry dropped and audited" "$(drops "refused from F: seq $((S0 + 2)) replayed")" "1"
expect_eq "  every imported entry's signature checks with F's key from A's chain (fedtool verify-audit)" \
  "$($FT verify-audit "$FPUB" dev F <"$AJ")" "4 0"
st=$(on A $A status --format json)
expect_eq "status counts the drops" "$(j 'd["federation"]["dropped"] >= 8' <<<"$st")" "True"

# ---- a bad etc/federation.toml refuses boot, naming the key
mkdir -p "$TEST_TMP/D/etc"
printf '[federation]\nhost = "D"\nlattice = "dev"\nurls = ["%s"]\nexprot = ["x.*"]\n' "$URL" >"$TEST_TMP/D/etc/federation.toml"
out=$(on D $A start 2>&1)
expect_eq "a misspelt key refuses boot with its name" "$(grep -c "unknown key 'exprot'" <<<"$out" "$TEST_TMP"/D/log/*.log 2>/dev/null | awk -F: '{s+=$NF} END {print (s>0)}')" "1"

# ---- TLS + nkey authentication to the server
P=$TEST_TMP/pki && mkdir -p "$P"
(
  cd "$P" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=astrid test CA" 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext &&
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null
)
ok_if "a test CA and a server certificate (openssl)" test -s "$P/srv.pem"
rm -rf "$TEST_TMP/D"; mkdir -p "$TEST_TMP/D/etc" "$TEST_TMP/E/etc"
UD=$($FT nkey-gen "$TEST_TMP/D/etc/nats.nk")
$FT nkey-gen "$TEST_TMP/E/etc/nats.nk" >/dev/null
chmod 600 "$TEST_TMP"/{D,E}/etc/nats.nk
TPORT=$(free_port)
cat >"$TEST_TMP/tls.conf" <<EOF
listen: 127.0.0.1:$TPORT
tls { cert_file: "$P/srv.pem", key_file: "$P/srv.key" }
authorization { users = [ { nkey: "$UD" } ] }
EOF
ok_if "nats-server with TLS and one nkey user" nats_start "$TEST_TMP/tls.conf"
for h in D E; do
  printf '[federation]\nhost = "%s"\nlattice = "sec"\nurls = ["tls://127.0.0.1:%s"]\ntls_ca = "%s"\nnkey_seed = "etc/nats.nk"\n' \
    $h "$TPORT" "$P/ca.pem" >"$TEST_TMP/$h/etc/federation.toml"
done
ok_if "D starts" start_host D
ok_if "D (a listed nkey, the server's certificate checked against the test CA) is connected over TLS" \
  bash -c "ASTRID_HOME=$TEST_TMP/D $A status --format json | grep -q '\"connected\": true'"
out=$(start_host E 2>&1; cat "$TEST_TMP"/E/log/*.log 2>/dev/null)
expect_eq "E (an nkey the server does not list) refuses to boot, naming the authorization failure" \
  "$(grep -ci "federation: connect: .*authoriz" <<<"$out" | awk '{print ($1 > 0)}')" "1"
ok_if "  the server logged the refused nkey" grep -q "authentication error - Nkey" "$TEST_TMP/tls.conf.log"
for h in A B C; do
  ok_if "$h's log has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $TEST_TMP/$h/log/*.log"
done
echo "1..$_tap_n"
