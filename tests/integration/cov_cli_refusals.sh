#!/usr/bin/env bash
# The CLI's refusals against a running daemon (issue 18 point 4: src/cli was
# the folder least covered): bad values, unknown names, missing flags, each
# with its exit code and message, and the stored state unchanged after it
# (profiles, groups, trust table). Also what the verbs print for an empty
# home (no capsule, no workspace change, no approval), the completion
# scripts (which must parse in their shell) and the output formats.
set -u
source "$(dirname "$0")/capsule_lib.sh"
mkdir -p "$ASTRID_HOME"
# run CMD...: sets rc, out, err of one CLI call.
run() {
  out=$("$A" "$@" 2>"$TEST_TMP/err" </dev/null)
  rc=$?
  err=$(cat "$TEST_TMP/err")
}
# refused NAME WANT_RC PATTERN CMD...: the call exits WANT_RC, prints nothing
# on stdout and PATTERN (grep -E) on stderr.
refused() {
  local n=$1 want=$2 pat=$3
  shift 3
  run "$@"
  if [[ $rc == "$want" && -z "$out" ]] && grep -qE -- "$pat" <<<"$err"; then
    ok "$n"
  else
    not_ok "$n" "rc=$rc out=[${out:0:200}] err=[${err:0:300}]"
  fi
}
# said NAME PATTERN CMD...: the call exits 0 and stdout matches PATTERN.
said() {
  local n=$1 pat=$2
  shift 2
  run "$@"
  if [[ $rc == 0 ]] && grep -qE -- "$pat" <<<"$out"; then
    ok "$n"
  else
    not_ok "$n" "rc=$rc out=[${out:0:200}] err=[${err:0:300}]"
  fi
}
snap() { (cd "$ASTRID_HOME/etc" && find . -type f -name '*.toml' | LC_ALL=C sort | xargs sha256sum); }

ok_if "daemon starts" bash -c "'$A' start >/dev/null 2>&1"

# ---- empty home: what the verbs say when there is nothing
said "workspace diff: nothing pending" "^No pending workspace changes for 'default'" workspace diff
said "workspace commit: nothing to apply" "^No pending workspace changes" workspace commit
said "workspace discard: nothing to drop" "^No pending workspace changes" workspace discard
said "approvals list: none pending" "^No pending approvals" approvals list
said "capsule tree --format json: an empty array" "^\[\]$" capsule tree --format json
said "capsule tree: no capsules" "^No capsules installed" capsule tree
said "capsule update: none installed" "^No capsules installed in " capsule update
said "secret list --format json: an empty array" "^\[\]$" secret list --format json
said "gc: dry run, nothing unreferenced" "^0 unreferenced blobs .*dry run" gc

before=$(snap)
# ---- unknown names
refused "workspace diff -a nosuch: no such principal" 1 "principal nosuch does not exist" \
  workspace diff -a nosuch
refused "budget show -a nosuch: no such principal" 1 "principal nosuch does not exist" \
  budget show -a nosuch
refused "quota show -a nosuch: no such principal" 1 "principal nosuch does not exist" \
  quota show -a nosuch
refused "caps grant to nosuch: no such principal" 1 "principal nosuch does not exist" \
  caps grant nosuch system:status
refused "group show nosuch" 1 "no group named 'nosuch'" group show nosuch
refused "group delete nosuch" 1 "group.delete rejected: unknown group 'nosuch'" group delete nosuch
refused "capsule show nosuch" 1 "no capsule 'nosuch' installed for agent 'default'" capsule show nosuch
refused "capsule config nosuch" 1 "no capsule 'nosuch' installed" capsule config nosuch
refused "capsule remove nosuch" 1 "no capsule 'nosuch' installed in " capsule remove nosuch
refused "capsule update nosuch" 1 "no capsule 'nosuch' installed in " capsule update nosuch
refused "logs of a capsule with no log" 1 "no log files in .*/nosuchcap$" logs nosuchcap
refused "secret delete of a key never stored" 1 "no secret 'K' stored for agent 'default'" \
  secret delete K
refused "secret set of a key no capsule declares" 1 "declares env key 'K': give --capsule" \
  secret set K V
refused "trust remove of a host never trusted" 1 "host 'nosuch' is not trusted" trust remove nosuch
refused "distro show with no distro.lock" 1 "agent default has no distro .*run .astrid init." \
  distro show
refused "distro apply of a missing file" 1 "distro /nonexist: no such file" distro apply /nonexist

# ---- values the CLI refuses before asking
refused "budget set with no limit" 1 "budget set needs at least one of" budget set
refused "budget --per-action abc" 1 "--per-action must be a USD amount >= 0 .*got 'abc'" \
  budget set --per-action abc
refused "budget --per-action -1" 1 "got '-1'" budget set --per-action -1
refused "budget --warn-at 0" 1 "warn_at_percent must be 1..100" budget set --warn-at 0
refused "budget --warn-at 101" 1 "warn_at_percent must be 1..100" budget set --warn-at 101
refused "quota set with no limit" 1 "quota set needs at least one of" quota set
refused "quota --memory with an unknown unit" 1 "invalid size '12XB': unknown unit" \
  quota set --memory 12XB
refused "quota --timeout not a duration" 1 "invalid duration 'forever'" quota set --timeout forever
refused "quota --processes over 256" 1 "--processes must be an integer in 0..256 \(got '999'\)" \
  quota set --processes 999
