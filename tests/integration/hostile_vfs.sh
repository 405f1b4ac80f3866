#!/usr/bin/env bash
# A hostile capsule against the VFS (issue #12, points 1 and 9). The
# operator's `~` layout: the daemon runs from a workspace W whose .astrid
# is $ASTRID_HOME, started with `astrid start` from W. Agent bob (group
# `agent`, plus system:bus to call capsules) installs tests/capsules/fsprobe
# (fs_read/fs_write = cwd://, home://, /tmp/) and, invoking it as himself,
# tries every way to the kernel's state: every scheme, absolute and `..`
# forms, symlinks planted from the host into keys/, another agent's home
# and his own .local/audit, a dangling symlink into etc/profiles, read,
# write, readdir, stat, exists, mkdir, unlink, and wasi-libc stdio. All
# must fail with a host error naming the path; ordinary work in the
# workspace, home:// and /tmp must still succeed. Then the escalation
# check: after stop and start bob is not admin and the audit chains
# verify. Last, the daemon refuses a workspace that is or lies inside
# $ASTRID_HOME, and in a project workspace its .astrid is out of reach.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
W=$TEST_TMP/w
export ASTRID_HOME=$W/.astrid
H=$ASTRID_HOME
mkdir -p "$W"

# fp OP PATH [DATA]: run one operation through bob's fsprobe, print the reply.
fp() {
  local p
  p=$(python3 -c 'import json,sys; print(json.dumps({"op":sys.argv[1],"path":sys.argv[2],"data":sys.argv[3]}))' "$1" "$2" "${3:-}")
  $A bus request demo.v1.fsprobe "$p" --timeout 20 2>&1
}
# denied NAME OP PATH WANT [DATA]: the operation fails and its error has WANT.
denied() {
  local r
  r=$(fp "$2" "$3" "${5:-}")
  if [[ $(j 'd["ok"]' <<<"$r" 2>/dev/null) == False ]] && grep -qF -- "$4" <<<"$(j 'd["error"]' <<<"$r")"; then
    ok "$1"
  else
    not_ok "$1" "$2 $3: got $r, want an error with [$4]"
  fi
}
# allowed NAME OP PATH [DATA]: the operation succeeds; its result in $res.
allowed() {
  local r
  r=$(fp "$2" "$3" "${4:-}")
  res=$(j 'd["result"]' <<<"$r" 2>/dev/null)
  if [[ $(j 'd["ok"]' <<<"$r" 2>/dev/null) == True ]]; then ok "$1"; else not_ok "$1" "$2 $3: $r"; fi
}
sum() { sha256sum "$@" | cut -c1-64; }

build_capsule "$ASTRID_SRC/tests/capsules/fsprobe"
cd "$W" || exit 1
ok_if "astrid start from the workspace (ASTRID_HOME = workspace/.astrid)" $A start
ok_if "agent create bob" $A agent create bob
ok_if "agent create alice" $A agent create alice
ok_if "bob may call capsules over the bus" $A caps grant bob system:bus
expect_eq "bob starts as a plain agent" "$($A caps check bob agent:create >/dev/null 2>&1; echo $?)" "1"
ok_if "agent switch bob" $A agent switch bob
ok_if "bob installs the hostile capsule" $A capsule install "$O/fsprobe.capsule"
ok_if "  into his own home" test -f "$H/home/bob/.local/capsules/fsprobe/Capsule.toml"

# host-side plants: symlinks into the kernel's state, another agent's
# home and bob's own audit dir; a dangling link where a profile would go
echo "alice's" >"$H/home/alice/diary"
ln -s .astrid/keys "$W/lk-keys"
ln -s .astrid/keys/runtime.key "$W/lk-key"
ln -s "$H/run/system.token" "$W/lk-token-abs"
ln -s .astrid/home/alice "$W/lk-alice"
ln -s .astrid/home/bob/.local/audit "$W/lk-audit"
ln -s .astrid/etc/profiles/carol.toml "$W/lk-dangling"
ln -s .local/audit "$H/home/bob/lk-audit"
ln -s ../alice "$H/home/bob/lk-alice"
ln -s ../../keys "$H/home/bob/lk-keys"
key_sum=$(sum "$H/keys/runtime.key")
prof_sum=$(sum "$H/etc/profiles/bob.toml")
tok_sum=$(sum "$H/run/system.token")
cp "$H/home/bob/.local/audit/audit.jsonl" "$TEST_TMP/audit.before"

