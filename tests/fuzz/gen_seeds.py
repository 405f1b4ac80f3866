#!/usr/bin/env python3
"""Regenerate the seed corpora of the fuzz targets added for issue #18 from
the repository's own fixtures (Capsule.toml files, Distro.toml, WIT files,
the SSE and MCP streams of the unit and integration tests) plus a few
hand-written inputs of each shape. Each seed is named by its SHA-1, as
libFuzzer names corpus entries. Run from anywhere: python3 tests/fuzz/gen_seeds.py
(archives for fuzz_unpack are built with tarfile, so no astrid-build is needed)."""
import glob
import gzip
import hashlib
import io
import json
import os
import struct
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


def frame(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


# ---- fuzz_manifest: every Capsule.toml in the tree (both forms)
manifests = sorted(glob.glob(os.path.join(ROOT, "capsules", "**", "Capsule.toml"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "tests", "capsules", "**", "Capsule.toml"),
                               recursive=True))
for m in manifests:
    put("fuzz_manifest", read(os.path.relpath(m, ROOT)))
put("fuzz_manifest", '[package]\nname = "v06"\nversion = "0.1.0"\n\n'
    '[publish]\n"app.out.v1" = { wit = "note" }\n\n[subscribe]\n"app.in.*" = { handler = "on-in" }\n\n'
    '[imports]\n"astrid:llm" = "^1.0"\n[exports]\n"app:note" = "1.0.0"\n\n'
    '[[topic]]\nname = "app.out.v1"\nwit_type = "note"\n\n'
    '[[mcp_server]]\nid = "mem"\ntype = "stdio"\ncommand = "npx"\nargs = ["-y", "server"]\n\n'
    '[capabilities]\nhost_process = ["npx"]\nfs_read = ["cwd://"]\n')

# ---- fuzz_distro: byte 0 even = Distro.toml, odd = Distro.lock
for d in glob.glob(os.path.join(ROOT, "distros", "*", "Distro.toml")):
    put("fuzz_distro", b"\x00" + read(os.path.relpath(d, ROOT)))
put("fuzz_distro", b"\x00" + b'schema-version = 1\n\n[distro]\nid = "mini"\nname = "Mini"\n'
    b'version = "0.1.0"\nastrid-version = ">=0.6.0"\n\n[variables.api_key]\nsecret = true\n'
    b'description = "key"\n\n[variables.model]\ndefault = "m1"\n\n[[capsule]]\nname = "llm"\n'
    b'source = "@org/llm"\nversion = "1.0.0"\nrole = "uplink"\n'
    b'env = { KEY = "{{ api_key }}", MODEL = "{{model}}-x" }\n')
put("fuzz_distro", b"\x01" + b'schema-version = 1\n\n[distro]\nid = "mini"\nversion = "0.1.0"\n'
    b'resolved-at = "2026-01-01T00:00:00Z"\n\n[[capsule]]\nname = "llm"\nversion = "1.0.0"\n'
    b'source = "@org/llm"\nhash = "blake3:' + b"ab" * 32 + b'"\n')

# ---- fuzz_wit (dictionary only; it has seeds) and fuzz_schema: WIT files
for w in glob.glob(os.path.join(ROOT, "**", "*.wit"), recursive=True):
    rel = os.path.relpath(w, ROOT)
    if rel.startswith("build") or "/seeds/" in rel:
        continue
    put("fuzz_schema", read(rel))
put("fuzz_schema", "package app:note@1.0.0;\ninterface types {\n  /// A note.\n"
    "  record note { title: string, tags: list<string>, when: option<u64>, kind: kind }\n"
    "  enum kind { plain, rich }\n  flags perms { read, write-all }\n"
    "  variant shape { circle(f32), rect(tuple<f32, f32>), none }\n  type id = string;\n"
    "  record wrap { r: result<note, string>, p: perms, s: shape, i: id }\n}\n")

# ---- fuzz_sse: byte 0 = split seed; streams of the unit tests and both APIs
put("fuzz_sse", b"\x07: keep-alive\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\n"
    b"data: line one\ndata:line two\n\ndata\r\rid: 7\nretry: 10\ndata: \xc3\xa9t\xc3\xa9\n\n"
    b"data: [DONE]\n\n")
put("fuzz_sse", b"\x03data: a\r\ndata: b\r\n\r\ndata: cut")
oai = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
       {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1",
        "type": "function", "function": {"name": "read", "arguments": "{\"pa"}}]}}]},
       {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0,
        "function": {"arguments": "th\":\"a\"}"}}]}}]},
       {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7}}]
