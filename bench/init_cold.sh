#!/usr/bin/env bash
# Cold `astrid init --yes` of the default distro (issue 17 point 2, target
# <= 15 s on 2 cores): a fresh home and AOT cache each run, the daemon
# started first (as `make run` does), then the whole init timed. Besides
# the wall time it prints the CPU time the daemon and every compiler it ran
# used (utime+stime+cutime+cstime of the daemon from /proc), since on a
# shared machine the wall time mostly says how loaded it was: on an idle
# machine the wall time cannot drop below CPU / cores. Medians of
# BENCH_INIT_RUNS runs (default 3).
set -u
N=${BENCH_INIT_RUNS:-3}
B=$(cd "${ASTRID_BUILD:-build}/bin" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/astrid-bench-init.XXXXXX")
cleanup() {
  ASTRID_HOME=$T/home "$B/astrid" stop >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu_of() { # utime+stime+cutime+cstime of pid, in seconds
  awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz}' "/proc/$1/stat"
}
self_of() { # utime+stime of pid alone
  awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
walls=() cpus=() starts=()
for ((r = 1; r <= N; r++)); do
  rm -rf "$T/home"
  export ASTRID_HOME=$T/home
  mkdir -p "$T/ws"
  s0=$(date +%s.%N)
  (cd "$T/ws" && ASTRID_NO_AUTO_INIT=1 "$B/astrid" start >/dev/null 2>&1) || { echo "  daemon did not start"; exit 1; }
  s1=$(date +%s.%N)
  pid=$(cat "$ASTRID_HOME/run/daemon.lock" 2>/dev/null)
  [[ -n $pid && -r /proc/$pid/stat ]] || { echo "  no daemon pid"; exit 1; }
  c0=$(cpu_of "$pid") d0=$(self_of "$pid")
  t0=$(date +%s.%N)
  if ! "$B/astrid" init --yes >"$T/init.out" 2>&1; then
    echo "  init failed:"; sed 's/^/    /' "$T/init.out"; exit 1
  fi
  t1=$(date +%s.%N)
  c1=$(cpu_of "$pid") d1=$(self_of "$pid")
  "$B/astrid" stop >/dev/null 2>&1
  n=$(grep -c ' installed (' "$T/init.out")
  w=$(echo "$t1 - $t0" | bc -l) c=$(echo "$c1 - $c0" | bc -l) st=$(echo "$s1 - $s0" | bc -l)
  walls+=("$w") cpus+=("$c") starts+=("$st")
  printf '  run %d: %d capsules, init %.1f s wall, %.1f s CPU (daemon %.1f s + its children); start %.2f s; load %s\n' \
    "$r" "$n" "$w" "$c" "$(echo "$d1 - $d0" | bc -l)" "$st" "$(cut -d' ' -f1 /proc/loadavg)"
done
mw=$(printf '%s\n' "${walls[@]}" | median) mc=$(printf '%s\n' "${cpus[@]}" | median)
ms=$(printf '%s\n' "${starts[@]}" | median)
printf '  cold init (median of %d): %.1f s wall, %.1f s CPU = %.1f s on %d idle cores at best (target <= 15 s); start %.2f s\n' \
  "$N" "$mw" "$mc" "$(echo "$mc / $(nproc)" | bc -l)" "$(nproc)" "$ms"
