"""Hostile clients against a running daemon. Prints one TAP line per attack;
each checks the daemon answers with an error frame or closes, and that a
well-behaved client still gets GetStatus afterwards."""
import hashlib, os, socket, struct, sys, time

sys.path.insert(0, os.path.dirname(__file__))
import astrid_wire as w

home = sys.argv[1]
n = 0


def tap(ok, name, why=""):
    global n
    n += 1
    print(("ok" if ok else "not ok") + f" {n} - {name}")
    if not ok and why:
        print("# " + why)


def etc_digest():
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(os.path.join(home, "etc"))):
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(p.encode() + open(p, "rb").read())
    return h.hexdigest()


def closed_after(s):
    """Read until EOF; return the frames seen (error frames)."""
    frames = []
    s.settimeout(10)
    try:
        while True:
            m = w.recv(s)
            if m is None:
                return frames
            frames.append(m)
    except (ConnectionResetError, socket.timeout):
        return frames


def status_ok():
    # After a storm the listen backlog may still be full: a client retries.
    for _ in range(100):
        try:
            s = w.connect(home)
            break
        except BlockingIOError:
            time.sleep(0.05)
    else:
        return False
    hs = w.handshake(s, home)
    if hs.get("status") != "ok":
        return False
    m = w.request(s, "astrid.v1.request.status", {"method": "GetStatus"}, "astrid.v1.response.status")
    s.close()
    return bool(m) and m["payload"]["status"] == "status"


def raw_then_check(name, data, after_auth=False, want_reason=None):
    s = w.connect(home)
    if after_auth:
        w.handshake(s, home)
    try:
        s.sendall(data)
    except BrokenPipeError:
        pass
    frames = closed_after(s)
    s.close()
    errs = [f for f in frames if f.get("status") == "error"]
    ok = bool(errs) and (want_reason is None or want_reason in errs[-1].get("reason", ""))
    tap(ok, name + ": error frame then close", repr(frames)[:300])
    tap(status_ok(), name + ": daemon still answers")


before = etc_digest()
frame = lambda b: struct.pack(">I", len(b)) + b
raw_then_check("oversized length", struct.pack(">I", 0x7FFFFFFF), want_reason="exceeds")
raw_then_check("oversized length after auth", struct.pack(">I", 6 * 1024 * 1024), True, "exceeds")
tok = open(os.path.join(home, "run", "system.token")).read().strip()
raw_then_check("bad token", frame(b'{"token":"%s","protocol_version":1}' % (b"0" * 64)),
               want_reason="authentication failed")
raw_then_check("malformed token", frame(b'{"token":"zz","protocol_version":1}'),
               want_reason="authentication failed")
raw_then_check("bad protocol version",
               frame(b'{"token":"%s","protocol_version":2}' % tok.encode()), want_reason="protocol")
raw_then_check("invalid UTF-8", frame(b'{"token":"\xc3\x28"}'), want_reason="UTF-8")
raw_then_check("invalid UTF-8 after auth", frame(b'{"topic":"a.b","payload":"\xff"}'), True, "UTF-8")
deep = b"[" * 10000 + b"]" * 10000
raw_then_check("10000-deep JSON", frame(deep), want_reason="nesting")
raw_then_check("10000-deep JSON after auth", frame(b'{"topic":"a.b","payload":' + deep + b"}"),
               True, "nesting")
raw_then_check("malformed JSON", frame(b'{"token":'), want_reason="malformed")
raw_then_check("not an IpcMessage", frame(b'{"payload":{}}'), True, "topic")

# Truncated frame: the header promises more than ever arrives, then EOF.
s = w.connect(home)
s.sendall(struct.pack(">I", 100) + b'{"tok')
s.shutdown(socket.SHUT_WR)
closed_after(s)
s.close()
tap(status_ok(), "truncated frame: daemon still answers")

# Silent client: no handshake within 5 s gets an error and is closed.
s = w.connect(home)
t0 = time.time()
frames = closed_after(s)
tap(any("handshake" in f.get("reason", "") for f in frames) and time.time() - t0 < 9,
    "silent client closed after the handshake deadline", repr(frames))

# 1000 connections opened and dropped.
for i in range(1000):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(os.path.join(home, "run", "system.sock"))
    if i % 2:
        c.sendall(b"\x00\x00")
    c.close()
tap(status_ok(), "1000 connections opened and dropped: daemon still answers")
tap(etc_digest() == before, "no file under etc/ changed")