put("fuzz_sse", b"\x11" + b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in oai)
    + b"data: [DONE]\n\n")
ant = [("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}),
       ("content_block_start", {"type": "content_block_start", "index": 0,
                                "content_block": {"type": "text", "text": ""}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": "Hi"}}),
       ("content_block_start", {"type": "content_block_start", "index": 1,
                                "content_block": {"type": "tool_use", "id": "tu_1", "name": "ls",
                                                  "input": {}}}),
       ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
       ("content_block_stop", {"type": "content_block_stop", "index": 1}),
       ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                          "usage": {"output_tokens": 9}}),
       ("message_stop", {"type": "message_stop"}),
       ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})]
put("fuzz_sse", b"\x2a" + b"".join(b"event: " + n.encode() + b"\ndata: " + json.dumps(e).encode()
                                   + b"\n\n" for n, e in ant))

# ---- fuzz_mcp: server output lines (from tests/mcp/fake_server.js's shapes)
mcp = [{"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25",
        "serverInfo": {"name": "fake", "version": "1"}, "capabilities": {"tools": {}}}},
       {"jsonrpc": "2.0", "method": "notifications/progress",
        "params": {"progressToken": 2, "progress": 1, "total": 3, "message": "working"}},
       {"jsonrpc": "2.0", "id": 7, "method": "ping"},
       {"jsonrpc": "2.0", "id": "r", "method": "roots/list"},
       {"jsonrpc": "2.0", "id": 8, "method": "sampling/createMessage", "params": {}},
       {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"},
       {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}},
       {"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "echo", "description": "e",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}],
        "nextCursor": "c2"}},
       {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "bad arguments"}},
       {"jsonrpc": "2.0", "id": 9, "result": {}}]
put("fuzz_mcp", "".join(json.dumps(m) + "\n" for m in mcp))
put("fuzz_mcp", json.dumps(mcp[:3]) + "\r\n" + "x" * 1500 + "\n{\"id\":2}\n")
put("fuzz_mcp", '{"mcpServers": {\n  "memory": {"command": "node", "args": ["/opt/x/index.js", '
    '"a \\"quoted\\"\\nline", "[[x]]"],\n   "env": {"MEMORY_FILE_PATH": "/tmp/m.json", '
    '"API_KEY": "sk-not-copied"}},\n  "remote": {"url": "https://example.com/mcp"}}}\n')

# ---- fuzz_ipc: a handshake frame, then IpcMessages (docs/wire.md)
hs = frame({"token": "0" * 64, "protocol_version": 1, "client_version": "0.6.0",
            "principal": "default"})
msgs = [{"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": "agent.*"}},
        {"topic": "astrid.v1.request.status", "payload": {"method": "GetStatus",
                                                         "request_id": "r1"}},
        {"topic": "astrid.v1.admin.agent.create", "payload": {"method": "AgentCreate",
                                                              "params": {"name": "alice"}}},
        {"topic": "user.v1.prompt", "payload": {"text": "hi"}, "source_id": "x",
         "principal": "default", "seq": 3, "timestamp": "2026-01-01T00:00:00Z",
         "signature": None},
        {"topic": "astrid.v1.approval.response.abc", "payload": {"decision": "approve"}}]
put("fuzz_ipc", hs + b"".join(frame(m) for m in msgs))
put("fuzz_ipc", frame({"token": "t", "protocol_version": 1, "principal": "erin"})
    + frame({"public_key": "A" * 43 + "=", "signature": "A" * 86 + "=="})
    + frame(msgs[3]))
