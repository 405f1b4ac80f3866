# `astrid setup` and the sandbox line of `astrid doctor`: the bundled
# AppArmor profile printed byte for byte, "nothing to do" where the probe
# passes, and where it does not (a non-root user in a user namespace whose
# user.max_user_namespaces is 0, built by sandbox-nouserns) the exact fixing
# command, run through sudo by --apply (a recording sudo on PATH).
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
NOUSERNS=$ASTRID_BUILD/tests/sandbox-nouserns

out=$($A setup --print-apparmor); rc=$?
expect_eq "setup --print-apparmor exits 0" "$rc" 0
expect_eq "setup --print-apparmor prints dist/apparmor/astrid exactly" \
  "$out" "$(cat "$ASTRID_SRC/dist/apparmor/astrid")"
ok_if "the profile's only rule is userns," bash -c \
  '[[ $(grep -vE "^\s*(#|$|abi |include |profile |\})" <<<"$1") == "  userns," ]]' _ "$out"

if ! "$ASTRID_BUILD/tests/sandbox_driver" --probe >/dev/null 2>&1; then
  skip "setup on a usable host" "the sandbox is unusable here"
else
  out=$($A setup); rc=$?
  expect_eq "setup where the probe passes exits 0" "$rc" 0
  ok_if "setup says nothing to do" grep -q '^Nothing to do: the sandbox works on this host.$' <<<"$out"
  ok_if "setup reports the probe" grep -q '^  user-namespace probe:  ok$' <<<"$out"
  out=$(ASTRID_HOME=$(mktemp_dir) $A doctor --no-daemon 2>&1)
  ok_if "doctor: sandbox usable, policy required" grep -q \
    '^✓ sandbox: bwrap .*, namespaces and seccomp usable; policy required$' <<<"$out"
  out=$(ASTRID_SANDBOX_POLICY=off ASTRID_HOME=$(mktemp_dir) $A doctor --no-daemon 2>&1); rc=$?
  ok_if "doctor: policy off is reported as unsandboxed" grep -q \
    '^✗ sandbox: ASTRID_SANDBOX_POLICY=off: native subprocesses run UNSANDBOXED' <<<"$out"
  expect_eq "doctor: policy off fails the check (exit 1)" "$rc" 1
fi
out=$(ASTRID_SANDBOX_POLICY=none ASTRID_HOME=$(mktemp_dir) $A doctor --no-daemon 2>&1)
ok_if "doctor: a bad policy names the accepted values" grep -q \
  '^✗ sandbox: ASTRID_SANDBOX_POLICY="none": unknown policy (accepted: "required" (the default) or "off") (the daemon refuses to boot)$' \
  <<<"$out"

if [[ $(id -u) -ne 0 ]]; then
  for n in "setup without user namespaces" "setup --apply" "doctor without user namespaces"; do
    skip "$n" "needs root to build the namespace"
  done
else
  F=$(mktemp_dir); chmod 755 "$TEST_TMP" "$F"; touch "$F/sudo.log"; chmod 666 "$F/sudo.log"
  printf '#!/bin/sh\necho "sudo $*" >>%s/sudo.log\n' "$F" >"$F/sudo"; chmod 755 "$F/sudo"
  nous() { "$NOUSERNS" 65534 -- env -u ASTRID_SANDBOX_POLICY PATH="$F:/usr/bin:/bin" "$@"; }
  out=$(nous "$A" setup 2>&1); rc=$?
  expect_eq "setup without user namespaces exits 1" "$rc" 1
  ok_if "setup reports the failed probe" grep -q '^  user-namespace probe:  FAILED$' <<<"$out"
  ok_if "setup prints the exact fix" grep -qx '  sudo sysctl -w user.max_user_namespaces=15000' <<<"$out"
  ok_if "setup names --apply and the escape hatch" bash -c \
    'grep -q "astrid setup --apply" <<<"$1" && grep -q "ASTRID_SANDBOX_POLICY=off" <<<"$1"' _ "$out"
  expect_eq "setup without --apply runs nothing" "$(cat "$F/sudo.log")" ""
  out=$(nous "$A" setup --apply 2>&1); rc=$?
  expect_eq "setup --apply ran the command through sudo" "$(cat "$F/sudo.log")" \
    "sudo sysctl -w user.max_user_namespaces=15000"
  expect_eq "setup --apply exits 1 when the sandbox still fails" "$rc" 1
  ok_if "setup --apply says it still fails" grep -q 'The commands ran but the sandbox still fails' <<<"$out"
  out=$(nous env ASTRID_HOME="$F/none" "$A" doctor --no-daemon 2>&1)
  ok_if "doctor without user namespaces: ✗ sandbox, names astrid setup" grep -q \
    "^✗ sandbox: bwrap cannot create the sandbox namespaces.*will be refused (run \`astrid setup\`)$" \
    <<<"$out"
fi
echo "1..$_tap_n"
