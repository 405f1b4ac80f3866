"""Private delivery probe for tests/integration/bus_private.sh, speaking the
wire directly with two connections in one process:

  private_probe.py HOME WATCHER REQUESTER

WATCHER (a system:bus holder) subscribes to every wide pattern the
subscription syntax allows; REQUESTER sends management and admin requests
(several in flight at once), a subscription, a refused publish, forged
replies, a request claiming an addressee (the watcher's source UUID, learnt
from one of its broadcasts) and an approval answer. Prints one JSON report:
  watcher_subscribed     patterns the daemon accepted for the watcher
  watcher_private        private-topic frames the watcher received
  watcher_saw_forge      the watcher saw the requester's demo.v1.forge broadcast
  forge_frame_keys       keys of that frame (a claimed addressee must not appear)
  requester_replies      {request_id: topic} of the replies the requester got
  correlated             every in-flight request got its own reply
  forged_refusals        {topic: daemon's answer} for publishes on private topics
  answer_refused         the daemon's answer to the approval answer (None = accepted)"""
import json, os, socket, sys, time, uuid
sys.path.insert(0, os.path.dirname(__file__))
import astrid_wire as w

PRIVATE = ("astrid.v1.response.", "astrid.v1.admin.response.", "astrid.v1.connection.response.",
           "astrid.v1.approval", "astrid.v1.elicit")
WIDE = ["astrid.*", "astrid.v1.*", "astrid.v1.response.*", "astrid.v1.admin.*",
        "astrid.v1.admin.response.*", "astrid.v1.connection.*", "astrid.v1.connection.response.*",
        "astrid.v1.response.status", "astrid.v1.admin.response.agent.list",
        "astrid.v1.approval.*", "astrid.v1.approval.response.*", "demo.v1.*"]


def open_conn(home, principal):
    s = w.connect(home)
    hs = w.handshake(s, home, principal)
    if hs.get("status") != "ok":
        print(json.dumps({"handshake": hs}))
        sys.exit(1)
    return s


def subscribe(s, pattern):
    w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": pattern}})
    while True:
        m = w.recv(s)
        if m is None or m.get("topic") == "astrid.v1.connection.response.subscribe":
            return m is not None and m["payload"].get("status") == "success"


def drain(s, secs):
    """Every frame arriving within `secs`."""
    out, end = [], time.time() + secs
    while True:
        left = end - time.time()
        if left <= 0:
            return out
        s.settimeout(left)
        try:
            m = w.recv(s)
        except socket.timeout:
            return out
        if m is None:
            return out
        out.append(m)


def main():
    home, watcher, requester = sys.argv[1], sys.argv[2], sys.argv[3]
    a = open_conn(home, watcher)
    report = {"watcher_subscribed": [p for p in WIDE if subscribe(a, p)]}
    b = open_conn(home, requester)
    if not subscribe(b, "demo.v1.*"):
        print(json.dumps({"requester": "subscribe demo.v1.* refused"}))
        sys.exit(1)
    # the watcher's source UUID, as any subscriber of its broadcasts learns it
    w.send(a, {"topic": "demo.v1.hello", "payload": {}})
    a_src = None
    for m in drain(b, 1.0):
        if m.get("topic") == "demo.v1.hello":
            a_src = m.get("source_id")
    # several requests in flight at once, then the rest
    ids = {}
    reqs = [("astrid.v1.request.status", {"method": "GetStatus"}),
            ("astrid.v1.request.status", {"method": "GetStatus"}),
            ("astrid.v1.request.capsules", {"method": "ListCapsules"}),
            ("astrid.v1.admin.agent.list", {"method": "AgentList"}),
            ("astrid.v1.admin.group.list", {"method": "GroupList"})]
    for topic, payload in reqs:
        rid = str(uuid.uuid4())
        ids[rid] = topic
        w.send(b, {"topic": topic, "payload": dict(payload, request_id=rid)})
    # a request claiming the watcher as its addressee, in every spelling
    forged_rid = str(uuid.uuid4())
    claim = {k: a_src for k in ("to", "to_source", "addressee", "target", "reply_to")}
    claim["to_principal"] = watcher
    ids[forged_rid] = "astrid.v1.request.status"
    w.send(b, dict({"topic": "astrid.v1.request.status",
                    "payload": dict(claim, method="GetStatus", request_id=forged_rid)}, **claim))
    # a broadcast claiming an addressee: stays a broadcast, the claim dropped
    w.send(b, dict({"topic": "demo.v1.forge", "payload": {"x": 1}}, **claim))
    # replies and private events forged by a client (system:bus or not)
    forged_topics = ["astrid.v1.response.status", "astrid.v1.admin.response.agent.list",
                     "astrid.v1.connection.response.subscribe", "astrid.v1.approval",
                     "astrid.v1.elicit"]
    for t in forged_topics:
        w.send(b, {"topic": t, "payload": {"status": "success", "data": {"forged": True}}})
    w.send(b, {"topic": "astrid.v1.approval.response.r1", "payload": {"decision": "approve"}})
    got = drain(b, 2.0)
    replies = {}
    refusals = {}
    for m in got:
        t, p = m.get("topic", ""), m.get("payload", {})
        if p.get("request_id") in ids:
            replies[p["request_id"]] = t
        if t == "astrid.v1.connection.response.publish":
            refusals[p.get("topic")] = p.get("data")
    report["requester_replies"] = replies
    report["correlated"] = all(
        replies.get(rid) == topic.replace("astrid.v1.request.", "astrid.v1.response.")
        .replace("astrid.v1.admin.", "astrid.v1.admin.response.")
        for rid, topic in ids.items())
    report["forged_refusals"] = {t: refusals.get(t) for t in forged_topics}
    report["answer_refused"] = refusals.get("astrid.v1.approval.response.r1")
    seen = drain(a, 1.0)
    report["watcher_private"] = [m.get("topic") for m in seen
                                 if m.get("topic", "").startswith(PRIVATE)]
    forge = [m for m in seen if m.get("topic") == "demo.v1.forge"]
    report["watcher_saw_forge"] = bool(forge)
    report["forge_frame_keys"] = sorted(forge[0].keys()) if forge else []
    report["forge_frame_principal"] = forge[0].get("principal") if forge else None
    print(json.dumps(report))


main()
