#!/usr/bin/env bash
# Boot time and peak RSS of the daemon against a long audit log
# (docs/audit.md "Checkpoint"): N entries (default 200000, AUDIT_BOOT_N)
# made by tests/tools/audit_gen, then 3 boots each of
#   full   - no checkpoint: boot streams the whole log once
#   ckpt   - the checkpoint a clean stop wrote: boot reads the tail only
#   old    - $ASTRID_OLD_DAEMON, when set (a daemon built before checkpoints)
# Reports medians: seconds from exec to run/system.ready, CPU seconds
# (user+sys, whole run: boot plus stop; steadier than wall time on a loaded
# machine) and max RSS.
set -u
B=${ASTRID_BUILD:-build}
N=${AUDIT_BOOT_N:-200000}
A=$B/bin/astrid
export ASTRID_NO_AUTO_INIT=1 NO_COLOR=1
export ASTRID_HOME=$(mktemp -d /tmp/audit_boot.XXXXXX)
trap '"$A" stop >/dev/null 2>&1; sleep 1; rm -rf "$ASTRID_HOME"' EXIT
LOG=$ASTRID_HOME/home/default/.local/audit/audit.jsonl
CK=$ASTRID_HOME/home/default/.local/audit/checkpoint.json
"$A" start >/dev/null && "$A" stop >/dev/null && sleep 1
"$B/tests/audit_gen" "$ASTRID_HOME" default "$N" || exit 1
echo "log: $(wc -l <"$LOG") entries, $(( $(stat -c %s "$LOG") / 1048576 )) MiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# boot DAEMON: prints "SECONDS CPU RSS_KB"
boot() {
  local d=$1 t0 t1 rss
  rm -f "$ASTRID_HOME/run/system.ready" "$ASTRID_HOME/rss"
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$ASTRID_HOME/rss" "$d" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 12000); do
    [[ -e $ASTRID_HOME/run/system.ready ]] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  t1=$(date +%s.%N)
  "$A" stop >/dev/null 2>&1
  wait $pid
  sleep 0.5
  local u sy m
  read -r u sy m < <(tail -n 1 "$ASTRID_HOME/rss")
  echo "$(echo "$t1 - $t0" | bc) $(echo "$u + $sy" | bc) $m"
}
median() { sort -n | sed -n 2p; }
run() {
  local name=$1 d=$2 prep=$3 r s=() c=() m=()
  for i in 1 2 3; do
    $prep
    read -r a b x < <(boot "$d")
    s+=("$a") c+=("$b") m+=("$x")
  done
  printf '%-5s boot %6.2f s (%s)  cpu %6.2f s (%s)  max RSS %7.1f MiB (%s KiB)\n' "$name" \
    "$(printf '%s\n' "${s[@]}" | median)" "${s[*]}" \
    "$(printf '%s\n' "${c[@]}" | median)" "${c[*]}" \
    "$(echo "$(printf '%s\n' "${m[@]}" | median) / 1024" | bc -l)" "${m[*]}"
}
nock() { rm -f "$CK"; }
if [[ -n ${ASTRID_OLD_DAEMON:-} ]]; then run old "$ASTRID_OLD_DAEMON" nock; fi
run full "$B/bin/astrid-daemon" nock
run ckpt "$B/bin/astrid-daemon" true
/usr/bin/time -f '%e %M' -o "$ASTRID_HOME/vt" "$A" audit verify >/dev/null
read -r e m <"$ASTRID_HOME/vt"
echo "astrid audit verify (full, streaming): $e s, max RSS $((m / 1024)) MiB"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
