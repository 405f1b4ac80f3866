#!/usr/bin/env bash
# `astrid audit repair` and the daemon's refusal to boot on a broken chain
# (docs/audit.md "Repair"): a real daemon, a real log, an edited entry.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
trap '$A stop >/dev/null 2>&1; sleep 0.2; rm -rf "$TEST_TMP"' EXIT
LOG=$ASTRID_HOME/home/default/.local/audit/audit.jsonl

ok_if "start" $A start
ok_if "agent create alice" $A agent create alice
ok_if "caps grant alice audit:read" $A caps grant alice audit:read
out=$($A audit repair 2>&1); rc=$?
expect_eq "repair with the daemon up exits 1" "$rc" "1"
ok_if "  saying to stop it first" grep -q 'the daemon is running.*astrid stop' <<<"$out"
ok_if "stop" $A stop
out=$($A audit repair); rc=$?
expect_eq "repair of a chain that verifies exits 0" "$rc" "0"
ok_if "  and changes nothing" grep -q 'nothing to repair' <<<"$out"
ok_if "  no damaged file" bash -c "! ls '$LOG'.damaged-* >/dev/null 2>&1"
n=$(wc -l <"$LOG")
ok_if "the log has entries" test "$n" -ge 3
# Edit the second entry: its signature no longer covers it.
cp "$LOG" "$TEST_TMP/orig"
sed -i '2s/"AgentCreate"/"AgentDelete"/; 2s/"agent_create"/"agent_delete"/; 2s/"timestamp":"2/"timestamp":"1/' "$LOG"
ok_if "the edit changed the log" bash -c "! cmp -s '$LOG' '$TEST_TMP/orig'"
$A audit verify >/dev/null 2>&1; expect_eq "verify reports the broken chain" "$?" "1"
out=$(timeout 60 "$BIN/astrid-daemon" 2>&1); rc=$?
expect_eq "the daemon refuses to boot on it (exit 1)" "$rc" "1"
ok_if "  naming astrid audit repair" grep -q 'astrid audit repair -a default' <<<"$out"
ok_if "  and the log is untouched" bash -c "sed -n 2p '$LOG' | grep -q '\"timestamp\":\"1'"
rm -f "$TEST_TMP/key"; mv "$ASTRID_HOME/keys/runtime.key" "$TEST_TMP/key"
cp "$LOG" "$TEST_TMP/edited"
$A audit repair >/dev/null 2>&1; expect_eq "repair without the runtime key exits 1" "$?" "1"
ok_if "  leaving the log as it was" cmp -s "$LOG" "$TEST_TMP/edited"
mv "$TEST_TMP/key" "$ASTRID_HOME/keys/runtime.key"
$A audit repair --all -a default >/dev/null 2>&1; expect_eq "--all with -a is refused" "$?" "1"
out=$($A audit repair --all); rc=$?
expect_eq "repair --all exits 0" "$rc" "0"
ok_if "  reports the cut from entry 2" grep -q "repaired: kept 1 entry; moved $((n - 1)) lines.*from entry 2" <<<"$out"
dam=$(ls "$LOG".damaged-* 2>/dev/null | head -n 1)
ok_if "the cut lines are kept beside the log" test -n "$dam"
expect_eq "  mode 0600" "$(stat -c %a "$dam" 2>/dev/null)" "600"
expect_eq "  byte for byte" "$(tail -n +2 "$TEST_TMP/edited" | cmp -s - "$dam" && echo same)" "same"
ok_if "  first line of the log untouched" bash -c "cmp -s <(head -n 1 '$LOG') <(head -n 1 '$TEST_TMP/orig')"
out=$($A audit verify); rc=$?
expect_eq "the repaired chain verifies" "$rc" "0"
ok_if "  2 entries: the good one and the repair record" grep -q '2 entries verified' <<<"$out"
last=$($A audit show --format json --limit 1)
expect_eq "the last entry is audit_repair" "$(jq -r '.[0].action.type' <<<"$last")" "audit_repair"
expect_eq "  naming the damaged file" "$(jq -r '.[0].action.damaged_file' <<<"$last")" "$(basename "$dam")"
expect_eq "  with its BLAKE3" "$(jq -r '.[0].action.damaged_blake3' <<<"$last")" "$("$BIN/astrid-build" hash "$dam" 2>/dev/null | awk '{print $1}')"
expect_eq "  and its line count" "$(jq -r '.[0].action.damaged_lines' <<<"$last")" "$((n - 1))"
ok_if "the daemon boots on the repaired chain" $A start
ok_if "  and appends to it" $A caps grant alice bus:watch
ok_if "  the chain still verifies" $A audit verify
ok_if "stop" $A stop
echo "1..$_tap_n"