# --- reads of the kernel's state, every scheme and path form
K="kernel-owned state"
denied "read cwd://.astrid/keys/runtime.key (audit signing key)" read cwd://.astrid/keys/runtime.key "$K: cwd://.astrid/keys/runtime.key"
denied "read cwd://.astrid/run/system.token" read cwd://.astrid/run/system.token "$K"
denied "read cwd://.astrid/etc/profiles/bob.toml" read cwd://.astrid/etc/profiles/bob.toml "$K"
denied "read cwd://.astrid/etc/profiles/default.toml" read cwd://.astrid/etc/profiles/default.toml "$K"
denied "read cwd://.astrid/var/state.db" read cwd://.astrid/var/state.db "$K"
denied "read cwd://.astrid/keys/runtime.pub" read cwd://.astrid/keys/runtime.pub "$K"
denied "read the absolute form /.astrid/keys/runtime.key" read /.astrid/keys/runtime.key "$K"
denied "read the bare form .astrid/run/system.token" read .astrid/run/system.token "$K"
denied "read cwd://sub/../.astrid/keys/runtime.key ('..')" read cwd://sub/../.astrid/keys/runtime.key "contains '..'"
denied "read home://../../keys/runtime.key ('..' out of home)" read home://../../keys/runtime.key "contains '..'"
denied "read /tmp/../../../../keys/runtime.key" read /tmp/../../../../keys/runtime.key "contains '..'"
denied "read through a planted symlink to keys/ (cwd://lk-keys/runtime.key)" read cwd://lk-keys/runtime.key "$K"
denied "read a planted symlink to the key (cwd://lk-key)" read cwd://lk-key "$K"
denied "read an absolute planted symlink to run/system.token" read cwd://lk-token-abs "$K"
denied "read through home://lk-keys (planted in bob's home)" read home://lk-keys/runtime.key "escapes root boundary"
denied "read alice's file through cwd://.astrid/home/alice" read cwd://.astrid/home/alice/diary "another principal's home"
denied "read alice's file through a planted link (cwd://lk-alice)" read cwd://lk-alice/diary "another principal's home"
denied "read alice's file through home://lk-alice" read home://lk-alice/diary "escapes root boundary"
denied "read home://.local/audit/audit.jsonl" read home://.local/audit/audit.jsonl "(.local/audit)"
denied "read bob's audit through cwd://.astrid/home/bob/.local/audit" read cwd://.astrid/home/bob/.local/audit/audit.jsonl "(.local/audit)"
denied "read bob's audit through a planted link in the workspace" read cwd://lk-audit/audit.jsonl "(.local/audit)"
denied "read bob's audit through a planted link in his home" read home://lk-audit/audit.jsonl "(.local/audit)"
denied "read home://.local/capsules/fsprobe/Capsule.toml" read home://.local/capsules/fsprobe/Capsule.toml "(.local/capsules)"
denied "read home://.local/capsules/fsprobe/meta.json" read home://.local/capsules/fsprobe/meta.json "(.local/capsules)"
denied "read home://.local/log (kernel-written capsule logs)" readdir home://.local/log "(.local/log)"
denied "read home://.config/env" readdir home://.config/env "(.config/env)"
denied "read home://.local/tokens" readdir home://.local/tokens "(.local/tokens)"
denied "read home://.local/kv" readdir home://.local/kv "(.local/kv)"
# --- writes that would escalate or corrupt
denied "write cwd://.astrid/etc/profiles/bob.toml groups=['admin']" write cwd://.astrid/etc/profiles/bob.toml "$K" "groups = ['admin']"
denied "write /.astrid/etc/profiles/bob.toml (absolute form)" write /.astrid/etc/profiles/bob.toml "$K" "groups = ['admin']"
denied "write the profile through the dangling planted link" write cwd://lk-dangling "$K" "groups = ['admin']"
denied "write home://.config/profile.toml (legacy profile migrated at boot)" write home://.config/profile.toml "(.config/profile.toml)" "groups = ['admin']"
denied "write home://.local/audit/audit.jsonl" write home://.local/audit/audit.jsonl "(.local/audit)" "garbage"
denied "write bob's audit through a planted link" write home://lk-audit/audit.jsonl "(.local/audit)" "garbage"
denied "write home://.local/capsules/fsprobe/Capsule.toml" write home://.local/capsules/fsprobe/Capsule.toml "(.local/capsules)" "x"
denied "write home://.local/log/fsprobe/forged.log" write home://.local/log/fsprobe/forged.log "(.local/log)" "x"
denied "write home://.config/env/fsprobe.env.json" write home://.config/env/fsprobe.env.json "(.config/env)" "{}"
denied "write cwd://.astrid/keys/runtime.key" write cwd://.astrid/keys/runtime.key "$K" "x"
denied "write cwd://.astrid/run/system.token" write cwd://.astrid/run/system.token "$K" "x"
denied "write alice's home through cwd://" write cwd://.astrid/home/alice/diary "another principal's home" "x"
# --- listing, stat, exists, mkdir, unlink
allowed "readdir cwd:// (the workspace containing .astrid)" readdir cwd://
ok_if "  lists .astrid by name" grep -qx ".astrid" <<<"${res//\//$'\n'}"
denied "readdir cwd://.astrid does not descend" readdir cwd://.astrid "$K"
denied "readdir cwd://.astrid/etc/profiles" readdir cwd://.astrid/etc/profiles "$K"
denied "readdir cwd://.astrid/home" readdir cwd://.astrid/home "$K"
denied "readdir through the planted link cwd://lk-keys" readdir cwd://lk-keys "$K"
allowed "readdir home://" readdir home://
ok_if "  lists .local by name" grep -qx ".local" <<<"${res//\//$'\n'}"
denied "readdir home://.local" readdir home://.local "(.local)"
denied "stat cwd://.astrid/keys/runtime.key" stat cwd://.astrid/keys/runtime.key "$K"
denied "exists cwd://.astrid/etc/profiles/admin.toml (no existence oracle)" exists cwd://.astrid/etc/profiles/admin.toml "$K"
denied "exists home://.local/audit/audit.jsonl" exists home://.local/audit/audit.jsonl "(.local/audit)"
denied "mkdir cwd://.astrid/etc/profiles/x" mkdir cwd://.astrid/etc/profiles/x "$K"
denied "mkdir home://.local/capsules/evil" mkdir home://.local/capsules/evil "(.local/capsules)"
denied "unlink cwd://.astrid/run/system.token" unlink cwd://.astrid/run/system.token "$K"
denied "unlink home://.local/audit/audit.jsonl" unlink home://.local/audit/audit.jsonl "(.local/audit)"
denied "unlink bob's capsule manifest" unlink home://.local/capsules/fsprobe/Capsule.toml "(.local/capsules)"
denied "unlink home://.local (rename/unlink target in kernel state)" unlink home://.local "(.local)"
# --- wasi-libc stdio: the daemon maps no preopens, so no file is reachable
denied "fopen(/.astrid/keys/runtime.key) through wasi-libc" fopen-read /.astrid/keys/runtime.key "fopen"
denied "fopen(\"w\") through wasi-libc" fopen-write .astrid/etc/profiles/bob.toml "fopen" "groups = ['admin']"
# --- nothing changed on disk
expect_eq "runtime.key unchanged" "$(sum "$H/keys/runtime.key")" "$key_sum"
expect_eq "bob's profile unchanged" "$(sum "$H/etc/profiles/bob.toml")" "$prof_sum"
expect_eq "system.token unchanged" "$(sum "$H/run/system.token")" "$tok_sum"
ok_if "nothing created through the dangling link" test ! -e "$H/etc/profiles/carol.toml"
ok_if "no legacy profile planted" test ! -e "$H/home/bob/.config/profile.toml"
ok_if "no directory made in etc/profiles" test ! -e "$H/etc/profiles/x"
ok_if "bob's capsule manifest still there" test -f "$H/home/bob/.local/capsules/fsprobe/Capsule.toml"
ok_if "bob's audit log still starts as it did (only appended to)" cmp -s -n "$(stat -c %s "$TEST_TMP/audit.before")" "$TEST_TMP/audit.before" "$H/home/bob/.local/audit/audit.jsonl"

