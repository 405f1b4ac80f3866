#!/usr/bin/env bash
# Fault injection (docs/testing.md "Fault injection"): the LD_PRELOAD shim
# itself, then a bounded slice of tests/fault/sweep.sh on this tree (the
# whole sweep is `make faults`).
set -u
source "$ASTRID_SRC/tests/lib.sh"
S=$ASTRID_BUILD/tests/libfaultinj.so
ok_if "the shim is built" test -f "$S"
# A sanitized build preloads libasan first (ASan insists); plain tools here
# are not sanitized, so the shim alone.
f=$TEST_TMP/f
LD_PRELOAD=$S ASTRID_FAULT=write:1:ENOSPC dd if=/dev/zero of="$f" bs=1 count=1 status=none 2>"$TEST_TMP/err"
expect_eq "write:1:ENOSPC fails the first write" "$?" "1"
ok_if "  with ENOSPC" grep -q 'No space left' "$TEST_TMP/err"
LD_PRELOAD=$S ASTRID_FAULT=write:2:ENOSPC dd if=/dev/zero of="$f" bs=1 count=1 status=none
expect_eq "write:2 leaves a one-write program alone" "$?" "0"
LD_PRELOAD=$S ASTRID_FAULT=fsync:1:EIO dd if=/dev/zero of="$f" bs=1 count=1 conv=fsync status=none 2>"$TEST_TMP/err"
expect_eq "fsync:1:EIO fails the fsync" "$?" "1"
ok_if "  with EIO" grep -q 'Input/output error' "$TEST_TMP/err"
(LD_PRELOAD=$S ASTRID_FAULT=write:1:KILL exec dd if=/dev/zero of="$f" bs=1 count=1 status=none 2>/dev/null)
expect_eq "write:1:KILL kills the process there" "$?" "137"
LD_PRELOAD=$S ASTRID_FAULT_COUNT=$TEST_TMP/count dd if=/dev/zero of="$f" bs=1 count=3 status=none
expect_eq "ASTRID_FAULT_COUNT counts the calls" "$(awk '$1 == "write" {print $2}' "$TEST_TMP/count")" "3"
out=$(LD_PRELOAD=$S ASTRID_FAULT=write:1:ENOSPC bash -c "dd if=/dev/zero of='$f' bs=1 count=1 status=none; echo \$?")
expect_eq "a child of the process under test is left alone" "$out" "0"
out=$(LD_PRELOAD=$S ASTRID_FAULT_PROG=astrid-daemon ASTRID_FAULT=write:1:ENOSPC dd if=/dev/zero of="$f" bs=1 count=1 status=none; echo $?)
expect_eq "ASTRID_FAULT_PROG spares other programs" "$out" "0"
LD_PRELOAD=$S ASTRID_FAULT=write:x:EIO /bin/true 2>"$TEST_TMP/err"
expect_eq "a malformed ASTRID_FAULT exits 97" "$?" "97"
ok_if "  saying so" grep -q 'ASTRID_FAULT must be' "$TEST_TMP/err"
# ASTRID_FAULT_ARM=accept: nothing counts before the first accepted
# connection (tests/fault/armed.py writes once before it and once after each
# of two). The real interpreter: a pyenv shim is a shell, which the shim
# would take as the process under test.
py=$(python3 -c 'import sys; print(sys.executable)')
armed() { rm -f "$TEST_TMP/armed.sock"; env LD_PRELOAD="$S" "$@" "$py" -B "$ASTRID_SRC/tests/fault/armed.py" "$TEST_TMP/armed.sock" "$f"; }
expect_eq "armed at accept: write:1 is the first write after the first connection" \
  "$(armed ASTRID_FAULT_ARM=accept ASTRID_FAULT=write:1:ENOSPC)" "ok No space left on device ok"
expect_eq "  unarmed, write:1 is the first write" "$(armed ASTRID_FAULT=write:1:ENOSPC)" "No space left on device ok ok"
rm -f "$TEST_TMP/count"
armed ASTRID_FAULT_ARM=accept ASTRID_FAULT_COUNT="$TEST_TMP/count" >/dev/null
expect_eq "  the count is the one as of the latest connection" \
  "$(awk '$1 == "write" {print $2}' "$TEST_TMP/count" 2>&1)" "1"
LD_PRELOAD=$S ASTRID_FAULT_ARM=bind /bin/true 2>"$TEST_TMP/err"
expect_eq "  a malformed ASTRID_FAULT_ARM exits 97" "$?" "97"
# The state a kill between agent create's identity and its profile leaves
# (the sweep finds it at some N; here made by hand, so it is always tried):
# boot removes the identity of an agent without a profile.
A=$BIN/astrid
export ASTRID_HOME=$TEST_TMP/home NO_COLOR=1
users() { mdb_dump -p "$ASTRID_HOME/var/state.db" | grep -c '^ system:identity\\00user/'; }
$A start >/dev/null 2>&1
$A agent create alice >/dev/null 2>&1
$A stop >/dev/null 2>&1; sleep 1
before=$(users)
ok_if "agent create alice made a user" test "$before" -ge 1
rm "$ASTRID_HOME/etc/profiles/alice.toml"
ok_if "start with alice's identity and no profile" $A start
expect_eq "  the orphan identity is gone" "$(users)" "$((before - 1))"
ok_if "  the daemon log says so" grep -q 'removed the identity of agent alice' "$ASTRID_HOME"/log/astrid.*.log
ok_if "  and alice can be created again" $A agent create alice
ok_if "  the cli link resolves to the new user" bash -c "mdb_dump -p '$ASTRID_HOME/var/state.db' | grep -q 'link/cli/alice'"
$A stop >/dev/null 2>&1; sleep 1
expect_eq "  one user for alice, not two" "$(users)" "$before"
unset ASTRID_HOME
# The slice: creating an agent (a profile, three identity records, home
# directories, audit entries), every other fsync, rename and LMDB pwrite
# failed, the daemon killed at every other pwrite and fsync; pwrite counted
# from the step's first connection (--arm), so the armed path runs here too.
bash "$ASTRID_SRC/tests/fault/sweep.sh" --build "$ASTRID_BUILD" --work "$TEST_TMP/sweep" \
  --steps agent --kinds "fsync rename pwrite" --kill "pwrite fsync" --arm pwrite --stride 2 >"$TEST_TMP/sweep.tap" 2>&1
rc=$?
while IFS= read -r l; do
  case $l in
    "ok "*) ok "sweep: ${l#ok * - }" ;;
    "not ok "*) not_ok "sweep: ${l#not ok * - }" ;;
  esac
done <"$TEST_TMP/sweep.tap"
grep '^# ' "$TEST_TMP/sweep.tap"
ok_if "the sweep ran faulted runs" grep -qE '^# [1-9][0-9]* faulted runs' "$TEST_TMP/sweep.tap"
expect_eq "the sweep script exits 0" "$rc" "0"
echo "1..$_tap_n"
