# Daemon boot: layout and modes, single instance, stale socket, seeding,
# management requests through the Layer 5 preamble, graceful shutdown.
source "$ASTRID_SRC/tests/lib.sh"
source "$ASTRID_SRC/tests/integration/kernel_lib.sh"
H=$(mktemp_dir)/home
ok_if "daemon boots and writes system.ready" start_daemon "$H"
pid=$DAEMON_PID
mode() { stat -c %a "$1"; }
for d in "" etc etc/hooks var run log keys bin wit home home/default home/default/.local \
         home/default/.local/audit home/default/.config/env; do
  expect_eq "dir ${d:-.} is 0700" "$(mode "$H/$d")" 700
done
for f in keys/runtime.key run/system.token run/system.sock etc/profiles/default.toml; do
  expect_eq "$f is 0600" "$(mode "$H/$f")" 600
done
expect_eq "runtime.key is a 32-byte seed" "$(stat -c %s "$H/keys/runtime.key")" 32
ok_if "token is 64 hex chars" grep -qxE '[0-9a-f]{64}' "$H/run/system.token"
ok_if "runtime.pub is hex" grep -qxE '[0-9a-f]{64}' "$H/keys/runtime.pub"
toml_get() { python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb")).get(sys.argv[2]))' "$1" "$2"; }
expect_eq "default seeded with admin" "$(toml_get "$H/etc/profiles/default.toml" groups)" "['admin']"
expect_eq "layout-version" "$(cat "$H/etc/layout-version")" 1

out=$(ASTRID_HOME=$H "$BIN/astrid-daemon" 2>&1); rc=$?
expect_eq "second daemon refused" "$rc" 1
ok_if "second daemon names the reason" grep -q "already running" <<<"$out"

st=$($WIRE "$H" request astrid.v1.request.status GetStatus)
ok_if "GetStatus answers" python3 -c "
import json,sys; d=json.loads(sys.argv[1]); assert d['status']=='status'
s=d['data']; assert s['pid']==$pid and s['version'] and s['ephemeral'] is False
assert s['connected_clients']==1 and s['connections_by_principal']==[{'principal':'default','count':1}]" "$st"

# A principal without the capability is denied, and the denial is recorded.
printf 'groups = ["restricted"]\n' > "$H/etc/profiles/bob.toml"
mkdir -p "$H/home/bob/.local/audit"
r=$(PRINCIPAL=bob $WIRE "$H" request astrid.v1.request.shutdown Shutdown)
ok_if "Shutdown without system:shutdown is denied" grep -q "permission denied for principal bob: missing capability system:shutdown" <<<"$r"
ok_if "denial is audited" grep -q '"type":"denied"' "$H/home/bob/.local/audit/audit.jsonl"
ok_if "audit verify passes" env ASTRID_HOME="$H" "$BIN/astrid" audit verify -a bob
r=$(PRINCIPAL=bob $WIRE "$H" request astrid.v1.request.list ListCapsules)
ok_if "restricted has no implicit capability" grep -q "missing capability self:capsule:list" <<<"$r"
printf 'groups = ["agent"]\n' > "$H/etc/profiles/erin.toml"
mkdir -p "$H/home/erin/.local/audit"
r=$(PRINCIPAL=erin $WIRE "$H" request astrid.v1.request.list ListCapsules)
ok_if "agent may list its capsules (self:*)" grep -q '"status": "success"' <<<"$r"
r=$(PRINCIPAL=erin $WIRE "$H" request astrid.v1.request.status GetStatus)
ok_if "agent denied the system surface" grep -q "missing capability system:status" <<<"$r"
printf 'groups = ["admin"]\nrevokes = ["system:status"]\n' > "$H/etc/profiles/carol.toml"
r=$(PRINCIPAL=carol $WIRE "$H" request astrid.v1.request.status GetStatus)
ok_if "revoke beats admin" grep -q "revoked" <<<"$r"
printf 'enabled = false\ngroups = ["admin"]\n' > "$H/etc/profiles/dave.toml"
r=$(PRINCIPAL=dave $WIRE "$H" handshake)
ok_if "disabled principal refused at handshake" grep -q "disabled" <<<"$r"
r=$(PRINCIPAL=ghost $WIRE "$H" handshake)
ok_if "unknown principal refused" grep -q "does not exist" <<<"$r"
r=$(PRINCIPAL=../etc $WIRE "$H" handshake)
ok_if "invalid principal refused" grep -q '"status": "error"' <<<"$r"
r=$($WIRE "$H" request astrid.v1.request.reload ReloadCapsules)
ok_if "ReloadCapsules reloads" grep -q '"reloaded"' <<<"$r"
r=$($WIRE "$H" request astrid.v1.request.install InstallCapsule '{"source":"/x"}')
ok_if "InstallCapsule (served by the daemon) names a missing source" grep -q '"/x: No such file or directory", "error": {"kind": "not_found"' <<<"$r"

r=$($WIRE "$H" request astrid.v1.request.shutdown Shutdown '{"reason":"test"}')
ok_if "Shutdown acknowledged" grep -q shutting_down <<<"$r"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ok_if "daemon exited after Shutdown" bash -c "! kill -0 $pid 2>/dev/null"
ok_if "socket, token, ready removed" bash -c "[[ ! -e $H/run/system.sock && ! -e $H/run/system.token && ! -e $H/run/system.ready ]]"
ok_if "daemon sanitizer-clean" sanitizer_clean "$H"

# Stale socket from a killed daemon is replaced; the key is reused.
pub=$(cat "$H/keys/runtime.pub")
start_daemon "$H"; pid=$DAEMON_PID
kill -KILL "$pid"; sleep 0.2
ok_if "killed daemon left its socket" test -S "$H/run/system.sock"
ok_if "new daemon replaces the stale socket" start_daemon "$H"
expect_eq "runtime key reused" "$(cat "$H/keys/runtime.pub")" "$pub"
ok_if "it answers" grep -q '"status": "status"' <<<"$($WIRE "$H" request astrid.v1.request.status GetStatus)"
stop_daemon "$DAEMON_PID"

# Legacy profile migration and no re-seeding of a profile that names a group.
H2=$(mktemp_dir)/home
mkdir -p "$H2/home/default/.config" "$H2/etc/profiles"
printf 'groups = ["restricted"]\n' > "$H2/home/default/.config/profile.toml"
start_daemon "$H2"
expect_eq "legacy profile migrated, not re-seeded" "$(toml_get "$H2/etc/profiles/default.toml" groups)" "['restricted']"
ok_if "legacy file gone" test ! -e "$H2/home/default/.config/profile.toml"
stop_daemon "$DAEMON_PID"

# Malformed groups.toml: refuse to boot, naming file and line.
H3=$(mktemp_dir)/home
mkdir -p "$H3/etc"; printf '[groups.ops]\ncapabilities = [\n' > "$H3/etc/groups.toml"
out=$(ASTRID_HOME=$H3 "$BIN/astrid-daemon" 2>&1); rc=$?
expect_eq "malformed groups.toml refuses boot" "$rc" 1
ok_if "error names the file and line" grep -qE 'groups.toml.*line [0-9]+' <<<"$out"

# Ephemeral idle shutdown (variable overrides the 30 s default).
H4=$(mktemp_dir)/home
ASTRID_IDLE_TIMEOUT_SECS=1 start_daemon "$H4" --ephemeral; pid=$DAEMON_PID
$WIRE "$H4" request astrid.v1.request.status GetStatus >/dev/null
for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ok_if "ephemeral daemon exits when idle" bash -c "! kill -0 $pid 2>/dev/null"

# Audit tamper: flip one byte of a signed entry; offline verify fails naming it.
log=$H/home/default/.local/audit/audit.jsonl
ok_if "default's audit log verifies (daemon stopped)" env ASTRID_HOME="$H" "$BIN/astrid" audit verify
python3 - "$log" <<'PY'
import sys
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
l = bytearray(lines[1]); i = l.index(b'"method":"') + 10; l[i] ^= 0x01; lines[1] = bytes(l)
open(p, "wb").write(b"\n".join(lines))
PY
out=$(ASTRID_HOME=$H "$BIN/astrid" audit verify 2>&1); rc=$?
expect_eq "tampered log fails verify" "$rc" 1
ok_if "failure names the entry" grep -qiE 'line 2|entry' <<<"$out"