put("fuzz_ipc", frame({"protocol_version": 1, "principal": "../../etc"}) + frame(msgs[0]))

# ---- fuzz_requests: byte 0 = admin row (table order), then params JSON
rows = ["agent.create", "agent.delete", "agent.enable", "agent.disable", "agent.modify",
        "agent.list", "quota.set", "quota.get", "workspace.diff", "workspace.commit",
        "workspace.discard", "group.create", "group.delete", "group.modify", "group.list",
        "caps.grant", "caps.revoke", "agent.key.add", "agent.key.remove", "agent.key.list",
        "secret.set", "secret.delete", "secret.list", "budget.set", "budget.get"]
params = {
    "agent.create": {"name": "alice", "groups": ["agent"], "grants": ["a:b"]},
    "agent.delete": {"principal": "default"},
    "agent.enable": {"principal": "default"},
    "agent.disable": {"principal": "nobody"},
    "agent.modify": {"principal": "default", "groups": ["agent"], "description": "d"},
    "agent.list": {},
    "quota.set": {"principal": "default", "quotas": {"max_memory_bytes": 1048576,
                                                     "max_timeout_secs": 30,
                                                     "max_storage_bytes": 10}},
    "quota.get": {"principal": "default"},
    "workspace.diff": {"principal": "default"},
    "workspace.commit": {"principal": "default"},
    "workspace.discard": {"principal": "default"},
    "group.create": {"name": "ops", "capabilities": ["capsule:*"], "description": "o",
                     "unsafe_admin": False},
    "group.delete": {"name": "ops"},
    "group.modify": {"name": "agent", "capabilities": ["self:*"]},
    "group.list": {},
    "caps.grant": {"principal": "default", "capabilities": ["fs:read"], "unsafe_admin": False},
    "caps.revoke": {"principal": "default", "capabilities": ["fs:read"]},
    "agent.key.add": {"principal": "default", "public_key": "A" * 43 + "="},
    "agent.key.remove": {"principal": "default", "public_key": "A" * 43 + "="},
    "agent.key.list": {"principal": "default"},
    "secret.set": {"agent": "default", "capsule": "llm", "secrets": {"API_KEY": "sk"},
                   "scope": "agent"},
    "secret.delete": {"agent": "default", "key": "API_KEY", "capsule": "llm"},
    "secret.list": {"agent": "default"},
    "budget.set": {"principal": "default", "budget": {"per_action_usd": 1.5, "session_usd": 10,
                                                      "workspace_usd": 100,
                                                      "warn_at_percent": 80}},
    "budget.get": {"principal": "default"},
}
for i, r in enumerate(rows):
    put("fuzz_requests", bytes([i]) + json.dumps(params[r]).encode())

# ---- fuzz_vfs_path: byte 0 = roots/open mode, then the guest path
for mode in (0, 2, 3, 6):
    for p in ["src/main.c", "cwd://src/deep/../main.c", "home://notes/a.txt", "/tmp/x",
              "/tmp/bob/secret", "out/secret", "src/up/.astrid/state", "ah/keys/runtime.key",
              "home://keys", "home://notes/local/kv/db", "root/etc/passwd", "loop/x",
              "ok/main.c", "state", "cwd://", "home://.config/env.json", "/tmp/notes/a.txt",
              "src/deep/up2/outside/secret", "src/abs", "dangling", "a\x00/../../x",
              "astrid/home/bob/secret"]:
        put("fuzz_vfs_path", bytes([mode]) + p.encode())
# overlong: near and over PATH_MAX, in components, in '..' and in one name
for p in ["a/" * 2047, "../" * 1365, "src/" + "x" * 4091, "home://" + "n/" * 2044,
          "/tmp/" + "y" * 300, "ok/" * 1364]:
    put("fuzz_vfs_path", b"\x02" + p.encode())


