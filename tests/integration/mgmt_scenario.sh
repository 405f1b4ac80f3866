#!/usr/bin/env bash
# Issue #5's operator scenario, as written, from a shell: the real CLI
# against a real daemon in a scratch ASTRID_HOME.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
trap '$A stop >/dev/null 2>&1; sleep 0.2; rm -rf "$TEST_TMP"' EXIT
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ok_if "start" $A start
out=$($A agent create alice --group admin --memory 32M --timeout 60s --storage 512M \
      --processes 4 --egress openai,internal --process-allow git,npm 2>&1)
expect_eq "agent create alice (one step)" "$?" "0"
show=$($A agent show alice --format json)
expect_eq "alice is in group admin" "$(j 'd["groups"]' <<<"$show")" "['admin']"
expect_eq "four grants" "$(j 'sorted(d["grants"])' <<<"$show")" \
  "['network:egress:internal', 'network:egress:openai', 'process:spawn:git', 'process:spawn:npm']"
expect_eq "four quotas" "$(j '[d["quotas"][k] for k in ("max_memory_bytes","max_timeout_secs","max_storage_bytes","max_background_processes")]' <<<"$show")" \
  "[32000000, 60, 512000000, 4]"
expect_eq "egress labels shown" "$(j 'd["egress"]' <<<"$show")" "['openai', 'internal']"
expect_eq "process allow-list shown" "$(j 'd["process_allow_list"]' <<<"$show")" "['git', 'npm']"
ok_if "alice's home was provisioned" test -d "$ASTRID_HOME/home/alice/.local/audit" -a -d "$ASTRID_HOME/home/alice/.config/env"
ok_if "alice's profile is 0600" bash -c "[[ \$(stat -c %a '$ASTRID_HOME/etc/profiles/alice.toml') == 600 ]]"
ok_if "agent create bob" $A agent create bob
out=$($A caps check bob self:capsule:install); rc=$?
expect_eq "caps check bob self:capsule:install is allowed" "$rc" "0"
ok_if "  through group agent pattern self:*" grep -q "group 'agent' pattern 'self:\*'" <<<"$out"
out=$($A caps check bob system:shutdown); expect_eq "caps check of a missing capability exits 1" "$?" "1"
out=$($A caps grant bob '*' 2>&1); expect_eq "caps grant bob '*' refused without --unsafe-admin" "$?" "1"
ok_if "  and bob's grants unchanged" bash -c "$A agent show bob --format json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"grants\"] == []'"
ok_if "caps grant bob '*' --unsafe-admin" $A caps grant bob '*' --unsafe-admin
ok_if "caps revoke bob '*'" $A caps revoke bob '*'
out=$($A caps check bob self:capsule:install); expect_eq "a revoke beats the group" "$?" "1"
ok_if "  naming the revoke pattern" grep -q "pattern '\*'" <<<"$out"
ok_if "caps show marks the shadowed grant" bash -c "$A caps show bob | grep -E '^\*  +grant +shadowed by revoke'"
ok_if "caps show --format json has shadowed_by" bash -c "$A caps show bob --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(r.get(\"shadowed_by\")==\"*\" for r in d[\"capabilities\"])'"
# On a terminal (script(1) gives one) the rows are coloured; stripped of the
# escapes they are the NO_COLOR rows, so the columns line up either way.
tty_out=$(env -u NO_COLOR script -qec "$A caps show bob" /dev/null)
ok_if "caps show on a tty is coloured" grep -q $'\x1b\\[33m' <<<"$tty_out"
expect_eq "  and aligned as without colour" "$(sed 's/\x1b\[[0-9;]*m//g; s/\r$//' <<<"$tty_out")" "$($A caps show bob)"
for f in json yaml toml; do
  ok_if "agent list --format $f" bash -c "$A agent list --format $f | grep -q alice"
done
# a typo'd principal is refused everywhere
for cmd in "agent show alcie" "agent enable alcie" "agent disable alcie" "caps grant alcie x:y" \
           "caps revoke alcie x:y" "quota show -a alcie" "quota set -a alcie --memory 1M" \
           "agent modify alcie --add-group agent" "agent delete alcie -y" "caps check alcie x:y"; do
  $A $cmd >/dev/null 2>&1; expect_eq "typo'd principal refused: $cmd" "$?" "1"
done
ok_if "no profile was created for the typo" test ! -e "$ASTRID_HOME/etc/profiles/alcie.toml"
# default protections
for cmd in "agent create default" "agent delete default -y" "agent disable default" "caps revoke default x:y"; do
  out=$($A $cmd 2>&1); expect_eq "default protected: $cmd" "$?" "1"
