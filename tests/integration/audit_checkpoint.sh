#!/usr/bin/env bash
# The signed audit checkpoint (docs/audit.md "Checkpoint"): boot reads only
# the lines after a checkpoint that still matches its log, falls back to
# reading the whole log when it does not, and never boots on a chain a
# checkpoint cannot vouch for. A real daemon; checkpoints forged with the
# runtime key by tests/tools/audit_gen (as a bug would leave them).
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
G=$ASTRID_BUILD/tests/audit_gen
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
trap '$A stop >/dev/null 2>&1; sleep 0.2; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TEST_TMP"' EXIT
D=$ASTRID_HOME/home/default/.local/audit
LOG=$D/audit.jsonl
CK=$D/checkpoint.json

# The daemon writes the checkpoint after it answers `astrid stop`: wait
# until it let go of its lock.
down() {
  $A stop >/dev/null 2>&1
  for _ in $(seq 1 300); do
    flock -n "$ASTRID_HOME/run/daemon.lock" true 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# The line the latest boot logged about default's audit log.
boot_line() { grep -h 'audit log of default:' "$ASTRID_HOME"/log/astrid.*.log | tail -n 1; }
# Boot in the foreground expecting a refusal: prints the output, returns the status.
refused() { timeout 60 "$BIN/astrid-daemon" 2>&1; }
lines() { wc -l <"$LOG" | tr -d ' '; }

ok_if "start" $A start
ok_if "agent create alice" $A agent create alice
ok_if "caps grant alice audit:read" $A caps grant alice audit:read
ok_if "stop" down
ok_if "a clean stop leaves a checkpoint" test -f "$CK"
expect_eq "  mode 0600" "$(stat -c %a "$CK")" "600"
expect_eq "  counting every entry" "$(jq -r .entries "$CK")" "$(lines)"
expect_eq "  up to the end of the log" "$(jq -r .offset "$CK")" "$(stat -c %s "$LOG")"
expect_eq "  of this file" "$(jq -r .inode "$CK")" "$(stat -c %i "$LOG")"

# A log grown past its checkpoint (a daemon that never stopped cleanly).
base=$(lines)
ok_if "append 3000 entries after the checkpoint" "$G" "$ASTRID_HOME" default 3000
ok_if "start on it" $A start
ok_if "  boot read only the 3000 after the checkpoint" \
  grep -q "read 3000 after its checkpoint at entry $base\$" <<<"$(boot_line)"
ok_if "stop" down
ok_if "  the checkpoint moved to the end" test "$(jq -r .entries "$CK")" = "$(lines)"
ok_if "start after a clean stop" $A start
ok_if "  boot read no line of the log" grep -q "read 0 after its checkpoint" <<<"$(boot_line)"
ok_if "stop" down
ok_if "the chain verifies" $A audit verify

# Checkpoints boot must not trust: each falls back to reading the whole log.
n=$(lines)
fallback() { # NAME WHY: boot, read all lines for WHY, checkpoint renewed
  ok_if "$1: boots" $A start
  ok_if "  reading all $n lines ($2)" grep -q "read all $n lines ($2" <<<"$(boot_line)"
  ok_if "  stop" down
  ok_if "  the checkpoint is renewed and trusted again" bash -c "$A start >/dev/null && grep -h 'audit log of default:' '$ASTRID_HOME'/log/astrid.*.log | tail -n 1 | grep -q 'after its checkpoint'"
  down
  n=$(lines)
}
cp "$CK" "$TEST_TMP/ck.good"
jq -c '.entries += 1' "$TEST_TMP/ck.good" >"$CK"
fallback "an edited checkpoint (bad signature)" "checkpoint signature does not verify"
rm -f "$CK"
fallback "no checkpoint" "no checkpoint"
"$G" ckpt "$ASTRID_HOME" default offset=$(( $(stat -c %s "$LOG") - 5 ))
fallback "a signed checkpoint whose offset is inside a line" "no line of the log ends at"
"$G" ckpt "$ASTRID_HOME" default last=$(printf 'ab%.0s' $(seq 32))
fallback "a signed checkpoint with the wrong last hash" "the line at the checkpoint"
ok_if "  said so in the daemon log" grep -q "ERROR.*audit checkpoint not used" "$ASTRID_HOME"/log/astrid.*.log
"$G" ckpt "$ASTRID_HOME" default first=$(printf 'cd%.0s' $(seq 32))
fallback "a signed checkpoint with the wrong first hash" "the log's first line"
"$G" ckpt "$ASTRID_HOME" default inode=1
fallback "a checkpoint of another file" "the checkpoint is for another file"
jq -c '.principal = "alice"' "$TEST_TMP/ck.good" >"$CK"
fallback "alice's checkpoint as default's" "checkpoint is for another principal"
H2=$TEST_TMP/home2
ASTRID_HOME=$H2 $A start >/dev/null && ASTRID_HOME=$H2 $A stop >/dev/null
for _ in $(seq 1 100); do flock -n "$H2/run/daemon.lock" true 2>/dev/null && break; sleep 0.1; done
ASTRID_HOME=$H2 "$G" ckpt "$H2" default entries=$n offset=$(stat -c %s "$LOG") inode=$(stat -c %i "$LOG")
cp "$H2/home/default/.local/audit/checkpoint.json" "$CK"
fallback "a checkpoint signed by another home's key" "checkpoint is signed by another key"

# kill -9 between appends and the checkpoint: boot reads the tail.
ok_if "start" $A start
pid=$($A status --format json | jq -r .pid)
for i in 1 2 3; do $A agent create "k$i" >/dev/null; done
kill -9 "$pid"; sleep 0.5
ok_if "after kill -9 the checkpoint is behind the log" test "$(jq -r .entries "$CK")" -lt "$(lines)"
ok_if "  start" $A start
ok_if "  boot read the entries after the checkpoint" grep -qE "read [1-9][0-9]* after its checkpoint" <<<"$(boot_line)"
ok_if "stop" down
ok_if "the chain verifies" $A audit verify

# A torn tail after the checkpoint is still a crash: moved aside.
printf '{"id":"torn' >>"$LOG"
ok_if "a torn tail after the checkpoint: boots" $A start
ok_if "  moved aside" bash -c "ls '$LOG'.torn-* >/dev/null 2>&1"
ok_if "  using the checkpoint" grep -q "after its checkpoint" <<<"$(boot_line)"
ok_if "stop" down

# Damage a checkpoint cannot hide.
cp "$LOG" "$TEST_TMP/log.good"; cp "$CK" "$TEST_TMP/ck.good"
restore() { cp "$TEST_TMP/log.good" "$LOG"; cp "$TEST_TMP/ck.good" "$CK"; }
# the last line, covered by the checkpoint, re-signed wrongly (same length,
# and sed makes a new file): before checkpoints this was cut as a torn
# tail; a checkpoint proves it was on disk, so it is damage
sed -i '$s/"signature":"A/"signature":"B/; t; $s/"signature":"./"signature":"A/' "$LOG"
out=$(refused); rc=$?
expect_eq "an invalid last line the checkpoint covers: refused (exit 1)" "$rc" "1"
ok_if "  naming astrid audit repair" grep -q 'damaged before its last line.*astrid audit repair -a default' <<<"$out"
restore
"$G" "$ASTRID_HOME" default 10
sed -i "$(( $(lines) - 3 ))s/\"GetStatus\"/\"GetStatuX\"/" "$LOG"
out=$(refused); rc=$?
expect_eq "an edited line after the checkpoint: refused" "$rc" "1"
ok_if "  does not link" grep -q 'does not link to the one before.*astrid audit repair' <<<"$out"
# a checkpoint over the whole edited log, with the signature of the real
# one replayed (nobody without the key can sign one)
"$G" ckpt "$ASTRID_HOME" default
jq -c --arg s "$(jq -r .signature "$TEST_TMP/ck.good")" '.signature = $s' "$CK" >"$CK.x" && mv "$CK.x" "$CK"
out=$(refused); rc=$?
expect_eq "  and with a checkpoint over it all, signature replayed: still refused" "$rc" "1"
ok_if "  does not link" grep -q 'does not link to the one before' <<<"$out"
restore
n=$(lines)
truncate -s "$(( $(stat -c %s "$LOG") - $(tail -n 2 "$LOG" | wc -c) ))" "$LOG"
out=$(refused); rc=$?
expect_eq "a log cut below its checkpoint: refused" "$rc" "1"
ok_if "  saying entries were removed" grep -q "vouches for $n entries.*entries were removed.*astrid audit repair -a default" <<<"$out"
out=$($A audit verify); rc=$?
expect_eq "  verify fails too" "$rc" "1"
ok_if "  at the first missing entry" grep -q "broken at entry $((n - 1)).*entries were removed" <<<"$out"
out=$($A audit repair); rc=$?
expect_eq "  repair exits 0" "$rc" "0"
ok_if "  moving nothing, signing a record" grep -q "nothing to move.*signed an audit_repair entry" <<<"$out"
ok_if "  the chain verifies" $A audit verify
expect_eq "  the checkpoint is the repaired chain's" "$(jq -r .entries "$CK")" "$(lines)"
ok_if "  the daemon boots" $A start
ok_if "  from that checkpoint" grep -q "read 0 after its checkpoint" <<<"$(boot_line)"
ok_if "stop" down
cp "$LOG" "$TEST_TMP/log.good"; cp "$CK" "$TEST_TMP/ck.good"

# Damage inside the checkpointed prefix: an in-place, same-length edit of
# an early line is not read at boot (that is what the checkpoint saves);
# `astrid audit verify` finds it. A prefix that changed length moves the
# line at the checkpoint's offset, and a rewritten file has a new inode:
# boot reads the whole log and refuses.
at=$(grep -bo '"timestamp":"2' "$LOG" | sed -n 2p | cut -d: -f1)
printf 1 | dd of="$LOG" bs=1 seek=$((at + 13)) conv=notrunc status=none
ok_if "an in-place, same-length edit of entry 2 under the checkpoint: boot does not read it" $A start
ok_if "stop" down
out=$($A audit verify); rc=$?
expect_eq "  astrid audit verify finds it" "$rc" "1"
ok_if "  at entry 2" grep -q "broken at entry 2" <<<"$out"
restore
sed -i '2s/"timestamp":"2/"timestamp":"1/' "$LOG"
out=$(refused); rc=$?
expect_eq "the same edit by rewriting the file (sed -i): refused" "$rc" "1"
ok_if "  found by reading the whole log" grep -q "entry 3 does not link" <<<"$out"
restore
sed -i '2s/"timestamp":"2/"timestamp":"12/' "$LOG"
out=$(refused); rc=$?
expect_eq "an edit that changes the prefix's length: refused" "$rc" "1"
ok_if "  found by reading the whole log" grep -q "entry 3 does not link" <<<"$out"
restore

# repair of a broken chain signs a fresh checkpoint
sed -i '3s/"timestamp":"2/"timestamp":"1/' "$LOG"
$A audit repair >/dev/null
expect_eq "repair of an edited chain: the checkpoint counts the repaired log" "$(jq -r .entries "$CK")" "3"
expect_eq "  of the new file" "$(jq -r .inode "$CK")" "$(stat -c %i "$LOG")"
ok_if "  the daemon boots from it" $A start
ok_if "  reading no line" grep -q "read 0 after its checkpoint at entry 3" <<<"$(boot_line)"
ok_if "stop" down
echo "1..$_tap_n"