refused "group create without --caps" 1 "group create needs --caps" group create g1
refused "group create with a half wildcard" 1 "mixes '\*' with other characters" \
  group create g1 --caps 'sys*:x'
refused "group delete of a built-in group" 1 "group 'admin' is built-in and cannot be changed" \
  group delete admin
refused "agent create ../x" 1 "principal id contains invalid character '.'" agent create ../x
refused "agent create default" 1 "principal default is reserved for single-tenant bootstrap" \
  agent create default
refused "agent delete without -y" 1 "refusing to delete agent 'nosuch' without confirmation" \
  agent delete nosuch
refused "agent delete default" 1 "cannot delete principal default" agent delete default -y
refused "caps revoke from default" 1 "cannot revoke capabilities of principal default" \
  caps revoke default system:status
refused "trust add of a short key" 1 "public key must be 64 hex digits" trust add h1 zz
refused "bus publish of a non-object payload" 1 "payload must be a JSON object" \
  bus publish a.b notjson
refused "logs -n abc" 1 "invalid value 'abc' for '--lines'" logs -n abc
refused "config show --format yaml" 1 "config show prints toml or json, not yaml" \
  config show --format yaml
refused "capsule install of a missing path" 1 "/nonexist: No such file or directory" \
  capsule install /nonexist
refused "completions tcsh" 1 "invalid value 'tcsh' for '<shell>'" completions tcsh
refused "update: not in this release (exit 2)" 2 "'astrid update' is not available in this release" \
  update
expect_eq "no refusal changed a profile, group or trust file" "$(snap)" "$before"

# ---- accepted values, read back
said "budget set --session 5 --warn-at 50" "^Budget of 'default' updated" \
  budget set --session 5 --warn-at 50
run budget show --format json
expect_eq "  read back as JSON" "$(j '(d["session_usd"], d["warn_at_percent"])' <<<"$out")" "(5.0, 50)"
said "quota set --memory 1MiB --timeout 30s --ipc-rate 2MiB" "^Quotas of 'default' updated" \
  quota set --memory 1MiB --timeout 30s --ipc-rate 2MiB
run quota show --format json
expect_eq "  read back as JSON" \
  "$(j '(d["max_memory_bytes"], d["max_timeout_secs"], d["max_ipc_throughput_bytes"])' <<<"$out")" \
  "(1048576, 30, 2097152)"
said "group create g1 --caps system:status --description hi" "^Group 'g1' created" \
  group create g1 --caps system:status --description hi
refused "  a second create of g1" 1 "group 'g1' already exists" group create g1 --caps system:status
run group list --format yaml
ok_if "  group list --format yaml lists g1 and admin" \
  bash -c "grep -q '^- name: g1$' <<<'$out' && grep -q '^- name: admin$' <<<'$out'"
said "  group delete g1" "^Group 'g1' deleted" group delete g1
key=$(printf 'a%.0s' {1..64})
said "trust add h1 KEY" "^Host 'h1' trusted \(key $key\)" trust add h1 "$key"
run trust list --format json
expect_eq "  trust list: this host first, then h1" \
  "$(j '[(e["host"], e["this_host"]) for e in d]' <<<"$out")" "[('(unset)', True), ('h1', False)]"
said "  trust remove h1" "^Host 'h1' is no longer trusted" trust remove h1
run trust self
ok_if "trust self: this host's key, and a hint that it has no name" \
  bash -c "grep -qE '^\(unset\) [0-9a-f]{64}$' <<<'$out' && grep -q 'has no federation name yet' <<<'$err'"
run trust check bob@h1 system:status
expect_eq "trust check of an untrusted remote principal: exit 1, denied" \
  "$rc ${out%%:*}" "1 denied"
run config show --format json
ok_if "config show --format json parses" bash -c "python3 -c 'import json,sys; json.load(sys.stdin)' <<<'$out'"
said "config path lists the layers" "^home +$ASTRID_HOME/config.toml" config path

# ---- another agent as the active one
run agent switch nosuch
ok_if "agent switch to a principal with no profile warns" \
  grep -q "warning: no profile for 'nosuch'" <<<"$err"
refused "  and the daemon then refuses the CLI" 1 "daemon refused the connection: principal nosuch does not exist" \
  ps
said "  agent switch default" "^Switched to agent 'default'" agent switch default

# ---- completion scripts parse in their shells
run completions bash
ok_if "completions bash: bash -n accepts it" bash -n <<<"$out"
expect_eq "  and, sourced, it completes 'astrid cap' to caps and capsule" \
  "$(bash -c 'source /dev/stdin; COMP_WORDS=(astrid cap); COMP_CWORD=1; _astrid; echo "${COMPREPLY[@]}"' <<<"$out")" \
  "caps capsule"
expect_eq "  and 'astrid workspace c' to commit" \
  "$(bash -c 'source /dev/stdin; COMP_WORDS=(astrid workspace c); COMP_CWORD=2; _astrid; echo "${COMPREPLY[@]}"' <<<"$out")" \
  "commit"
for sh in zsh fish; do
  run completions $sh
  if command -v $sh >/dev/null; then
    ok_if "completions $sh: $sh -n accepts it" $sh -n <<<"$out"
  else
    ok_if "completions $sh: printed (no $sh to parse it)" test -n "$out"
  fi
done
echo "1..$_tap_n"
