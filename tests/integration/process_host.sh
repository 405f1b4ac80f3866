#!/usr/bin/env bash
# The process host functions end to end (docs/capsules.md "Processes"):
# tests/capsules/procprobe (host_process = echo, sh, sleep, sudo, printf,
# /bin/echo) installed by default (admin) and driven with `astrid bus
# request` as default and as two agents. Checks: output and exit codes,
# the 1 MiB cap, the manifest gate, the principal gate (capability and
# profile [process] allow), the hard refusal of sudo, the per-principal
# background cap (the 9th refused; alice's 8 do not block bob), read-logs
# returning only new output, kill confined to the caller's own processes,
# processes gone (and reaped) after a reload and after the daemon stops,
# and the audit entries of spawns, refusals and exits.
# process_host_off.sh runs the same checks with ASTRID_SANDBOX_POLICY=off.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
if [[ ${ASTRID_SANDBOX_POLICY:-} == off ]]; then SANDBOXED=False; else SANDBOXED=True; fi
req() { $A bus request demo.v1.procprobe "$1" --reply demo.v1.procprobe.reply --timeout 30 2>&1; }
as() { $A agent switch "$1" >/dev/null; }
reload() { $A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 60 2>&1; }
MARK=$((RANDOM * 7 + 100000)) # a sleep argument no other process uses
# the sleep itself (argv[0] resolved to its path), not the bwrap around it
alive() { pgrep -f "^[^ ]*sleep $MARK\$" >/dev/null; }
nalive() { pgrep -fc "^[^ ]*sleep $MARK\$"; }
# the count once it reaches $1 (bwrap sets up before the program runs), or
# what it is after 10 s
nalive_at() { local n; for _ in $(seq 100); do n=$(nalive); [[ $n == "$1" ]] && break; sleep 0.1; done; echo "$n"; }
# THIS suite's daemon: the pid in its home's lock file, and only when that
# process runs our build's binary (other suites' daemons share the machine)
daemon_pid() {
  local p; p=$(head -c 32 "$ASTRID_HOME/run/daemon.lock" 2>/dev/null | tr -dc 0-9)
  [[ -n $p && $(readlink "/proc/$p/exe" 2>/dev/null) == "$(readlink -f "$BIN/astrid-daemon")" ]] && echo "$p"
}
# poll read-logs of $2 as $1's current agent until python expr $3 holds
read_until() {
  local r
  for _ in $(seq 100); do
    r=$(req "{\"op\":\"read\",\"id\":\"$1\"}")
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$r" 2>/dev/null && { echo "$r"; return 0; }
    sleep 0.1
  done
  echo "$r"; return 1
}
audit_of() { cat "$ASTRID_HOME/home/$1/.local/audit/audit.jsonl" 2>/dev/null; }

build_capsule "$ASTRID_SRC/tests/capsules/procprobe"
# procprobe2: the same code under another name and topic
P2=$TEST_TMP/procprobe2 && mkdir -p "$P2" && tar xzf "$O/procprobe.capsule" -C "$P2"
sed -i -e 's/^name = "procprobe"/name = "procprobe2"/' -e 's/demo\.v1\.procprobe/demo.v1.procprobe2/g' "$P2/Capsule.toml"
req2() { $A bus request demo.v1.procprobe2 "${1%\}},\"reply\":\"demo.v1.procprobe2.reply\"}" --reply demo.v1.procprobe2.reply --timeout 30 2>&1; }
ok_if "start" $A start
ok_if "install procprobe (default holds capsule:host_process)" bash -c "$A capsule install '$O/procprobe.capsule' >/dev/null 2>&1"
ok_if "install procprobe2" bash -c "$A capsule install '$P2' >/dev/null 2>&1"