done
ok_if "caps grant on default is allowed" $A caps grant default audit:read
# agent.modify
out=$($A agent modify bob --add-group restricted); expect_eq "agent modify adds a group" "$?" "0"
ok_if "  reports the groups" grep -q restricted <<<"$out"
out=$($A agent modify bob --add-group restricted); ok_if "  a repeat is no change" grep -q unchanged <<<"$out"
$A agent modify bob >/dev/null 2>&1; expect_eq "  an empty modify is refused" "$?" "1"
$A agent modify bob --add-group nosuch >/dev/null 2>&1; expect_eq "  an unknown group is refused" "$?" "1"
# groups
ok_if "group create ops" $A group create ops --caps system:status,audit:read --description "Ops"
expect_eq "group show ops" "$($A group show ops --format json | j 'd["capabilities"]')" "['system:status', 'audit:read']"
ok_if "group modify ops" $A group modify ops --add-caps bus:watch --remove-caps audit:read
expect_eq "  capabilities changed" "$($A group show ops --format json | j 'd["capabilities"]')" "['system:status', 'bus:watch']"
$A group create admin --caps x:y >/dev/null 2>&1; expect_eq "a built-in group cannot be redefined" "$?" "1"
$A group delete agent >/dev/null 2>&1; expect_eq "a built-in group cannot be deleted" "$?" "1"
$A group create evil --caps '*' >/dev/null 2>&1; expect_eq "group with '*' needs --unsafe-admin" "$?" "1"
ok_if "groups.toml holds ops" grep -q ops "$ASTRID_HOME/etc/groups.toml"
# quotas: quota.set needs the global quota:set even for oneself
ok_if "agent create carol (plain agent)" $A agent create carol
ok_if "agent switch carol" $A agent switch carol
out=$($A quota set --memory 1G 2>&1); expect_eq "carol cannot raise her own quota" "$?" "1"
ok_if "  permission denied: quota:set" grep -q "missing capability quota:set" <<<"$out"
ok_if "carol may read her own quotas" $A quota show
$A quota show -a alice >/dev/null 2>&1; expect_eq "carol may not read alice's quotas" "$?" "1"
ok_if "carol may list agents (self:agent:list)" $A agent list
$A agent create dave >/dev/null 2>&1; expect_eq "carol may not create agents" "$?" "1"
$A caps grant carol x:y >/dev/null 2>&1; expect_eq "carol may not grant herself" "$?" "1"
$A group create g2 --caps x:y >/dev/null 2>&1; expect_eq "carol may not create groups" "$?" "1"
ok_if "agent switch default" $A agent switch default
ok_if "the admin sets carol's quota" $A quota set -a carol --memory 128M --ipc-rate 1MiB/s
expect_eq "  only the given fields changed" "$($A quota show -a carol --format json | j '[d["max_memory_bytes"], d["max_ipc_throughput_bytes"], d["max_timeout_secs"]]')" "[128000000, 1048576, 300]"
$A quota set -a carol --memory 0 >/dev/null 2>&1; expect_eq "a zero memory quota is refused" "$?" "1"
$A quota set -a carol --timeout 2d >/dev/null 2>&1; expect_eq "a timeout over 24h is refused" "$?" "1"
# a disabled agent is denied every request
out=$($A agent disable carol); ok_if "agent disable carol" grep -q disabled <<<"$out"
out=$($A agent disable carol); ok_if "  again: no change" grep -q "no change" <<<"$out"
ok_if "agent switch carol (disabled)" $A agent switch carol
$A agent list >/dev/null 2>&1; expect_eq "disabled carol is denied" "$?" "1"
$A quota show >/dev/null 2>&1; expect_eq "  every request" "$?" "1"
ok_if "agent switch default" $A agent switch default
ok_if "agent enable carol" $A agent enable carol
# delete keeps the home
ok_if "agent delete bob -y" $A agent delete bob -y
ok_if "  profile gone" test ! -e "$ASTRID_HOME/etc/profiles/bob.toml"
ok_if "  home kept" test -d "$ASTRID_HOME/home/bob"
$A agent delete bob >/dev/null 2>&1 </dev/null; expect_eq "delete without -y and no tty is refused" "$?" "1"
# every allow and deny is audited as admin.<topic>
ok_if "audit has admin.agent.create" bash -c "grep -q '\"method\":\"admin.agent.create\"' '$ASTRID_HOME'/home/default/.local/audit/audit.jsonl"
ok_if "audit has carol's denied quota.set" bash -c "grep -q '\"method\":\"admin.quota.set\"' '$ASTRID_HOME'/home/carol/.local/audit/audit.jsonl"
ok_if "audit verify" $A audit verify
ok_if "audit verify -a carol" $A audit verify -a carol
# an unknown distro is refused before the agent is created; unbuilt flags exit 2
out=$($A agent create x2 --distro other 2>&1); expect_eq "agent create x2 --distro other exits 1" "$?" "1"
out=$($A agent create x3 --link discord:1 2>&1); expect_eq "agent create x3 --link exits 2" "$?" "2"
$A agent create 'Bad Name' >/dev/null 2>&1; expect_eq "an invalid name is refused" "$?" "1"
$A agent create x4 --memory lots >/dev/null 2>&1; expect_eq "a bad size is refused before any request" "$?" "1"
$A agent create x5 --egress 'a,,b' >/dev/null 2>&1; expect_eq "an empty egress label is refused" "$?" "1"
ok_if "none of x1..x5 exists" bash -c "! ls '$ASTRID_HOME'/etc/profiles/x*.toml 2>/dev/null"
echo "1..$_tap_n"
