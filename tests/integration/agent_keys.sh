#!/usr/bin/env bash
# Agents that prove who they are (issue 15 point 7): [auth] public_keys,
# the handshake challenge, run/agents.sock, `agent key`, --identity. The
# refusals are driven by a raw client (python3, `cryptography` for
# ed25519) so that each attack is exactly one wrong thing: a wrong
# signature, a replayed one, a token-only claim, a keyless principal on
# agents.sock.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
H=$ASTRID_HOME

ok_if "start" $A start
ok_if "agent create erin" $A agent create erin
ok_if "agent create bob" $A agent create bob
out=$($A agent key generate erin "$TEST_TMP/erin.key" 2>&1); rc=$?
expect_eq "agent key generate erin KEYFILE" "$rc" "0"
expect_eq "  keyfile 0600" "$(stat -c %a "$TEST_TMP/erin.key")" "600"
PK=$(sed -n 's/^public key: //p' <<<"$out")
ok_if "  prints a base64 public key" grep -Eq '^[A-Za-z0-9+/]{43}=$' <<<"$PK"
out=$($A agent key generate erin "$TEST_TMP/erin.key" 2>&1); rc=$?
expect_eq "  never overwrites an identity" "$rc" "1"
ok_if "sock: agents.sock exists, mode 0660" test "$(stat -c %a "$H/run/agents.sock")" = 660

# before keys: erin is claimed with the token alone (old clients keep working)
ok_if "agent switch erin" $A agent switch erin
ok_if "keyless erin connects with the token (system.sock)" $A caps show
ok_if "agent switch default" $A agent switch default
out=$($A agent key add erin not-a-key 2>&1); rc=$?
expect_eq "agent key add refuses a malformed key" "$rc" "1"
ok_if "  naming the format" grep -q "base64 of 32 bytes" <<<"$out"
ok_if "agent key add erin PK" $A agent key add erin "$PK"
ok_if "  in the profile's [auth] public_keys" grep -qF "\"$PK\"" "$H/etc/profiles/erin.toml"
out=$($A agent key add erin "$PK" 2>&1); rc=$?
expect_eq "  adding it twice: conflict" "$rc" "1"
expect_eq "agent key list erin" "$($A agent key list erin)" "$PK"

# token-only claim of a keyed principal: refused, whatever the token
ok_if "agent switch erin" $A agent switch erin
out=$($A caps show 2>&1); rc=$?
expect_eq "token-only claim of keyed erin is refused" "$rc" "1"
ok_if "  requires key authentication" grep -q "principal erin requires key authentication" <<<"$out"
ok_if "agent switch default" $A agent switch default
ok_if "keyless default still connects with the token" $A caps show default

# --identity: through agents.sock, no token
chmod 644 "$TEST_TMP/erin.key"
out=$($A --identity "$TEST_TMP/erin.key" caps show 2>&1); rc=$?
expect_eq "an identity readable by others is refused" "$rc" "1"
ok_if "  chmod 600 it" grep -q "chmod 600" <<<"$out"
chmod 600 "$TEST_TMP/erin.key"
out=$($A --identity "$TEST_TMP/erin.key" caps show 2>&1); rc=$?
expect_eq "astrid --identity erin.key caps show" "$rc" "0"
ok_if "  as erin" grep -q "^Agent: erin" <<<"$out"
ok_if "  through agents.sock, by key" grep -q "client connected as erin (key) on agents.sock" "$H"/log/astrid.*.log
out=$(ASTRID_IDENTITY=$TEST_TMP/erin.key $A secret list 2>&1); rc=$?
expect_eq "ASTRID_IDENTITY works the same" "$rc" "0"
out=$(ASTRID_IDENTITY=$TEST_TMP/erin.key $A agent key list bob 2>&1); rc=$?
expect_eq "  erin cannot read bob's keys (agent:key is self-scoped)" "$rc" "1"
out=$(ASTRID_IDENTITY=$TEST_TMP/erin.key $A agent key add bob "$PK" 2>&1); rc=$?
expect_eq "  nor add a key to bob" "$rc$(grep -c "$PK" "$H/etc/profiles/bob.toml")" "10"
# a key of another principal does not open erin
$A agent key generate erin "$TEST_TMP/other.key" >/dev/null 2>&1
out=$($A --identity "$TEST_TMP/other.key" caps show 2>&1); rc=$?
expect_eq "an unlisted key for erin is refused" "$rc" "1"
ok_if "  authentication failed" grep -q "authentication failed" <<<"$out"

# raw-client attacks (python3): each is exactly one wrong thing
cat >"$TEST_TMP/raw.py" <<'EOF'
import base64, json, os, socket, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
home, mode = sys.argv[1], sys.argv[2]
def seed_of(path):
    for line in open(path):
        if line.startswith("secret_key"):
            return base64.b64decode(line.split('"')[1])
key = Ed25519PrivateKey.from_private_bytes(seed_of(sys.argv[3]))
# public_bytes(Raw, Raw), not public_bytes_raw(): Debian 12's cryptography (38) predates it
pk = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
def frame(s, o):
    b = json.dumps(o).encode(); s.sendall(struct.pack(">I", len(b)) + b)
def recv(s):
    n = b""
    while len(n) < 4:
        c = s.recv(4 - len(n))
        if not c: return None
        n += c
    (l,) = struct.unpack(">I", n); b = b""
    while len(b) < l:
        c = s.recv(l - len(b))
        if not c: return None
        b += c
    return json.loads(b)
