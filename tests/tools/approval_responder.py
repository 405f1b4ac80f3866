"""An auto-answering human for the approval and elicit flows
(tests/integration/gate_approval.sh, bench/bench_gate.sh).

  approval_responder.py HOME PRINCIPAL listen DECISION [ELICIT_VALUE]
      connect as PRINCIPAL, subscribe to astrid.v1.approval and
      astrid.v1.elicit (no system:bus needed), print "ready", then print
      every prompt as one JSON line and, unless DECISION is "none", answer
      it (approvals with DECISION, elicits with ELICIT_VALUE) on
      astrid.v1.{approval,elicit}.response.<request_id>. Runs until killed.
  approval_responder.py HOME PRINCIPAL answer REQUEST_ID DECISION
      connect as PRINCIPAL and publish one approval answer, then wait for
      the daemon's refusal (printed) or 0.5 s of silence.
  approval_responder.py HOME PRINCIPAL request TOPIC JSON
      connect as PRINCIPAL (needs system:bus), subscribe to TOPIC.reply,
      publish JSON on TOPIC and print the first reply's payload (no CLI
      context switch, so several agents can ask at once)."""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
import astrid_wire as w


def main():
    home, principal, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    s = w.connect(home)
    hs = w.handshake(s, home, principal)
    if hs.get("status") != "ok":
        print(json.dumps({"handshake": hs}), flush=True)
        return 1
    if mode == "request":
        topic, body = sys.argv[4], json.loads(sys.argv[5])
        w.send(s, {"topic": "astrid.v1.connection.subscribe",
                   "payload": {"pattern": topic + ".reply"}})
        w.recv(s)
        w.send(s, {"topic": topic, "payload": body})
        s.settimeout(30)
        while True:
            m = w.recv(s)
            if m is None:
                return 1
            if m.get("topic") == topic + ".reply":
                print(json.dumps(m["payload"], separators=(",", ":")), flush=True)
                return 0
    if mode == "answer":
        rid, decision = sys.argv[4], sys.argv[5]
        w.send(s, {"topic": "astrid.v1.approval.response." + rid,
                   "payload": {"type": "approval_response", "request_id": rid,
                               "decision": decision}})
        s.settimeout(0.5)
        try:
            m = w.recv(s)
            print(json.dumps(m), flush=True)
        except OSError:
            print("sent", flush=True)
        return 0
    decision = sys.argv[4]
    value = sys.argv[5] if len(sys.argv) > 5 else "v"
    for pat in ("astrid.v1.approval", "astrid.v1.elicit"):
        w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": pat}})
        r = w.recv(s)
        if r is None or r["payload"].get("status") != "success":
            print(json.dumps({"subscribe": r}), flush=True)
            return 1
    print("ready", flush=True)
    s.settimeout(None)
    while True:
        m = w.recv(s)
        if m is None:
            return 0
        p = m.get("payload", {})
        print(json.dumps({"topic": m.get("topic"), "principal": m.get("principal"),
                          "payload": p}), flush=True)
        if decision == "none":
            continue
        rid = p.get("request_id")
        if p.get("type") == "approval_required":
            w.send(s, {"topic": "astrid.v1.approval.response." + rid,
                       "payload": {"type": "approval_response", "request_id": rid,
                                   "decision": decision}})
        elif p.get("type") == "elicit_request":
            w.send(s, {"topic": "astrid.v1.elicit.response." + rid,
                       "payload": {"type": "elicit_response", "request_id": rid,
                                   "value": value}})


if __name__ == "__main__":
    sys.exit(main())