# --- ordinary work still succeeds
allowed "mkdir cwd://notes" mkdir cwd://notes
allowed "write cwd://notes/a.txt" write cwd://notes/a.txt "in the workspace"
allowed "read it back" read cwd://notes/a.txt
expect_eq "  same content" "$res" "in the workspace"
ok_if "  landed in bob's overlay, not the workspace" bash -c "[[ ! -e '$W/notes/a.txt' && \$(cat '$H'/home/bob/.local/overlay/*/upper/notes/a.txt) == 'in the workspace' ]]"
allowed "stat cwd://notes/a.txt" stat cwd://notes/a.txt
expect_eq "  a 16-byte file" "$res" "file 16"
allowed "exists cwd://notes/a.txt" exists cwd://notes/a.txt
expect_eq "  true" "$res" "true"
allowed "write home://notes.txt" write home://notes.txt "in bob's home"
allowed "read it back" read home://notes.txt
expect_eq "  same content, in bob's home" "$res/$(cat "$H/home/bob/notes.txt")" "in bob's home/in bob's home"
allowed "write /tmp/scratch" write /tmp/scratch "scratch"
allowed "read /tmp/scratch" read /tmp/scratch
expect_eq "  in bob's .local/tmp" "$res/$(cat "$H/home/bob/.local/tmp/scratch")" "scratch/scratch"
allowed "write bob's home through cwd://.astrid/home/bob" write cwd://.astrid/home/bob/via-cwd "via cwd"
expect_eq "  lands there" "$(cat "$H/home/bob/via-cwd")" "via cwd"
allowed "readdir cwd://notes" readdir cwd://notes
expect_eq "  lists a.txt" "$res" "a.txt"
allowed "unlink cwd://notes/a.txt" unlink cwd://notes/a.txt
allowed "unlink the empty cwd://notes" unlink cwd://notes
ok_if "  gone" test ! -e "$W/notes"

