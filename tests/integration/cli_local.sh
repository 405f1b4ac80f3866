#!/usr/bin/env bash
# CLI verbs that need no daemon: version, doctor --no-daemon, completions,
# agent switch/current, help and usage errors, exit-2 stubs.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
unset ASTRID_GIT_COMMIT

# --- version in every format
expect_eq "version pretty" "$($A version)" "astrid 0.6.0 (commit unknown, $(uname -m)-unknown-linux-gnu)"
expect_eq "version json" "$($A version --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["commit"])')" "0.6.0 unknown"
expect_eq "version yaml" "$($A version --format yaml | python3 -c 'import yaml,sys; d=yaml.safe_load(sys.stdin); print(d["version"], d["commit"])')" "0.6.0 unknown"
expect_eq "version yml (global flag before the verb)" "$($A --format yml version | python3 -c 'import yaml,sys; print(yaml.safe_load(sys.stdin)["target"])')" "$(uname -m)-unknown-linux-gnu"
expect_eq "version toml" "$($A version --format toml | python3 -c 'import tomllib,sys; print(tomllib.loads(sys.stdin.read())["version"])')" "0.6.0"
expect_eq "commit from ASTRID_GIT_COMMIT" "$(ASTRID_GIT_COMMIT=abc123 $A version --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" "abc123"
$A version --format xml >/dev/null 2>&1; expect_eq "bad --format exits 1" "$?" "1"

# --- help and usage errors
ok_if "astrid --help lists nouns" bash -c "$A --help | grep -q '^  agent '"
ok_if "astrid --help documents exit code 2" bash -c "$A --help | grep -q 'not available in this release'"
ok_if "agent --help lists verbs" bash -c "$A agent --help | grep -q '^  switch '"
ok_if "agent create --help shows flags" bash -c "$A agent create -h | grep -q -- '--distro <NAME>'"
err=$($A agent create bob --bogus 2>&1); rc=$?
expect_eq "unknown flag exits 1" "$rc" "1"
if [[ $err == *"'--bogus'"* && $err == *"astrid agent create --help"* && $err == *"Usage: astrid agent create [OPTIONS] <name>"* ]]; then ok "unknown flag names it and hints usage"
else not_ok "unknown flag names it and hints usage" "$err"; fi
$A nosuch >/dev/null 2>&1; expect_eq "unknown verb exits 1" "$?" "1"

# --- stubs exit 2 naming what is missing
for cmd in "agent link bob discord:1" \
           "update" "self-update" \
           "voucher list" "budget history"; do
  # shellcheck disable=SC2086
  msg=$($A $cmd 2>&1 >/dev/null); rc=$?
  if [[ $rc -eq 2 && $msg == *"is not available in this release ("*")"* ]]; then ok "stub '$cmd' exits 2 with reason"
  else not_ok "stub '$cmd' exits 2 with reason" "rc=$rc msg=$msg"; fi
done
ok_if "agent link stub names what is missing" bash -c "$A agent link bob discord:1 2>&1 | grep -q 'identity linking'"

# --- doctor --no-daemon
H=$(mktemp_dir)
out=$(ASTRID_HOME=$H/fresh $A doctor --no-daemon 2>&1); rc=$?
expect_eq "doctor on a missing home exits 1" "$rc" "1"
ok_if "doctor reports the missing home" grep -q "✗ ASTRID_HOME: $H/fresh does not exist" <<<"$out"
ok_if "doctor did not create the home" test ! -e "$H/fresh"
out=$(ASTRID_HOME=relative $A doctor --no-daemon 2>&1); rc=$?
ok_if "doctor rejects a relative ASTRID_HOME" bash -c "[[ $rc == 1 ]] && grep -q 'must be an absolute path' <<<'$out'"

good=$H/good
mkdir -m 700 "$good"; for d in etc var run log keys bin wit home etc/profiles; do mkdir -m 700 "$good/$d"; done
head -c 32 /dev/urandom >"$good/keys/runtime.key"; chmod 600 "$good/keys/runtime.key"
printf 'enabled = true\ngroups = ["admin"]\n' >"$good/etc/profiles/default.toml"
if command -v bwrap >/dev/null && command -v wasm2c >/dev/null && command -v cc >/dev/null; then
  out=$(ASTRID_HOME=$good $A doctor --no-daemon 2>&1); rc=$?
  expect_eq "doctor on a good home exits 0" "$rc" "0"
  ok_if "doctor prints ✓ per check" bash -c "[[ \$(grep -c '^✓' <<<'$out') -ge 8 ]]"
else
  skip "doctor on a good home" "bwrap/wasm2c/cc not installed"; skip "doctor ✓" "tools missing"
fi
chmod 755 "$good/var"; chmod 644 "$good/keys/runtime.key"
printf 'groups = [\n' >"$good/etc/groups.toml"
out=$(ASTRID_HOME=$good $A doctor --no-daemon 2>&1); rc=$?
expect_eq "doctor on a broken home exits 1" "$rc" "1"
ok_if "doctor flags a 0755 dir" grep -q '✗ layout: var/ mode is not 0700' <<<"$out"
ok_if "doctor flags the key mode" grep -q '✗ runtime key: .*0600' <<<"$out"
ok_if "doctor flags malformed groups.toml" grep -q '✗ groups.toml' <<<"$out"

