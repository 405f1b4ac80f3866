#!/usr/bin/env bash
# The layered configuration end to end (docs/config.md): `astrid config
# show|path|edit`, the daemon refusing to boot on a bad file or a loosening
# workspace, and values that change what the daemon does (a workspace's
# denied path reaching the security gate, budget defaults, log rotation).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
R="python3 $ASTRID_SRC/tests/tools/approval_responder.py"
RESP_PIDS=""
CLEANUP_EXTRA='for p in $RESP_PIDS; do kill $p 2>/dev/null; done'
# no system layer from the machine; no ASTRID_* of the runner
export ASTRID_SYSTEM_CONFIG=$TEST_TMP/system.toml
unset ASTRID_APPROVAL_TIMEOUT_MS ASTRID_HEADLESS_TIMEOUT_SECS ASTRID_LOG_KEEP_DAYS
HC=$ASTRID_HOME/config.toml
WS=$TEST_TMP/ws
mkdir -p "$ASTRID_HOME" "$WS"
cd "$WS" || exit 1

# ---- path / show ----
out=$($A config path 2>&1)
ok_if "config path lists the five layers in order" bash -c \
  '[[ $(cut -c1-10 <<<"$1" | tr -d " " | tr "\n" ,) == defaults,system,home,workspace,env, ]]' _ "$out"
ok_if "  with each file and whether it is there" grep -qxF "home       $HC (absent)" <<<"$out"
ok_if "  the system layer from ASTRID_SYSTEM_CONFIG" grep -qxF "system     $TEST_TMP/system.toml (absent)" <<<"$out"
ok_if "  the workspace is the current directory's .astrid/config.toml" \
  grep -qF "workspace  $WS/.astrid/config.toml (absent) -- may only tighten" <<<"$out"

printf '# mine\n[timeouts]\napproval_ms = 30000\n' >"$HC"
printf '[log]\nkeep_days = 3\nmax_file_bytes = 900\n' >"$TEST_TMP/system.toml"
out=$(ASTRID_HEADLESS_TIMEOUT_SECS=45 $A config show 2>&1)
ok_if "show: a home value with its file:line" grep -qxF "approval_ms = 30000  # from $HC:3" <<<"$out"
ok_if "show: a system value" grep -qxF "keep_days = 3  # from $TEST_TMP/system.toml:2" <<<"$out"
ok_if "show: an env value" grep -qxF "headless_secs = 45  # from env ASTRID_HEADLESS_TIMEOUT_SECS" <<<"$out"
ok_if "show: a default" grep -qxF 'max_argument_size = 1048576  # from defaults' <<<"$out"
out=$($A config show --format json --section timeouts)
expect_eq "show --format json --section: {value, source}" \
  "$(j 'list(d), d["timeouts"]["approval_ms"]' <<<"$out")" "['timeouts'] {'value': 30000, 'source': '$HC:3'}"
out=$($A config show --section nope 2>&1); rc=$?
expect_eq "an unknown section is an error" "$rc,$out" "1,astrid: no section [nope] in the configuration"
out=$($A config show --format yaml 2>&1); rc=$?
expect_eq "show refuses a format it does not print" "$rc" "1"
out=$($A config path)
ok_if "path: the home file is now present" grep -qxF "home       $HC (present)" <<<"$out"

# every key the daemon and CLI read is in the schema
keys=$(grep -rhoE 'astrid_config_(int|float|bool|enum|list|get)\([^;]*"[a-z_]+\.[a-z_]+"' \
  "$ASTRID_SRC/src/kernel" "$ASTRID_SRC/src/cli" | grep -oE '"[a-z_]+\.[a-z_]+"' | tr -d '"' | sort -u)
json=$($A config show --format json)
missing=""
for k in $keys; do
  j "d['${k%%.*}']['${k#*.}']['value']" <<<"$json" >/dev/null 2>&1 || missing="$missing $k"
done
expect_eq "every key read in src/kernel and src/cli ($(wc -w <<<"$keys") keys) is in the schema" "$missing" ""