def connect(sockname, principal, token=None):
    s = socket.socket(socket.AF_UNIX); s.connect(os.path.join(home, "run", sockname))
    hs = {"protocol_version": 1, "client_version": "0.6.0", "principal": principal}
    if token: hs["token"] = token
    frame(s, hs)
    return s, recv(s)
def sign(nonce, principal, sockname):
    path = os.path.join(os.path.realpath(os.path.join(home, "run")), sockname)
    return key.sign(f"astrid-handshake-v1\n{nonce}\n{principal}\n{path}".encode())
def answer(s, sig):
    frame(s, {"public_key": pk, "signature": base64.b64encode(sig).decode()}); return recv(s)
token = open(os.path.join(home, "run", "system.token")).read().strip()
if mode == "good":          # the right signature on agents.sock
    s, ch = connect("agents.sock", "erin"); print(ch["status"], answer(s, sign(ch["nonce"], "erin", "agents.sock"))["status"])
elif mode == "good-system": # token + key on system.sock
    s, ch = connect("system.sock", "erin", token); print(ch["status"], answer(s, sign(ch["nonce"], "erin", "system.sock"))["status"])
elif mode == "wrong-sig":   # a signature over another nonce
    s, ch = connect("agents.sock", "erin"); r = answer(s, sign("00" * 32, "erin", "agents.sock")); print(ch["status"], r and r["status"], r and r.get("reason"))
elif mode == "flipped":     # the right signature with one bit flipped
    s, ch = connect("agents.sock", "erin"); sig = bytearray(sign(ch["nonce"], "erin", "agents.sock")); sig[5] ^= 1
    r = answer(s, bytes(sig)); print(ch["status"], r and r["status"])
elif mode == "replay":      # connection 1's valid answer replayed on connection 2
    s1, ch1 = connect("agents.sock", "erin"); sig = sign(ch1["nonce"], "erin", "agents.sock")
    s2, ch2 = connect("agents.sock", "erin"); r2 = answer(s2, sig)
    print(ch1["nonce"] != ch2["nonce"], r2 and r2["status"])
elif mode == "other-socket":  # signed for system.sock, sent on agents.sock
    s, ch = connect("agents.sock", "erin"); r = answer(s, sign(ch["nonce"], "erin", "system.sock")); print(r and r["status"])
elif mode == "keyless-agents":  # bob has no keys: agents.sock refuses him
    s, r = connect("agents.sock", "bob"); print(r["status"], r.get("reason"))
elif mode == "ghost-agents":    # no such principal: the same answer as keyless bob
    s, r = connect("agents.sock", "ghost"); print(r["status"], r.get("reason"))
elif mode == "token-agents":    # the token does not open agents.sock for keyed erin
    s, ch = connect("agents.sock", "erin", token); frame(s, {"topic": "x", "payload": {}}); r = recv(s); print(ch["status"], r and r.get("status"))
elif mode == "flood":           # 70 silent connections: the ones over 64 pending are dropped
    socks = []
    for i in range(70):
        s = socket.socket(socket.AF_UNIX); s.connect(os.path.join(home, "run", "agents.sock")); socks.append(s)
    s, ch = connect("system.sock", "bob", token)   # system.sock is not affected
    print(ch["status"])
elif mode == "old-client":      # an old client (token, no challenge support) as keyless bob
    s, r = connect("system.sock", "bob", token); print(r["status"])
EOF
raw() { python3 "$TEST_TMP/raw.py" "$H" "$1" "$TEST_TMP/erin.key" 2>&1; }
expect_eq "raw: the right signature on agents.sock is accepted" "$(raw good)" "challenge ok"
expect_eq "raw: token + signature on system.sock is accepted" "$(raw good-system)" "challenge ok"
expect_eq "raw: a wrong signature is refused" "$(raw wrong-sig)" "challenge error authentication failed"
expect_eq "raw: a flipped bit is refused" "$(raw flipped)" "challenge error"
expect_eq "raw: a replayed answer is refused (fresh nonce per connection)" "$(raw replay)" "True error"
expect_eq "raw: a signature for system.sock does not open agents.sock" "$(raw other-socket)" "error"
expect_eq "raw: keyless bob is refused on agents.sock, learning nothing" "$(raw keyless-agents)" "error authentication failed"
ok_if "  the log says why" grep -q "agents.sock handshake refused: principal bob has no \[auth\] public_keys" "$H"/log/astrid.*.log
expect_eq "raw: so is a principal that does not exist, alike" "$(raw ghost-agents)" "error authentication failed"
expect_eq "raw: the token does not skip the challenge on agents.sock" "$(raw token-agents)" "challenge error"
expect_eq "raw: an old client claiming keyless bob with the token is accepted" "$(raw old-client)" "ok"
expect_eq "raw: a flood of silent agents.sock connections leaves system.sock working" "$(raw flood)" "ok"
ok_if "  the ones over 64 pending are dropped, logged" grep -q "agents.sock: 64 handshakes pending, dropped a connection" "$H"/log/astrid.*.log
ok_if "refusals are logged with why" grep -q "key authentication of erin refused: bad signature" "$H"/log/astrid.*.log

# removing the key: erin is a token principal again
ok_if "agent key remove erin PK" $A agent key remove erin "$PK"
expect_eq "  list is empty" "$($A agent key list erin --format json | j 'len(d["public_keys"])')" "0"
out=$($A --identity "$TEST_TMP/erin.key" caps show 2>&1); rc=$?
expect_eq "  and agents.sock refuses erin now" "$rc" "1"
ok_if "agent switch erin" $A agent switch erin
ok_if "  the token claims erin again" $A caps show
ok_if "agent switch default" $A agent switch default
