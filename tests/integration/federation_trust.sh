#!/usr/bin/env bash
# Federation trust without NATS (issue 19): `astrid trust add|list|remove|
# self|check`, the trust table on disk (refused whole when malformed or
# writable by others), remote principals' authz through the daemon (trust
# table, profile alice@B, [[map]] groups: nothing by default), and the
# places a remote id must never work (connections, agents, homes).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
H=$ASTRID_HOME
KB=8f1c2a3b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8
KC=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
T=$H/etc/trust.toml
sum() { sha256sum "$1" 2>/dev/null | cut -c1-64; }

ok_if "start" $A start
out=$($A trust list --format json); rc=$?
expect_eq "trust list (empty table) exits 0" "$rc" "0"
expect_eq "  this host first, with keys/runtime.pub" \
  "$(j 'd[0]["this_host"], d[0]["pubkey"], len(d)' <<<"$out")" "True $(cat "$H/keys/runtime.pub") 1"
out=$($A trust self 2>/dev/null)
expect_eq "trust self: name (unset: federation off) and key" "$out" "(unset) $(cat "$H/keys/runtime.pub")"

ok_if "trust add B KEY" $A trust add B "$KB"
expect_eq "  trust.toml is 0600" "$(stat -c %a "$T")" "600"
ok_if "  holds [[host]] B with its key" grep -qx "pubkey = \"$KB\"" "$T"
before=$(sum "$T")
out=$($A trust add B "$KC" 2>&1); rc=$?
expect_eq "trust add B again (another key): refused, never replaced" "$rc$(sum "$T")" "1$before"
ok_if "  says remove it first" grep -q "remove it first" <<<"$out"
out=$($A trust add "B.x" "$KC" 2>&1); rc=$?
expect_eq "a host name with '.' (would change NATS subjects): refused" "$rc$(sum "$T")" "1$before"
out=$($A trust add "x@y" "$KC" 2>&1); rc=$?
expect_eq "a host name with '@': refused" "$rc$(sum "$T")" "1$before"
out=$($A trust add C "${KC:0:63}" 2>&1); rc=$?
expect_eq "a 63-digit key: refused" "$rc$(sum "$T")" "1$before"
out=$($A trust add C "$(printf '0%.0s' {1..64})" 2>&1); rc=$?
expect_eq "an all-zero key: refused" "$rc$(sum "$T")" "1$before"
out=$($A trust add C "$(cat "$H/keys/runtime.pub")" 2>&1); rc=$?
expect_eq "this host's own key: refused" "$rc$(sum "$T")" "1$before"
out=$($A trust remove Z 2>&1); rc=$?
expect_eq "trust remove of an unknown host: exit 1" "$rc$(sum "$T")" "1$before"
ok_if "  not trusted" grep -q "not trusted" <<<"$out"
out=$($A trust list --format json)
expect_eq "trust list: this host, then B with its key" \
  "$(j '[(h["host"], h["this_host"]) for h in d][1], d[1]["pubkey"]' <<<"$out")" "('B', False) $KB"

# admin-only: an agent cannot change or read whom the host trusts
ok_if "agent create erin" $A agent create erin
ok_if "agent switch erin" $A agent switch erin
out=$($A trust add C "$KC" 2>&1); rc=$?
expect_eq "erin: trust add denied" "$rc$(sum "$T")" "1$before"
ok_if "  missing capability trust:add" grep -q "missing capability trust:add" <<<"$out"
out=$($A trust list 2>&1); rc=$?
expect_eq "erin: trust list denied" "$rc" "1"
out=$($A trust remove B 2>&1); rc=$?
expect_eq "erin: trust remove denied" "$rc$(sum "$T")" "1$before"
ok_if "agent switch default" $A agent switch default
ok_if "audit: trust.add recorded (allowed and denied)" \
  bash -c "grep -q 'admin.trust.add' '$H/home/default/.local/audit/audit.jsonl' && grep -q 'admin.trust.add' '$H/home/erin/.local/audit/audit.jsonl'"