# ---- fuzz_unpack: .capsule archives (gzip'd tar) and plain tars, good and hostile
def tar(entries, gz=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            elif kind == "lnk":
                ti.type = tarfile.LNKTYPE
                ti.linkname = data
                t.addfile(ti)
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw


good = [("Capsule.toml", "file", read("capsules/session/Capsule.toml")),
        ("bin", "dir", None), ("bin/session.wasm", "file", b"\x00asm\x01\x00\x00\x00"),
        ("wit/deps/astrid.wit", "file", b"package astrid:x;\n")]
put("fuzz_unpack", tar(good))
put("fuzz_unpack", tar(good, gz=False))
put("fuzz_unpack", tar([("./a/./b", "file", b"x"), ("a/b/", "dir", None)], gz=False))
put("fuzz_unpack", tar([("../escape", "file", b"x")], gz=False))
put("fuzz_unpack", tar([("/abs", "file", b"x")], gz=False))
put("fuzz_unpack", tar([("link", "sym", "../.."), ("link/x", "file", b"x")], gz=False))
put("fuzz_unpack", tar([("f", "file", b"x"), ("h", "lnk", "f")], gz=False))
put("fuzz_unpack", tar([("p", "fifo", None)], gz=False))
put("fuzz_unpack", tar([("d", "file", b"x"), ("d/e", "file", b"y")], gz=False))


# ---- fuzz_envelope: federation envelopes (v1 and v2 batches) sealed with the
# harness's fixed key (seed 0x42 * 32), so mutations start behind a good
# signature; plus broken shapes. Signed bytes as include/astrid/envelope.h.
def envelope_seeds():
    import subprocess
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)

    def b3(data):
        out = subprocess.run(["b3sum", "--no-names", "-"], input=data, capture_output=True,
                             check=True).stdout
        return bytes.fromhex(out.decode().strip())

    def z(s):
        return s.encode() + b"\0"

    def v1(lattice, origin, topic, principal, seq, ts, payload):
        h = b3(payload.encode())
        signed = (z("astrid-fed-v1") + z(lattice) + z(origin) + z(topic) + z(principal) +
                  struct.pack(">Qq", seq, ts) + h)
        return {"v": 1, "lattice": lattice, "origin": origin, "topic": topic,
                "principal": principal, "seq": seq, "ts_ms": ts, "payload_b3": h.hex(),
                "sig": key.sign(signed).hex(), "payload": payload}

    def v2(lattice, origin, topic, entries):
        signed = z("astrid-fed-batch-v2") + z(lattice) + z(origin) + z(topic)
        signed += struct.pack(">I", len(entries))
        out = []
        for principal, seq, ts, payload in entries:
            h = b3(payload.encode())
            signed += z(principal) + struct.pack(">Qq", seq, ts) + h
            out.append({"principal": principal, "seq": seq, "ts_ms": ts, "payload_b3": h.hex(),
                        "payload": payload})
        return {"v": 2, "lattice": lattice, "origin": origin, "topic": topic,
                "sig": key.sign(signed).hex(), "entries": out}

    msg = json.dumps({"topic": "llm.v1.request.generate.fake", "payload": {"request_id": "r1"}})
    ts = 1764900000000
    for env in [
        v1("dev", "A", "llm.v1.request.generate.fake", "alice", 1000, ts, msg),
        v1("dev", "B", "bench.v1.pong.x", "", 7, ts, "{}"),
        v2("dev", "A", "llm.v1.stream.fake", [("alice", 1001, ts, msg), ("bob", 1002, ts, "{}")]),
        v2("dev", "A", "llm.v1.stream.fake", [("alice", 5, ts, "{}"), ("alice", 5, ts, "{}")]),
        v2("dev", "C", "t", [("p%d" % i, 100 + i, ts, "{\"i\":%d}" % i) for i in range(8)]),
    ]:
        put("fuzz_envelope", json.dumps(env, separators=(",", ":")))
    put("fuzz_envelope", '{"v":2,"lattice":"dev","origin":"A","topic":"t","sig":"00","entries":[]}')
    put("fuzz_envelope", '{"v":3}')
    put("fuzz_envelope", '{"v":1,"seq":18446744073709551615,"ts_ms":-1}')


envelope_seeds()
