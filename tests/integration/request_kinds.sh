#!/usr/bin/env bash
# Issue #13, one request pipeline: every failed management or admin reply
# keeps upstream's {"status":"error","data":"<message>"} and adds
# "error": {"kind", "message"}; each kind comes from a real request; an
# admin method sent on another method's topic is refused as invalid and
# does nothing; the CLI's exit codes follow the kind (docs/cli.md).
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
trap '$A stop >/dev/null 2>&1; sleep 0.2; rm -rf "$TEST_TMP"' EXIT
WIRE="python3 $ASTRID_SRC/tests/tools/astrid_wire.py"
# `astrid start` sends the daemon's stderr to /dev/null: sanitizer reports
# (leaks at exit included) go to files checked at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$TEST_TMP/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$TEST_TMP/san"
# req [PRINCIPAL=..] TOPIC METHOD [PARAMS]: the reply payload as JSON.
req() { $WIRE "$ASTRID_HOME" request "$@"; }
# check NAME REPLY KIND DATA: status error, data exactly DATA, the kind,
# error.message == data, and the keys in upstream's order plus error last.
check() {
  ok_if "$1" python3 - "$2" "$3" "$4" <<'PY'
import json, sys
r, kind, data = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
assert r is not None, "no reply"
assert list(r) == ["request_id", "status", "data", "error"], list(r)
assert r["status"] == "error", r
assert r["data"] == data, (r["data"], data)
assert r["error"] == {"kind": kind, "message": data}, r["error"]
PY
}
no_error_key() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['status'] != 'error' and 'error' not in r, r" "$1"; }

ok_if "start" $A start
ok_if "agent create bob (group agent)" $A agent create bob
ok_if "agent create carol" $A agent create carol
H=$ASTRID_HOME

# --- each kind from a real request, next to unchanged status/data ---
r=$(PRINCIPAL=bob req astrid.v1.admin.agent.create AgentCreate '{"name":"eve"}')
check "missing capability: permission_denied" "$r" permission_denied \
  "permission denied for principal bob: missing capability agent:create"
r=$(PRINCIPAL=bob req astrid.v1.request.shutdown Shutdown)
check "management denial: permission_denied" "$r" permission_denied \
  "permission denied for principal bob: missing capability system:shutdown"
ok_if "revoke carol's self:*" $A caps revoke carol 'self:*'
r=$(PRINCIPAL=carol req astrid.v1.request.list ListCapsules)
ok_if "revoked capability: permission_denied" python3 -c "
import json,sys; r=json.loads(sys.argv[1]); assert r['error']['kind']=='permission_denied' and 'revoked' in r['data'] and r['error']['message']==r['data'], r" "$r"

r=$(req astrid.v1.admin.caps.grant CapsGrant '{"principal":"ghost","capabilities":["a:b"]}')
check "unknown principal: not_found" "$r" not_found \
  "principal ghost does not exist (no profile.toml at $H/etc/profiles/ghost.toml)"
r=$(req astrid.v1.admin.quota.get QuotaGet '{"principal":"ghost"}')
ok_if "quota.get of a phantom: not_found" python3 -c "
import json,sys; assert json.loads(sys.argv[1])['error']['kind']=='not_found'" "$r"
# The preamble runs before any lookup: a caller without the capability
# learns nothing about whether the target exists (no existence oracle).
r1=$(PRINCIPAL=bob req astrid.v1.admin.quota.get QuotaGet '{"principal":"ghost"}')
r2=$(PRINCIPAL=bob req astrid.v1.admin.quota.get QuotaGet '{"principal":"carol"}')
check "bob's QuotaGet of a phantom: permission_denied" "$r1" permission_denied \
  "permission denied for principal bob: missing capability quota:get"
check "  the same as of a real agent" "$r2" permission_denied \
  "permission denied for principal bob: missing capability quota:get"
r=$(req astrid.v1.admin.group.delete GroupDelete '{"name":"nosuch"}')
check "unknown group: not_found" "$r" not_found "group.delete rejected: unknown group 'nosuch'"

r=$(req astrid.v1.admin.agent.create AgentCreate '{"name":"bob"}')
check "duplicate agent: conflict" "$r" conflict "principal bob already exists"
ok_if "group create ops" $A group create ops --caps system:status
r=$(req astrid.v1.admin.group.create GroupCreate '{"name":"ops","capabilities":["system:status"]}')
check "duplicate group: conflict" "$r" conflict "group.create rejected: group 'ops' already exists"

