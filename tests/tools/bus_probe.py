"""Bus probes for tests/integration/kernel_bus.sh, speaking the wire directly:
  responder HOME TOPIC     subscribe to TOPIC, answer the first message on
                           TOPIC.reply echoing its request_id, then exit
  forge HOME TOPIC         publish a message that claims principal "mallory"
  flood HOME TOPIC N SIZE  publish N messages with SIZE-byte payloads, then
                           print how many publish errors came back, by reason
  slow HOME PATTERN SECS   subscribe and never read for SECS seconds
PRINCIPAL (env) is the principal claimed at the handshake."""
import json, os, socket, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import astrid_wire as w


def subscribe(s, pattern):
    w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": pattern}})
    while True:
        m = w.recv(s)
        if m is None or m["topic"] == "astrid.v1.connection.response.subscribe":
            return m


def main():
    home, cmd = sys.argv[1], sys.argv[2]
    s = w.connect(home)
    hs = w.handshake(s, home, os.environ.get("PRINCIPAL", "default"))
    if hs.get("status") != "ok":
        print(json.dumps(hs)); sys.exit(1)
    if cmd == "responder":
        topic = sys.argv[3]
        r = subscribe(s, topic)
        if not r or r["payload"].get("status") != "success":
            print(json.dumps(r)); sys.exit(1)
        print("ready", flush=True)
        while True:
            m = w.recv(s)
            if m is None:
                sys.exit(1)
            if m["topic"] == topic:
                p = {"pong": True, "asked_by": m.get("principal")}
                if "request_id" in m["payload"]:
                    p["request_id"] = m["payload"]["request_id"]
                w.send(s, {"topic": topic + ".reply", "payload": p})
                time.sleep(0.2)
                return
    elif cmd == "forge":
        w.send(s, {"topic": sys.argv[3], "payload": {"forged": True}, "principal": "mallory",
                   "source_id": "11111111-1111-1111-1111-111111111111", "seq": 99})
        time.sleep(0.2)
    elif cmd == "flood":
        topic, n, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        for i in range(n):
            w.send(s, {"topic": topic, "payload": {"i": i, "pad": "x" * size}})
        s.settimeout(1.0)
        reasons = {}
        try:
            while True:
                m = w.recv(s)
                if m is None:
                    break
                if "topic" not in m:  # an error frame: the daemon closed us
                    reasons["closed: " + str(m.get("reason"))] = 1
                elif m["topic"] == "astrid.v1.connection.response.publish":
                    d = m["payload"].get("data")
                    reasons[d] = reasons.get(d, 0) + 1
        except socket.timeout:
            pass
        print(json.dumps(reasons))
    elif cmd == "slow":
        subscribe(s, sys.argv[3])
        print("ready", flush=True)
        time.sleep(float(sys.argv[4]))


main()