# ---- edit ----
cat >"$TEST_TMP/ed.sh" <<'EOF'
#!/bin/sh
cp "$ED_SRC" "$1"
EOF
chmod +x "$TEST_TMP/ed.sh"
printf '[timeouts]\napproval_ms = 20000\n[budget]\nper_action_max_usd = 2.5\n' >"$TEST_TMP/good.toml"
out=$(EDITOR=$TEST_TMP/ed.sh ED_SRC=$TEST_TMP/good.toml $A config edit 2>&1); rc=$?
expect_eq "edit: a valid file is saved" "$rc,$out" "0,saved $HC"
ok_if "  with the editor's content" cmp -s "$HC" "$TEST_TMP/good.toml"
expect_eq "  mode 0600" "$(stat -c %a "$HC")" "600"
before=$(stat -c %i:%Y "$HC")
printf '[budget]\nper_action_max_usd = 2.5\n[timeouts]\napproval_ms = "soon"\n' >"$TEST_TMP/bad.toml"
out=$(EDITOR=$TEST_TMP/ed.sh ED_SRC=$TEST_TMP/bad.toml $A config edit </dev/null 2>&1); rc=$?
expect_eq "edit: an invalid file is refused" "$rc" "1"
ok_if "  naming the key and the real file:line" \
  grep -qF "astrid: $HC:4: timeouts.approval_ms must be an integer, not a string" <<<"$out"
ok_if "  the file is left intact" cmp -s "$HC" "$TEST_TMP/good.toml"
printf '[timeouts]\napproval_msec = 1\n' >"$TEST_TMP/bad2.toml"
out=$(VISUAL=$TEST_TMP/ed.sh ED_SRC=$TEST_TMP/bad2.toml $A config edit </dev/null 2>&1); rc=$?
ok_if "edit (\$VISUAL): an unknown key is refused, file intact" bash -c \
  '[[ $1 == 1 && $2 == *"unknown key '"'"'timeouts.approval_msec'"'"'"* ]] && cmp -s "$3" "$4"' _ "$rc" "$out" "$HC" "$TEST_TMP/good.toml"
out=$(EDITOR=true $A config edit 2>&1); rc=$?
expect_eq "edit: an unchanged copy writes nothing" "$rc,$out" "0,$HC unchanged; nothing written"
expect_eq "  (same inode and mtime)" "$(stat -c %i:%Y "$HC")" "$before"
out=$(EDITOR=false $A config edit 2>&1); rc=$?
ok_if "edit: a failing editor saves nothing" bash -c '[[ $1 == 1 && $2 == *"failed (status 1); nothing saved"* ]]' _ "$rc" "$out"
# a workspace edit that loosens is refused with the key named
printf '[timeouts]\napproval_ms = 25000\n' >"$TEST_TMP/loose.toml"
out=$(EDITOR=$TEST_TMP/ed.sh ED_SRC=$TEST_TMP/loose.toml $A config edit --layer workspace </dev/null 2>&1); rc=$?
ok_if "edit --layer workspace: loosening refused, naming the key" bash -c \
  '[[ $1 == 1 && $2 == *"workspace config may only tighten timeouts.approval_ms: 25000 > 20000 (from $3:2)"* ]]' _ "$rc" "$out" "$HC"
ok_if "  nothing written" test ! -e "$WS/.astrid/config.toml"
printf '[security]\ndenied_paths = ["/etc/**", "/boot/**", "/sys/**", "/proc/**", "/dev/**", "/srv/secret/**"]\n[budget]\nper_action_max_usd = 1.25\n' >"$TEST_TMP/tight.toml"
out=$(EDITOR=$TEST_TMP/ed.sh ED_SRC=$TEST_TMP/tight.toml $A config edit --layer workspace 2>&1); rc=$?
expect_eq "edit --layer workspace: tightening saved" "$rc,$out" "0,saved $WS/.astrid/config.toml"
expect_eq "  .astrid/ created 0700, the file 0600" "$(stat -c %a "$WS/.astrid") $(stat -c %a "$WS/.astrid/config.toml")" "700 600"
out=$($A config edit --layer nowhere 2>&1); rc=$?
expect_eq "edit --layer must name a layer" "$rc" "1"

# ---- the daemon refuses to boot on a bad config ----
H2=$TEST_TMP/h2
mkdir -p "$H2" "$TEST_TMP/w2/.astrid"
printf '[security]\nmax_argument_size = 5\nbogus = 1\n' >"$H2/config.toml"
out=$(ASTRID_HOME=$H2 "$BIN/astrid-daemon" -w "$TEST_TMP/w2" 2>&1); rc=$?
expect_eq "daemon: an unknown key refuses boot" "$rc,$out" \
  "1,astrid-daemon: refusing to boot: $H2/config.toml:3: unknown key 'security.bogus' (astrid config show lists every key)"
ok_if "  and nothing was created in the home" test ! -e "$H2/run"
printf '[security]\nmax_argument_size = 5\n' >"$H2/config.toml"
printf '[security]\nmax_argument_size = 10\n' >"$TEST_TMP/w2/.astrid/config.toml"
out=$(ASTRID_HOME=$H2 "$BIN/astrid-daemon" -w "$TEST_TMP/w2" 2>&1); rc=$?
expect_eq "daemon: a loosening workspace refuses boot, naming the key" "$rc,$out" \
  "1,astrid-daemon: refusing to boot: $TEST_TMP/w2/.astrid/config.toml:2: workspace config may only tighten security.max_argument_size: 10 > 5 (from $H2/config.toml:2)"