# --- foreground, as default (admin: '*' holds process:spawn:*)
r=$(req '{"op":"spawn","cmd":"echo","a1":"hello","a2":"world"}')
expect_eq "spawn echo: stdout" "$(j 'd["stdout"]' <<<"$r")" "hello world"
expect_eq "  exit code 0, empty stderr" "$(j '(d["exit_code"], d["stderr"])' <<<"$r")" "(0, '')"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"echo oops >&2; exit 3"}')
expect_eq "spawn sh: exit code 3 and stderr" "$(j '(d["exit_code"], d["stderr"])' <<<"$r")" "(3, 'oops\n')"
r=$(req '{"op":"spawn","cmd":"sh -c","a1":"echo $0 $1","a2":"a b"}')
expect_eq "\"sh -c\" matches entry sh by upstream's \"cmd \" prefix rule; args verbatim (no shell split)" "$(j 'd["stdout"]' <<<"$r")" "a b"
r=$(req '{"op":"spawn","cmd":"/bin/echo","a1":"abs"}')
expect_eq "an absolute command listed as such runs" "$(j 'd["stdout"]' <<<"$r")" "abs"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"head -c 1500000 /dev/zero | tr \"\\\\000\" a; echo e >&2"}')
expect_eq "stdout over 1 MiB is cut at 1 MiB" "$(j '(d["out_len"], d["exit_code"])' <<<"$r")" "(1048576, 0)"
ok_if "  and stderr says how much was cut" grep -q 'astrid: 451424 bytes of stdout and 0 of stderr cut at the 1 MiB cap' <<<"$r"
r=$(req '{"op":"spawn","cmd":"printf","a1":"a\\0b"}')
expect_eq "NUL bytes pass through (shown by the probe as <NUL>)" "$(j '(d["stdout"], d["out_len"])' <<<"$r")" "('a<NUL>b', 3)"
r=$(req '{"op":"spawn","cmd":"printf","a1":"\\377ok"}')
expect_eq "bytes that are not UTF-8 arrive as U+FFFD" "$(j 'd["stdout"]' <<<"$r")" "$(printf '\xef\xbf\xbdok')"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"pwd; env | grep -c ASTRID_; echo made > made-here"}')
expect_eq "cwd is the invoking principal's home; no ASTRID_* in the env" "$(j 'd["stdout"]' <<<"$r")" "$ASTRID_HOME/home/default
0"
ok_if "  work in the principal's home lands there" grep -qx made "$ASTRID_HOME/home/default/made-here"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"cat '"$ASTRID_HOME"'/keys/runtime.key >/dev/null && echo READ"}')
if [[ $SANDBOXED == True ]]; then
  ok_if "sandboxed: \$ASTRID_HOME/keys/runtime.key cannot be read" bash -c "! grep -q READ <<<'$r'"
else
  ok_if "policy off: unsandboxed, the key file is readable (what the audit entry warns of)" grep -q READ <<<"$r"
fi

# --- the manifest gate
r=$(req '{"op":"spawn","cmd":"ls"}')
ok_if "a command outside host_process is refused" grep -q "denied by the manifest: 'ls' is not in capsule procprobe's capabilities.host_process" <<<"$r"
r=$(req '{"op":"spawn","cmd":"shx"}')
ok_if "  a command that only starts like an entry is refused" grep -q "'shx' is not in capsule procprobe" <<<"$r"
r=$(req '{"op":"spawn","cmd":"/bin/sh","a1":"-c","a2":"true"}')
ok_if "  a path to a listed name is not the listed name" grep -q "'/bin/sh' is not in capsule procprobe" <<<"$r"
r=$(req '{"op":"bg","cmd":"ls"}')
ok_if "  spawn-background applies it too" grep -q "denied by the manifest: 'ls'" <<<"$r"
r=$(req '{"op":"spawn","cmd":"sudo","a1":"id"}')
ok_if "sudo is refused by hard policy though listed" grep -q "denied by hard policy: 'sudo' raises privileges" <<<"$r"

# --- the principal gate
ok_if "agent create alice (may use echo and sleep)" $A agent create alice --process-allow echo,sleep
ok_if "agent create bob" $A agent create bob
for a in alice bob; do $A caps grant $a system:bus >/dev/null; done
as bob
r=$(req '{"op":"spawn","cmd":"echo","a1":"hi"}')
ok_if "bob (no allow-list entry, no grant) is refused echo" grep -q "denied for the principal: bob may not run 'echo'" <<<"$r"
ok_if "  naming the capability" grep -q "process:spawn:echo" <<<"$r"
as alice
r=$(req '{"op":"spawn","cmd":"echo","a1":"hi"}')
expect_eq "alice (process:spawn:echo) runs echo" "$(j 'd["stdout"]' <<<"$r")" "hi"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"echo x"}')
ok_if "  but not sh, which the capsule lists" grep -q "denied for the principal: alice may not run 'sh'" <<<"$r"
r=$(req '{"op":"spawn","cmd":"/bin/echo","a1":"hi"}')
ok_if "  nor /bin/echo (its capability is process:spawn:_bin_echo)" grep -q "process:spawn:_bin_echo" <<<"$r"
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"pwd"}')
as default

# --- background: the per-principal cap
as alice
ids=()
for i in $(seq 8); do
  r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
  ids+=("$(j '(d.get("id",""))' <<<"$r")")
done
ok_if "alice starts 8 background processes" bash -c "[[ '${ids[*]}' =~ ^[0-9]+( [0-9]+){7}\$ ]]"
expect_eq "  8 are running" "$(nalive_at 8)" "8"
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  the 9th is refused by the quota" grep -q "denied by the quota: principal alice already has 8 background process(es).*the limit is 8" <<<"$r"
expect_eq "  still 8 running" "$(nalive)" "8"
as default
ok_if "caps grant bob process:spawn:sleep" $A caps grant bob process:spawn:sleep
as bob
bids=()
for i in $(seq 8); do
  r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
  bids+=("$(j '(d.get("id",""))' <<<"$r")")