# --- completions
ok_if "bash completions parse" bash -c "$A completions bash | bash -n"
comp() { bash -c "source <($A completions bash); COMP_WORDS=($1); COMP_CWORD=\$((\${#COMP_WORDS[@]}-1)); _astrid; echo \"\${COMPREPLY[*]}\""; }
ok_if "bash completes nouns" bash -c "[[ ' $(comp "astrid ag") ' == *' agent '* ]]"
ok_if "bash completes verbs" bash -c "[[ ' $(comp "astrid agent sw") ' == *' switch '* ]]"
ok_if "bash completes flags" bash -c "[[ ' $(comp "astrid agent create bob --dis") ' == *' --distro '* ]]"
ok_if "bash hides hidden aliases" bash -c "[[ ' $(comp "astrid se") ' != *' self-update '* ]]"
if command -v zsh >/dev/null; then ok_if "zsh completions parse" bash -c "$A completions zsh | zsh -n"
else ok_if "zsh completions generated" bash -c "$A completions zsh | grep -q '^#compdef astrid'"; fi
if command -v fish >/dev/null; then ok_if "fish completions parse" bash -c "$A completions fish | fish -n"
else ok_if "fish completions name the verbs" bash -c "$A completions fish | grep -q -- '-a switch'"; fi
$A completions tcsh >/dev/null 2>&1; expect_eq "unknown shell exits 1" "$?" "1"

# --- agent switch / current
C=$H/ctx
expect_eq "current defaults to default" "$(ASTRID_HOME=$C $A agent current)" "default"
err=$(ASTRID_HOME=$C $A agent switch bob 2>&1 >/dev/null); rc=$?
expect_eq "switch exits 0" "$rc" "0"
ok_if "switch warns about a missing profile" grep -q "no profile for 'bob'" <<<"$err"
expect_eq "current follows switch" "$(ASTRID_HOME=$C $A agent current)" "bob"
expect_eq "context file content" "$(cat "$C/run/cli-context.toml")" 'active_agent = "bob"'
expect_eq "context file mode" "$(stat -c %a "$C/run/cli-context.toml")" "600"
expect_eq "run/ mode" "$(stat -c %a "$C/run")" "700"
mkdir -p "$C/etc/profiles"; : >"$C/etc/profiles/carol.toml"
err=$(ASTRID_HOME=$C $A agent switch carol 2>&1 >/dev/null)
expect_eq "no warning for a known agent" "$err" ""
ASTRID_HOME=$C $A agent switch ../evil >/dev/null 2>&1; expect_eq "invalid principal exits 1" "$?" "1"
expect_eq "invalid switch leaves context intact" "$(ASTRID_HOME=$C $A agent current)" "carol"
printf 'active_agent = [' >"$C/run/cli-context.toml"
ASTRID_HOME=$C $A agent current >/dev/null 2>&1; expect_eq "malformed context fails closed" "$?" "1"

# --- logs
L=$H/logs; mkdir -p "$L/log" "$L/home/bob/.local/log/cap"
printf 'old\n' >"$L/log/astrid.2026-01-01.log"; seq 1 150 >"$L/log/astrid.2026-01-02.log"
expect_eq "logs shows the newest file's last 100 lines" "$(ASTRID_HOME=$L $A logs | wc -l) $(ASTRID_HOME=$L $A logs | head -1)" "100 51"
expect_eq "logs -n 3" "$(ASTRID_HOME=$L $A logs -n 3 | tr '\n' ,)" "148,149,150,"
printf 'guest\n' >"$L/home/bob/.local/log/cap/2026-01-02.log"
expect_eq "logs CAPSULE -a AGENT" "$(ASTRID_HOME=$L $A logs cap -a bob)" "guest"
ASTRID_HOME=$L $A logs nosuch >/dev/null 2>&1; expect_eq "logs for a capsule without logs exits 1" "$?" "1"
ASTRID_HOME=$L $A logs ../x >/dev/null 2>&1; expect_eq "logs rejects traversal" "$?" "1"
# -f: wait (bounded) for the first line, append, wait for the appended line.
F=$H/flogs; mkdir -p "$F/log"; echo first >"$F/log/astrid.2026-01-03.log"
ASTRID_HOME=$F $A logs -f -n 1 >"$H/follow.out" &
fpid=$!
waitfor() { for _ in $(seq 200); do grep -q "$1" "$H/follow.out" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
waitfor first && echo appended >>"$F/log/astrid.2026-01-03.log" && waitfor appended
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
expect_eq "logs -f prints appended lines" "$(cat "$H/follow.out")" "$(printf 'first\nappended')"

# --- daemon-facing verbs with no daemon
D=$H/nodaemon
ASTRID_HOME=$D $A status >/dev/null 2>&1; expect_eq "status without a daemon exits 1" "$?" "1"
expect_eq "stop without a daemon is a no-op" "$(ASTRID_HOME=$D $A stop)" "Daemon is not running."
ASTRID_HOME=$D $A bus publish t '[1]' >/dev/null 2>&1; expect_eq "bus publish rejects a non-object" "$?" "1"
ASTRID_HOME=$D $A bus request t '{}' --timeout nope >/dev/null 2>&1; expect_eq "bus request rejects a bad timeout" "$?" "1"
echo "1..$_tap_n"
