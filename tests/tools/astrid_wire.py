"""Minimal wire client for tests: frames, handshake, request/reply.
Used by tests/integration/*.sh as `python3 tests/tools/astrid_wire.py CMD ...`."""
import json, os, socket, struct, sys, uuid


def connect(home):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(home, "run", "system.sock"))
    return s


def send(s, obj):
    body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    s.sendall(struct.pack(">I", len(body)) + body)


def recv(s):
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    (n,) = struct.unpack(">I", hdr)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


def handshake(s, home, principal="default", token=None, version=1):
    if token is None:
        token = open(os.path.join(home, "run", "system.token")).read().strip()
    send(s, {"token": token, "protocol_version": version, "client_version": "test",
             "principal": principal})
    return recv(s)


def request(s, topic, payload, reply):
    payload = dict(payload)
    payload.setdefault("request_id", str(uuid.uuid4()))
    send(s, {"topic": topic, "payload": payload})
    while True:
        m = recv(s)
        if m is None:
            return None
        if m.get("topic") == reply and m["payload"].get("request_id") == payload["request_id"]:
            return m


if __name__ == "__main__":
    home, cmd = sys.argv[1], sys.argv[2]
    principal = os.environ.get("PRINCIPAL", "default")
    s = connect(home)
    hs = handshake(s, home, principal)
    if cmd == "handshake":
        print(json.dumps(hs))
    elif cmd == "request":
        if hs.get("status") != "ok":
            print(json.dumps(hs)); sys.exit(1)
        topic, method = sys.argv[3], sys.argv[4]
        params = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
        payload = {"method": method}
        if params is not None:
            payload["params"] = params
        if topic.startswith("astrid.v1.admin."):
            reply = "astrid.v1.admin.response." + topic[len("astrid.v1.admin."):]
        else:
            reply = topic.replace(".request.", ".response.", 1)
        m = request(s, topic, payload, reply)
        print(json.dumps(m["payload"] if m else None))