printf '[sandbox]\npolicy = "off"\n' >"$TEST_TMP/w2/.astrid/config.toml"
out=$(ASTRID_HOME=$H2 "$BIN/astrid-daemon" -w "$TEST_TMP/w2" 2>&1); rc=$?
ok_if "daemon: a workspace cannot switch the sandbox off" bash -c \
  '[[ $1 == 1 && $2 == *"sandbox.policy: \"off\" is looser than \"required\" (from defaults)"* ]]' _ "$rc" "$out"
chmod 666 "$H2/config.toml"
out=$(ASTRID_HOME=$H2 "$BIN/astrid-daemon" -w "$TEST_TMP/w2" 2>&1); rc=$?
ok_if "daemon: a world-writable home config refuses boot" bash -c \
  '[[ $1 == 1 && $2 == *"not writable by others"* ]]' _ "$rc" "$out"
# sandbox.policy = "off" from the home file: boots, and the audit entry
# says which file switched containment off
chmod 600 "$H2/config.toml"
printf '# operator\n[sandbox]\npolicy = "off"\n' >"$H2/config.toml"
rm -f "$TEST_TMP/w2/.astrid/config.toml"
ok_if "daemon: sandbox.policy = \"off\" in the home config boots" bash -c \
  "cd '$TEST_TMP/w2' && ASTRID_HOME='$H2' ASTRID_SANDBOX_POLICY= $A start >/dev/null"
ok_if "  its audit entry names the file and line" grep -qF \
  "sandbox.policy = \\\"off\\\" ($H2/config.toml:3): native subprocesses run unsandboxed" \
  "$H2/home/default/.local/audit/audit.jsonl"
ASTRID_HOME=$H2 $A stop >/dev/null 2>&1

# ---- values the running daemon uses ----
mkdir -p "$ASTRID_HOME/log"
chmod 700 "$ASTRID_HOME" "$ASTRID_HOME/log"
echo old >"$ASTRID_HOME/log/astrid.2000-01-01.log"
echo mine >"$ASTRID_HOME/log/astrid.notes.log"
ok_if "start (in the workspace)" bash -c "$A start >/dev/null"
build_capsule "$ASTRID_SRC/tests/capsules/approver"
ok_if "install approver" bash -c "$A capsule install '$O/approver.capsule' >/dev/null 2>&1"
$A agent create alice >/dev/null 2>&1 && $A caps grant alice system:bus >/dev/null 2>&1
out=$($A budget show -a alice --format json)
expect_eq "budget defaults: the workspace's per_action_max_usd" "$(j 'd["per_action_usd"]' <<<"$out")" "1.25"
expect_eq "  session_max_usd from the defaults" "$(j 'd["session_usd"]' <<<"$out")" "100.0"
$R "$ASTRID_HOME" alice listen approve v >"$TEST_TMP/alice.log" 2>&1 &
RESP_PIDS="$RESP_PIDS $!"
for _ in $(seq 100); do grep -q ready "$TEST_TMP/alice.log" && break; sleep 0.1; done
ask() { $R "$ASTRID_HOME" alice request demo.v1.approver "{\"op\":\"ask\",\"action\":\"read_file\",\"resource\":\"$1\"}" 2>&1; }
expect_eq "a path outside the workspace's denied_paths: asked and approved" "$(ask /srv/public/a)" '{"approved":true}'
expect_eq "a path under the workspace's /srv/secret/**: blocked" "$(ask /srv/secret/a)" '{"approved":false}'
expect_eq "  without asking the human" "$(grep -c '"approval_required"' "$TEST_TMP/alice.log")" "1"
ok_if "  the audit log says why" grep -qF '/srv/secret/** is a denied path' "$ASTRID_HOME/home/alice/.local/audit/audit.jsonl"
today=$ASTRID_HOME/log/astrid.$(date -u +%F).log
ok_if "log.keep_days (system layer, 3): a log from 2000 was deleted" test ! -e "$ASTRID_HOME/log/astrid.2000-01-01.log"
ok_if "  a file not named like a daily log was kept" test -e "$ASTRID_HOME/log/astrid.notes.log"
ok_if "log.max_file_bytes (900): today's log stopped, saying so" \
  grep -qF "log.max_file_bytes (900) reached" "$today"
size=$(stat -c %s "$today")
ok_if "  at about the cap ($size bytes)" test "$size" -le 1100