# remote principals: nothing by default
ok_if "group create fedread (capsule:list)" $A group create fedread --caps capsule:list
cat >"$H/etc/federation.toml" <<TOML
[federation]
host = "A"
lattice = "dev"
urls = ["nats://127.0.0.1:9"]
[[map]]
remote = "*@B"
group = "fedread"
[[map]]
remote = "mallory@B"
group = "restricted"
TOML
chmod 600 "$H/etc/federation.toml"
ok_if "restart with etc/federation.toml (NATS unreachable: boot goes on)" bash -c "$A stop >/dev/null; sleep 0.3; $A start >/dev/null"
out=$($A trust self 2>/dev/null)
expect_eq "trust self: the configured name" "$out" "A $(cat "$H/keys/runtime.pub")"
chk() { $A trust check "$1" "$2" 2>&1; }
out=$(chk alice@B capsule:list); rc=$?
expect_eq "alice@B capsule:list via [[map]] *@B -> fedread" "$rc" "0"
out=$(chk alice@B agent:create); rc=$?
expect_eq "alice@B agent:create: not granted by the map" "$rc" "1"
ok_if "  missing capability" grep -q "missing capability agent:create" <<<"$out"
out=$(chk mallory@B capsule:list); rc=$?
expect_eq "mallory@B: its exact [[map]] (restricted) beats *@B" "$rc" "1"
ok_if "agent create alice (a LOCAL alice with every agent right)" $A agent create alice
out=$(chk alice self:agent:list); rc=$?
expect_eq "  local alice holds self:agent:list" "$rc" "0"
out=$(chk alice@C capsule:list); rc=$?
expect_eq "alice@C from an untrusted host: denied" "$rc" "1"
ok_if "  host C is not trusted" grep -q "host C is not trusted" <<<"$out"
ok_if "trust add C" $A trust add C "$KC"
out=$(chk alice@C capsule:list); rc=$?
expect_eq "alice@C, C trusted, no profile, no map: nothing by default" "$rc" "1"
out=$(chk alice@C self:agent:list); rc=$?
expect_eq "  not even the self: rights of a local agent" "$rc" "1"
printf 'grants = ["capsule:list"]\n' >"$H/etc/profiles/carol@C.toml"
chmod 600 "$H/etc/profiles/carol@C.toml"
out=$(chk carol@C capsule:list); rc=$?
expect_eq "carol@C: its profile carol@C.toml grants capsule:list" "$rc" "0"
out=$(chk carol@C capsule:install); rc=$?
expect_eq "  and nothing more" "$rc" "1"
printf 'revokes = ["capsule:list"]\n' >"$H/etc/profiles/alice@B.toml"
chmod 600 "$H/etc/profiles/alice@B.toml"
out=$(chk alice@B capsule:list); rc=$?
expect_eq "alice@B.toml revokes capsule:list: beats the mapped group" "$rc" "1"
printf 'enabled = false\n' >"$H/etc/profiles/bob@B.toml"
chmod 600 "$H/etc/profiles/bob@B.toml"
out=$(chk bob@B capsule:list); rc=$?
expect_eq "bob@B.toml enabled = false: denied" "$rc" "1"
printf 'grants = [\n' >"$H/etc/profiles/dave@B.toml"
out=$(chk dave@B capsule:list); rc=$?
expect_eq "a broken dave@B.toml denies (not read as 'no profile')" "$rc" "1"
out=$(chk eve@B capsule:list); rc=$?
expect_eq "eve@B (map only) before B is removed: allowed" "$rc" "0"
ok_if "trust remove B" $A trust remove B
out=$(chk eve@B capsule:list); rc=$?
expect_eq "  eve@B after B is removed: denied at once" "$rc" "1"
for bad in 'eve@B@C' '@B' 'eve@' 'e.ve@B' '*@B'; do
  out=$(chk "$bad" capsule:list); rc=$?
  expect_eq "trust check '$bad': refused as invalid" "$rc" "1"
done

# a remote id never works where a local principal is meant
out=$($A agent create 'alice@B' 2>&1); rc=$?
expect_eq "agent create alice@B: refused" "$rc" "1"
ok_if "  no home made" test ! -e "$H/home/alice@B"
out=$($A caps grant 'alice@C' capsule:list 2>&1); rc=$?
expect_eq "caps grant alice@C (an agent verb): refused" "$rc" "1"
cat >"$TEST_TMP/hs.py" <<'PY'
import json, os, socket, struct, sys
home, principal = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX); s.connect(os.path.join(home, "run", "system.sock"))
tok = open(os.path.join(home, "run", "system.token")).read().strip()
b = json.dumps({"protocol_version": 1, "client_version": "0.6.0", "principal": principal, "token": tok}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
n = s.recv(4); (l,) = struct.unpack(">I", n); r = b""
while len(r) < l: r += s.recv(l - len(r))
r = json.loads(r); print(r.get("status"), r.get("reason", ""))
PY
ok_if "trust add B again" $A trust add B "$KB"
out=$(python3 "$TEST_TMP/hs.py" "$H" 'eve@B' 2>&1)
ok_if "a connection claiming eve@B (with the token) is refused" grep -q "^error .*remote principal" <<<"$out"
out=$(python3 "$TEST_TMP/hs.py" "$H" 'default' 2>&1)
ok_if "  (the same client as default connects)" grep -q "^ok" <<<"$out"

# the table on disk: refused whole at boot, left as it was
ok_if "stop" $A stop
sleep 0.3
chmod 620 "$T"
out=$($A start 2>&1); rc=$?
expect_eq "trust.toml writable by its group: boot refused" "$rc" "1"
ok_if "  the log names the file and chmod 600" grep -q "trust.toml is writable by group or others.*chmod 600" "$H"/log/astrid.*.log
chmod 600 "$T"
cp "$T" "$TEST_TMP/trust.good"
printf '[[host]]\nname = "B"\n' >>"$T"
before=$(sum "$T")
out=$($A start 2>&1); rc=$?
expect_eq "a malformed trust.toml: boot refused, file untouched" "$rc$(sum "$T")" "1$before"
cp "$TEST_TMP/trust.good" "$T"
ok_if "the good table back: boots" $A start
out=$($A trust list --format json)
expect_eq "  B and C still trusted" "$(j '[h["host"] for h in d[1:]]' <<<"$out")" "['C', 'B']"
