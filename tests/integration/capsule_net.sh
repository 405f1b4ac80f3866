#!/usr/bin/env bash
# net: a run-loop capsule with net_bind serves run/capsule-NAME.sock to
# local clients that pass the daemon's handshake (session token, protocol
# 1); a wrong token is refused and the capsule keeps serving; frames echo;
# the socket goes when the capsule is removed.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
SOCK=$ASTRID_HOME/run/capsule-listener.sock
client() { # client TOKEN FRAME... : prints each reply frame, one per line
  python3 - "$SOCK" "$@" <<'PY'
import json, socket, struct, sys
path, token, frames = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(path)
def send(b): s.sendall(struct.pack(">I", len(b)) + b)
def recv():
    h = b""
    while len(h) < 4:
        c = s.recv(4 - len(h))
        if not c: return None
        h += c
    n = struct.unpack(">I", h)[0]; b = b""
    while len(b) < n: b += s.recv(n - len(b))
    return b.decode()
send(json.dumps({"token": token, "protocol_version": 1, "client_version": "0.6.0"}).encode())
print(recv())
for f in frames:
    send(f.encode()); print(recv())
PY
}

build_capsule "$ASTRID_SRC/tests/capsules/listener"
ok_if "start" $A start
ok_if "capsule install listener" $A capsule install "$O/listener.capsule"
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
ok_if "the capsule's socket exists" test -S "$SOCK"
ok_if "  mode 0600" bash -c "[[ \$(stat -c %a '$SOCK') == 600 ]]"
TOKEN=$(cat "$ASTRID_HOME/run/system.token")
out=$(client 0000000000000000000000000000000000000000000000000000000000000000 2>&1)
ok_if "a wrong token is refused" grep -q '"reason": *"authentication failed"' <<<"$out"
out=$(client "$TOKEN" hello again bye 2>&1)
ok_if "the session token is accepted" grep -q '"status": *"ok"' <<<"$(head -1 <<<"$out")"
ok_if "  a frame comes back" grep -q '{"echo":"hello"}' <<<"$out"
ok_if "  and another" grep -q '{"echo":"again"}' <<<"$out"
expect_eq "  bye closes the stream from the capsule's side" "$(tail -1 <<<"$out")" "None"
ok_if "the capsule logged both clients" bash -c "[[ \$(grep -c 'client ' '$ASTRID_HOME'/home/default/.local/log/listener/*.log) -ge 1 ]]"
ok_if "capsule remove listener" $A capsule remove listener
ok_if "  the socket is gone" test ! -e "$SOCK"
ok_if "the daemon is alive" $A status
echo "1..$_tap_n"