# --- the escalation, end to end: nothing bob did survives a restart
ok_if "agent switch default" $A agent switch default
ok_if "astrid stop" $A stop
ok_if "astrid start (from the workspace again)" $A start
r=$($A caps check bob agent:create 2>&1); rc=$?
expect_eq "after restart bob does not hold agent:create" "$rc" "1"
ok_if "  bob's groups are still ['agent']" grep -q "groups = \[ *['\"]agent['\"] *\]" "$H/etc/profiles/bob.toml"
ok_if "audit verify (default)" $A audit verify
ok_if "audit verify -a bob (his chain was not overwritten)" $A audit verify -a bob

# --- the daemon refuses a workspace that is or lies inside $ASTRID_HOME
ok_if "astrid stop" $A stop
for ws in "$H" "$H/home/bob"; do
  out=$(cd "$ws" && $A start 2>&1); rc=$?
  expect_eq "astrid start from ${ws#"$TEST_TMP"/} is refused" "$rc" "1"
  ok_if "  the log names the workspace and ASTRID_HOME" grep -qF "workspace $ws is" "$H"/log/*
done
out=$("$BIN/astrid-daemon" --workspace "$H/etc" 2>&1); rc=$?
expect_eq "astrid-daemon --workspace \$ASTRID_HOME/etc exits 1" "$rc" "1"
ok_if "  naming both paths" grep -qF "workspace $H/etc is inside ASTRID_HOME $H" <<<"$out"
out=$("$BIN/astrid-daemon" --workspace "$H" 2>&1); rc=$?
ok_if "  and \$ASTRID_HOME itself" grep -qF "workspace $H is the same directory as ASTRID_HOME $H" <<<"$out"

# --- a project workspace beside the home: its .astrid (workspace capsules,
# loaded as default) is kernel state too; links out of it escape
P=$TEST_TMP/proj
mkdir -p "$P/.astrid/capsules"
ln -s "$H/keys" "$P/lk-keys"
cd "$P" || exit 1
ok_if "astrid start from a project workspace" $A start
ok_if "agent switch bob" $A agent switch bob
denied "write cwd://.astrid/capsules/evil/Capsule.toml (would load as default)" write cwd://.astrid/capsules/evil/Capsule.toml "workspace's kernel state"
denied "mkdir cwd://.astrid/capsules/evil" mkdir cwd://.astrid/capsules/evil "workspace's kernel state"
denied "read through a link out of the workspace" read cwd://lk-keys/runtime.key "escapes root boundary"
allowed "write cwd://ok.txt" write cwd://ok.txt "ok"
ok_if "  lands in bob's overlay, not the project" test ! -e "$P/ok.txt"
ok_if "agent switch default" $A agent switch default
ok_if "workspace commit -a bob" $A workspace commit -a bob
expect_eq "  then it is in the project" "$(cat "$P/ok.txt")" "ok"
echo "1..$_tap_n"