done
ok_if "alice's 8 do not count against bob: bob starts 8" bash -c "[[ '${bids[*]}' =~ ^[0-9]+( [0-9]+){7}\$ ]]"
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  bob's 9th is refused" grep -q "denied by the quota: principal bob already has 8" <<<"$r"
r=$(req "{\"op\":\"kill\",\"id\":\"${ids[0]}\"}")
ok_if "bob cannot kill alice's process (not found)" grep -q "no background process ${ids[0]} of bob" <<<"$r"
r=$(req "{\"op\":\"read\",\"id\":\"${ids[0]}\"}")
ok_if "  nor read its logs" grep -q "no background process ${ids[0]} of bob" <<<"$r"
as alice
r=$(req "{\"op\":\"read\",\"id\":\"${ids[0]}\"}")
expect_eq "  alice's process is still running" "$(j 'd["running"]' <<<"$r")" "True"
r=$(req "{\"op\":\"kill\",\"id\":\"${ids[0]}\"}")
expect_eq "alice kills her own: killed, exit code -1 (signal)" "$(j '(d["killed"], d["exit_code"])' <<<"$r")" "(True, -1)"
r=$(req "{\"op\":\"kill\",\"id\":\"${ids[0]}\"}")
ok_if "  a second kill: not found" grep -q "no background process ${ids[0]} of alice" <<<"$r"
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  the freed slot takes a new process" grep -q '"id"' <<<"$r"
expect_eq "  16 running in all" "$(nalive_at 16)" "16"
as default