r=$(req astrid.v1.admin.caps.grant CapsGrant '{"principal":"bob","capabilities":["not a cap"]}')
ok_if "invalid capability: invalid" python3 -c "
import json,sys; r=json.loads(sys.argv[1]); assert r['status']=='error' and r['error']['kind']=='invalid' and r['data'].startswith(\"invalid capability 'not a cap'\") and r['error']['message']==r['data'], r" "$r"
r=$(req astrid.v1.admin.agent.enable AgentEnable '{"principal":7}')
check "params of the wrong type: invalid" "$r" invalid "params.principal must be a string"
r=$(req astrid.v1.admin.agent.list AgentList '"x"')
check "params not an object: invalid" "$r" invalid "params must be an object"
r=$(req astrid.v1.request.status NoSuchMethod)
check "unknown management method: invalid" "$r" invalid "unknown method 'NoSuchMethod'"
r=$(req astrid.v1.admin.agent.list GetStatus)
check "a management method on an admin topic: invalid" "$r" invalid "unknown admin method 'GetStatus'"

# (`unavailable` has no management method left to show it: ApproveCapability
# is built, docs/authority.md; the errcode -> kind mapping is test_requests')
r=$(req astrid.v1.request.approve ApproveCapability '{"request_id":"x","signature":"y"}')
check "ApproveCapability of no pending prompt: not_found" "$r" not_found \
  "no pending approval request x"

# A profile broken on disk is the daemon's state, not the request's fault.
printf 'groups = [\n' >"$H/etc/profiles/dora.toml"
r=$(req astrid.v1.admin.caps.grant CapsGrant '{"principal":"dora","capabilities":["a:b"]}')
ok_if "a profile that does not load: internal" python3 -c "
import json,sys; r=json.loads(sys.argv[1]); assert r['error']['kind']=='internal' and r['data'].startswith('profile of dora cannot be loaded'), r" "$r"
rm -f "$H/etc/profiles/dora.toml"

r=$(req astrid.v1.request.status GetStatus)
ok_if "a success reply has no error member" no_error_key "$r"
r=$(req astrid.v1.admin.agent.list AgentList)
ok_if "an admin success reply has no error member" no_error_key "$r"

# --- the admin topic names the method ---
r=$(req astrid.v1.admin.caps.grant AgentCreate '{"name":"mallory"}')
check "AgentCreate on astrid.v1.admin.caps.grant: invalid" "$r" invalid \
  "method AgentCreate belongs on astrid.v1.admin.agent.create, not on astrid.v1.admin.caps.grant"
ok_if "  and no agent was created" test ! -e "$H/etc/profiles/mallory.toml"
ok_if "  nor audited under either name" bash -c "[[ -s '$H/home/default/.local/audit/audit.jsonl' ]] && ! grep -q mallory '$H/home/default/.local/audit/audit.jsonl'"
r=$(req astrid.v1.admin.agent.list CapsGrant '{"principal":"bob","capabilities":["x:y"]}')
check "CapsGrant on the read-only agent.list topic: invalid" "$r" invalid \
  "method CapsGrant belongs on astrid.v1.admin.caps.grant, not on astrid.v1.admin.agent.list"
ok_if "  and bob holds no new grant" bash -c "! grep -q 'x:y' '$H/etc/profiles/bob.toml'"
r=$(req astrid.v1.admin.caps.grant.extra CapsGrant '{"principal":"bob","capabilities":["x:y"]}')
ok_if "a longer suffix is refused too (answered on its own reply topic)" python3 -c "
import json,sys; r=json.loads(sys.argv[1]); assert r['error']['kind']=='invalid', r" "$r"
r=$(req astrid.v1.admin.caps.grant CapsGrant '{"principal":"bob","capabilities":["x:y"]}')
ok_if "the same request on its own topic is served" no_error_key "$r"

# --- the CLI's exit code follows the kind (docs/cli.md, Exit codes) ---
out=$($A agent create bob 2>&1); rc=$?
expect_eq "conflict: exit 1" "$rc" 1
expect_eq "  with the daemon's message" "$out" "astrid: principal bob already exists"
out=$($A caps grant ghost a:b 2>&1); rc=$?
expect_eq "not_found: exit 1" "$rc" 1
expect_eq "  with the daemon's message" "$out" \
  "astrid: principal ghost does not exist (no profile.toml at $H/etc/profiles/ghost.toml)"
out=$($A group delete admin 2>&1); rc=$?
expect_eq "invalid: exit 1" "$rc" 1
expect_eq "  with the daemon's message" "$out" \
  "astrid: group.delete rejected: group 'admin' is built-in and cannot be changed"
printf 'groups = [\n' >"$H/etc/profiles/dora.toml"
out=$($A caps grant dora a:b 2>&1); rc=$?
expect_eq "internal: exit 1" "$rc" 1
rm -f "$H/etc/profiles/dora.toml"
ok_if "agent switch bob" $A agent switch bob
out=$($A agent create eve 2>&1); rc=$?
expect_eq "permission_denied (admin): exit 1" "$rc" 1
expect_eq "  with the daemon's message" "$out" \
  "astrid: permission denied for principal bob: missing capability agent:create"
out=$($A status 2>&1); rc=$?
expect_eq "permission_denied (management): exit 1" "$rc" 1
expect_eq "  prefixed with the method, as before" "$out" \
  "astrid: GetStatus: permission denied for principal bob: missing capability system:status"
ok_if "agent switch default" $A agent switch default
# unavailable -> exit 2 needs a verb sending an unbuilt method; none does:
# test_cli_daemon scripts that reply.

pid=$(req astrid.v1.request.status GetStatus | python3 -c "import json,sys; print(json.load(sys.stdin)['data']['pid'])")
ok_if "stop" $A stop
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ok_if "the daemon exited" bash -c "! kill -0 $pid 2>/dev/null"
ok_if "no sanitizer report from the daemon or the CLI" bash -c "! ls '$TEST_TMP'/san.* >/dev/null 2>&1"
