"""One chat turn over the wire, for tests/integration/chat_turn.sh.

  chat_probe.py HOME PRINCIPAL SESSION PROMPT [--cancel-after N] [--timeout S]
                [--subscribe PATTERN ...] [--no-subscribe]

Subscribes to the frontend patterns (agent.v1.*, session.v1.response.*, ...),
publishes user.v1.prompt, and collects every frame until agent.v1.response
is_final for SESSION (or the timeout). With --cancel-after N it sends the
cancel (empty text, context {"action":"cancel_turn"}) after N deltas.
Prints one JSON object: {subscribe: [replies], deltas: [text], final: payload|null,
tool_calls: [payloads], usage: [payloads], frames: [{topic, principal, session_id}]}.
"""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import astrid_wire as w

FRONTEND = ["agent.v1.*", "session.v1.response.*", "registry.v1.response.*",
            "registry.v1.active_model_changed", "llm.v1.stream.*"]


def main():
    a = sys.argv[1:]
    home, principal, session, prompt = a[:4]
    opts = a[4:]
    cancel_after = None
    timeout = 30.0
    patterns = list(FRONTEND)
    i = 0
    while i < len(opts):
        if opts[i] == "--cancel-after":
            cancel_after = int(opts[i + 1]); i += 2
        elif opts[i] == "--timeout":
            timeout = float(opts[i + 1]); i += 2
        elif opts[i] == "--subscribe":
            patterns = opts[i + 1].split(","); i += 2
        else:
            raise SystemExit("unknown option " + opts[i])
    s = w.connect(home)
    hs = w.handshake(s, home, principal)
    out = {"handshake": hs.get("status"), "subscribe": [], "deltas": [], "final": None,
           "tool_calls": [], "usage": [], "frames": []}
    for p in patterns:
        w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": p}})
        while True:
            m = w.recv(s)
            if m["topic"] == "astrid.v1.connection.response.subscribe":
                out["subscribe"].append(m["payload"].get("status"))
                break
    w.send(s, {"topic": "user.v1.prompt",
               "payload": {"type": "user_input", "text": prompt, "session_id": session}})
    deadline = time.time() + timeout
    cancelled = False
    while time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            m = w.recv(s)
        except OSError:
            break
        if m is None:
            break
        p = m.get("payload") or {}
        out["frames"].append({"topic": m.get("topic"), "principal": m.get("principal"),
                              "session_id": p.get("session_id") if isinstance(p, dict) else None})
        t = m.get("topic")
        if t == "agent.v1.response" and p.get("session_id") == session:
            if p.get("is_final"):
                out["final"] = p
                break
            out["deltas"].append(p.get("text"))
            if cancel_after is not None and not cancelled and len(out["deltas"]) >= cancel_after:
                cancelled = True
                w.send(s, {"topic": "user.v1.prompt",
                           "payload": {"type": "user_input", "text": "", "session_id": session,
                                       "context": {"action": "cancel_turn"}}})
        elif t == "agent.v1.tool_call":
            out["tool_calls"].append(p)
        elif t == "agent.v1.usage":
            out["usage"].append(p)
    # a short grace period to catch anything that still arrives after the end
    s.settimeout(0.5)
    try:
        while True:
            m = w.recv(s)
            if m is None:
                break
            p = m.get("payload") or {}
            out["frames"].append({"topic": m.get("topic"), "principal": m.get("principal"),
                                  "session_id": p.get("session_id") if isinstance(p, dict) else None,
                                  "late": True})
            if m.get("topic") == "agent.v1.response" and not p.get("is_final"):
                out.setdefault("late_deltas", []).append(p.get("text"))
    except OSError:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