# --- another capsule cannot reach alice's ids, even run by alice
as alice
r=$(req2 "{\"op\":\"kill\",\"id\":\"${ids[1]}\"}")
ok_if "procprobe2, run by alice, cannot kill what procprobe started for her" grep -q "no background process ${ids[1]} of alice" <<<"$r"
r=$(req2 "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  and her 8 in procprobe count there too (per principal, daemon-wide)" grep -q "denied by the quota: principal alice already has 8" <<<"$r"
as default

# --- max_background_processes below 8 is the limit
ok_if "quota set -a bob --processes 2" bash -c "$A quota set -a bob --processes 2 >/dev/null"
as bob
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  bob is refused naming the limit 2" grep -q "denied by the quota: principal bob already has 8 .*the limit is 2 (min(max_background_processes, 8))" <<<"$r"
as default

# --- a foreground spawn ends at the invocation's deadline, killed
ok_if "quota set -a alice --timeout 2s" bash -c "$A quota set -a alice --timeout 2s >/dev/null"
as alice
MARK2=$((MARK + 1))
$A bus request demo.v1.procprobe "{\"op\":\"spawn\",\"cmd\":\"sleep\",\"a1\":\"$MARK2\"}" --reply demo.v1.procprobe.reply --timeout 6 >/dev/null 2>&1
ok_if "  past the deadline nothing of it is left" bash -c "for _ in \$(seq 100); do pgrep -f '^[^ ]*sleep $MARK2\$' >/dev/null || exit 0; sleep 0.1; done; exit 1"
as default
ok_if "quota set -a alice --timeout 300s" bash -c "$A quota set -a alice --timeout 300s >/dev/null"

# --- read-logs: only new output; the exit collected once
ok_if "caps grant alice process:spawn:sh" $A caps grant alice process:spawn:sh
as alice
for id in "${ids[@]:1:2}"; do req "{\"op\":\"kill\",\"id\":\"$id\"}" >/dev/null; done
r=$(req '{"op":"bg","cmd":"sh","a1":"-c","a2":"echo one; echo err1 >&2; exec sleep '$MARK'"}')
lid=$(j 'd["id"]' <<<"$r")
r=$(read_until "$lid" 'd.get("stdout")=="one\n"')
expect_eq "read-logs returns the output so far, running" "$(j '(d["stdout"], d["stderr"], d["running"], "exit_code" in d)' <<<"$r")" "('one\n', 'err1\n', True, False)"
r=$(req "{\"op\":\"read\",\"id\":\"$lid\"}")
expect_eq "  a second read returns only what is new (nothing)" "$(j '(d["stdout"], d["stderr"], d["running"])' <<<"$r")" "('', '', True)"
r=$(req '{"op":"bg","cmd":"sh","a1":"-c","a2":"echo done; exit 5"}')
xid=$(j 'd["id"]' <<<"$r")
r=$(read_until "$xid" 'd.get("running") is False')
expect_eq "a process that exited: running false, exit code 5, its output" "$(j '(d["running"], d["exit_code"], d["stdout"])' <<<"$r")" "(False, 5, 'done\n')"
r=$(req "{\"op\":\"read\",\"id\":\"$xid\"}")
ok_if "  collected: read again is not found" grep -q "no background process $xid of alice" <<<"$r"
as default

# --- audit
a=$(audit_of alice)
ok_if "audit: alice's spawns (process_spawn, command, background, sandboxed $SANDBOXED)" python3 -c '
import json,sys
es=[json.loads(l) for l in sys.stdin if l.strip()]
sp=[e for e in es if e["action"]["type"]=="process_spawn" and e["outcome"]["status"]=="success"]
assert any(e["action"]["command"]=="sleep" and e["action"]["background"] and e["action"]["capsule"]=="procprobe" and e["action"]["sandboxed"]==('"$SANDBOXED"') for e in sp), sp
assert any(e["action"]["command"]=="echo" and not e["action"]["background"] for e in sp)
' <<<"$a"
ok_if "  the refusals (sh outside her allow-list, the 9th)" python3 -c '
import json,sys
es=[json.loads(l) for l in sys.stdin if l.strip()]
den=[e for e in es if e["action"]["type"]=="process_spawn" and e["authorization"]["type"]=="denied"]
assert any("may not run" in e["authorization"]["reason"] for e in den), den
assert any("denied by the quota" in e["authorization"]["reason"] for e in den), den
' <<<"$a"
ok_if "  the exits with status (killed sleep -1, sh 5)" python3 -c '
import json,sys
es=[json.loads(l) for l in sys.stdin if l.strip()]
ex=[e for e in es if e["action"]["type"]=="process_exit"]
assert any(e["outcome"]["details"]["exit_code"]==5 for e in ex), ex
assert any(e["outcome"]["details"]["killed"] and e["action"]["command"]=="sleep" for e in ex), ex
' <<<"$a"
ok_if "  bob's refusal is in bob's log, not alice's" bash -c "audit_of() { cat \"$ASTRID_HOME/home/\$1/.local/audit/audit.jsonl\"; }; audit_of bob | grep -q \"bob may not run 'echo'\" && ! audit_of alice | grep -q 'bob may not run'"
ok_if "  the chains verify" bash -c "$A audit verify >/dev/null 2>&1"

# --- reload and stop kill and reap
dp=$(daemon_pid)
ok_if "found this suite's daemon" test -n "$dp"
r=$(reload); ok_if "default reloads the capsules" grep -q '"reloaded"' <<<"$r"
ok_if "after the reload no background process is left" bash -c "! pgrep -f '^[^ ]*sleep $MARK\$' >/dev/null"
expect_eq "  and none is a zombie of the daemon" "$(ps --ppid "$dp" -o stat= 2>/dev/null | grep -c Z)" "0"
as alice
r=$(req "{\"op\":\"read\",\"id\":\"$lid\"}")
ok_if "  its id is gone" grep -q "no background process $lid of alice" <<<"$r"
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
ok_if "  alice starts again from 0 (the count went with them)" grep -q '"id"' <<<"$r"
expect_eq "  running" "$(nalive_at 1)" "1"
as default
ok_if "stop" $A stop
for _ in $(seq 50); do alive || break; sleep 0.1; done
ok_if "after the daemon stops no background process is left" bash -c "! pgrep -f '^[^ ]*sleep $MARK\$' >/dev/null"

# --- the profile's own [process] allow list (read when the profile loads)
python3 - "$ASTRID_HOME/etc/profiles/bob.toml" <<'PY'
import re,sys
p=sys.argv[1]; t=open(p).read()
t2=re.sub(r'(\[process\]\s*\nallow = )\[\]', r'\1["sh"]', t)
assert t2!=t, t
open(p,'w').write(t2)
PY
ok_if "start again (bob's profile: [process] allow = [\"sh\"])" $A start
as bob
r=$(req '{"op":"spawn","cmd":"sh","a1":"-c","a2":"echo via-profile"}')
expect_eq "bob runs sh through his profile's allow-list (no grant)" "$(j 'd["stdout"]' <<<"$r")" "via-profile"
r=$(req '{"op":"spawn","cmd":"echo","a1":"x"}')
ok_if "  echo, in neither, is still refused" grep -q "bob may not run 'echo'" <<<"$r"
r=$(req "{\"op\":\"bg\",\"cmd\":\"sleep\",\"a1\":\"$MARK\"}")
expect_eq "a background process of bob runs" "$(nalive_at 1)" "1"
as default
dp=$(daemon_pid)
ok_if "found this suite's daemon" test -n "$dp"
[[ -n $dp ]] && kill -9 "$dp"
expect_eq "the daemon killed with -9 takes it along" "$(nalive_at 0)" "0"
echo "1..$_tap_n"
