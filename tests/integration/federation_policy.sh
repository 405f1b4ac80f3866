#!/usr/bin/env bash
# Replicated policy (issue 19 point 4, docs/federation-trust.md): two
# daemons on one lattice with `replicate_policy = true` over a local
# nats-server with JetStream. An admin change on one host (group, agent,
# grant) is in force on the other within a bounded time, hot (no restart);
# values that do not verify (garbage, an untrusted writer, a replayed old
# value, a value moved to another key, invalid TOML) are refused, audited,
# and the local copy kept; a partitioned host keeps its last good copy; two
# hosts changing the same key while partitioned: the revision check lets
# one win, the other's conflict is audited, never overwritten, and both
# converge.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
if ! command -v nats-server >/dev/null; then
  skip "federation_policy" "nats-server is not installed (apt-get install nats-server)"
  echo "1..$_tap_n"; exit 0
fi
FT=$ASTRID_BUILD/tests/fedtool
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
NATS_PID=
CLEANUP_EXTRA='[[ -n "$NATS_PID" ]] && kill "$NATS_PID" 2>/dev/null; for h in A B; do ASTRID_HOME=$TEST_TMP/$h $A stop >/dev/null 2>&1; done'
PORT=$(free_port)
URL=nats://127.0.0.1:$PORT
cat >"$TEST_TMP/nats.conf" <<EOF
listen: 127.0.0.1:$PORT
jetstream { store_dir: "$TEST_TMP/js" }
EOF
nats_start() {
  : >"$TEST_TMP/nats.log"
  nats-server -c "$TEST_TMP/nats.conf" >"$TEST_TMP/nats.log" 2>&1 &
  NATS_PID=$!
  for _ in $(seq 100); do grep -q "Server is ready" "$TEST_TMP/nats.log" && return 0; sleep 0.1; done
  return 1
}
nats_stop() { kill "$NATS_PID" 2>/dev/null; wait "$NATS_PID" 2>/dev/null; NATS_PID=; }
ok_if "nats-server with JetStream on 127.0.0.1:$PORT" nats_start
on() { local h=$1; shift; ASTRID_HOME=$TEST_TMP/$h "$@"; }
# until_ok SECONDS CMD...: poll CMD every 0.1 s until it succeeds (bounded)
until_ok() { local n=$(( $1 * 10 )); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
for h in A B; do on $h $A start >/dev/null 2>&1 && on $h $A stop >/dev/null 2>&1; done
sleep 0.3
for h in A B; do
  printf '[federation]\nhost = "%s"\nlattice = "dev"\nurls = ["%s"]\nreplicate_policy = true\nheartbeat_ms = 200\n' \
    "$h" "$URL" >"$TEST_TMP/$h/etc/federation.toml"
done
ok_if "A trusts B" bash -c "ASTRID_HOME=$TEST_TMP/A $A trust add B $(cat "$TEST_TMP/B/keys/runtime.pub") >/dev/null 2>&1"
ok_if "B trusts A" bash -c "ASTRID_HOME=$TEST_TMP/B $A trust add A $(cat "$TEST_TMP/A/keys/runtime.pub") >/dev/null 2>&1"
sleep 0.3
ok_if "A starts" on A $A start
ok_if "B starts" on B $A start
GB=$TEST_TMP/B/etc/groups.toml
GA=$TEST_TMP/A/etc/groups.toml
AUB=$TEST_TMP/B/home/default/.local/audit/audit.jsonl
has_group() { grep -q "^\[groups\.$2\]" "$TEST_TMP/$1/etc/groups.toml" 2>/dev/null; }

ok_if "A: group create fedops" on A $A group create fedops --caps capsule:list
ok_if "  B has fedops in etc/groups.toml within 10 s" until_ok 10 has_group B fedops
ok_if "  and in force on B without a restart (group list)" bash -c "ASTRID_HOME=$TEST_TMP/B $A group list --format json | grep -q fedops"
ok_if "B: agent create erin" on B $A agent create erin
ok_if "  A has erin's profile within 10 s" until_ok 10 test -f "$TEST_TMP/A/etc/profiles/erin.toml"
ok_if "A: caps grant erin fedx:read (on the replicated profile)" on A $A caps grant erin fedx:read
inforce_b() { ASTRID_HOME=$TEST_TMP/B $A trust check erin fedx:read >/dev/null 2>&1; }
ok_if "  erin holds fedx:read on B within 10 s" until_ok 10 inforce_b
ok_if "audit of B: federation.policy.apply" grep -q 'federation.policy.apply' "$AUB"

# hostile values put straight into the bucket's stream
SUBJ='$KV.astrid-dev-policy'
before=$(sha256sum "$GB" | cut -c1-64)
refusals() { grep -c 'federation.policy.refused' "$AUB"; }
r0=$(refusals)
ok_if "raw: garbage under groups" $FT pub "$URL" "$SUBJ.groups" 'not an envelope'
ok_if "  refused and audited by B" until_ok 10 test "$(refusals)" -gt "$r0"
expect_eq "  B's groups.toml untouched" "$(sha256sum "$GB" | cut -c1-64)" "$before"
r0=$(refusals)
P='{"key":"groups","toml":"[groups.evil]\ncapabilities = [\"*\"]\nunsafe_admin = true\n"}'
ok_if "raw: a value sealed by an untrusted host D" \
  $FT seal "$URL" "$SUBJ.groups" "$TEST_TMP/d.key" dev D astrid.v1.federation.policy "" "$P"
ok_if "  refused and audited" until_ok 10 test "$(refusals)" -gt "$r0"
ok_if "  naming the writer" grep -q 'writer D is not in the trust table' "$AUB"
expect_eq "  B's groups.toml untouched (no evil group)" "$(sha256sum "$GB" | cut -c1-64)" "$before"
r0=$(refusals)
ok_if "raw: A's key, seq 1 (older than what B has seen of A: a replay)" \
  $FT seal "$URL" "$SUBJ.groups" "$TEST_TMP/A/keys/runtime.key" dev A astrid.v1.federation.policy "" "$P" 1
ok_if "  refused as replayed" until_ok 10 test "$(refusals)" -gt "$r0"
expect_eq "  B's groups.toml untouched" "$(sha256sum "$GB" | cut -c1-64)" "$before"
r0=$(refusals)
BIG=$(( $(date +%s%N) / 1000 + 100000000 ))
ok_if "raw: A's key, fresh seq, a profile signed for key profile.erin put under profile.mallory" \
  $FT seal "$URL" "$SUBJ.profile.mallory" "$TEST_TMP/A/keys/runtime.key" dev A astrid.v1.federation.policy "" \
  '{"key":"profile.erin","toml":"grants = [\"fedx:evil\"]\n"}' "$BIG"
ok_if "  refused (a signed value is bound to its key)" until_ok 10 test "$(refusals)" -gt "$r0"
ok_if "  no mallory profile on B" test ! -e "$TEST_TMP/B/etc/profiles/mallory.toml"
ok_if "  erin's profile on B intact" inforce_b
r0=$(refusals)
ok_if "raw: A's key, fresh seq, invalid groups TOML" \
  $FT seal "$URL" "$SUBJ.groups" "$TEST_TMP/A/keys/runtime.key" dev A astrid.v1.federation.policy "" \
  '{"key":"groups","toml":"[groups.x]\ncapabilities = [\"not a cap!\"]\n"}' $((BIG + 1))
ok_if "  refused (invalid)" until_ok 10 test "$(refusals)" -gt "$r0"
expect_eq "  B's groups.toml untouched" "$(sha256sum "$GB" | cut -c1-64)" "$before"
ok_if "  fedops still in force on B" bash -c "ASTRID_HOME=$TEST_TMP/B $A group list --format json | grep -q fedops"

# partition: the server goes away; both hosts change groups
nats_stop
sleep 0.5
ok_if "partitioned A: group create onlya" on A $A group create onlya --caps capsule:list
ok_if "partitioned B: group create onlyb" on B $A group create onlyb --caps capsule:list
ok_if "  B keeps its last good copy (fedops) and its own change" bash -c "grep -q fedops '$GB' && grep -q onlyb '$GB'"
ok_if "  B still decides locally (trust check)" inforce_b
ok_if "server back (same store)" nats_start
same() { cmp -s "$GA" "$GB"; }
ok_if "A and B converge on one groups.toml within 20 s" until_ok 20 same
conflicts() { cat "$TEST_TMP"/{A,B}/home/default/.local/audit/audit.jsonl | grep -c 'federation.policy.conflict'; }
ok_if "  the loser's change was reported as a conflict (audited), not overwritten" test "$(conflicts)" -ge 1
ok_if "  the winner's group is in force on both, with fedops" bash -c "grep -q only '$GA' && grep -q fedops '$GA'"
for h in A B; do ok_if "$h stops" on $h $A stop; done
