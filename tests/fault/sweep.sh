#!/usr/bin/env bash
# The fault sweep (docs/testing.md "Fault injection"): for each step of a
# scripted operator session and each kind of call, run the step once per N
# with the N-th call of that kind failed (or the daemon killed there) by
# the LD_PRELOAD shim (tests/fault/faultinj.c), then restart without faults
# and check that
#   - the faulted daemon exited cleanly (a message, no sanitizer report,
#     no signal but our own SIGKILL) or stayed up, and did not hang;
#   - the restarted daemon boots (after `astrid audit repair` when, and only
#     when, it refuses naming that command);
#   - no state file is torn: every TOML and JSON file under the home
#     parses, LMDB dumps, every principal's audit chain verifies;
#   - the state (agents, grants, groups, capsules, KV namespaces, the KV
#     counter) equals the state before the step or after it, and equals
#     "after" when the step reported success.
# Prints TAP: one line per (step, kind, what), failures with the runs.
#
# usage: sweep.sh --build DIR [--steps "agent grant ..."] [--kinds "fsync ..."]
#                 [--kill "write ..."] [--arm "malloc ..."] [--max N]
#                 [--stride S] [--from N] [--skip S:R] [--work DIR] [--compile]
#   --kinds   calls failed with an errno (default: all of them)
#   --kill    calls at which the daemon is SIGKILLed (default: write fsync
#             rename pwrite fdatasync)
#   --arm     calls counted only from the step's first connection to the
#             daemon (ASTRID_FAULT_ARM=accept), so N covers the step and
#             not boot, which every step repeats (default: malloc, some
#             3 500 calls a run of which boot makes all but a few hundred)
#   --max     sweep N only up to this (default: every N the step makes)
#   --stride  take every S-th N (default 1)
#   --from    start at this N (default 1), to resume a long sweep
#   --compile no AOT cache for install: every run compiles the capsule (a
#             capsule's first install; about a minute a run on a loaded machine)
#   --skip    leave out the N with N % S == R (e.g. 10:1 after an earlier
#             --stride 10 sweep ran N 1, 11, 21, ...); repeatable
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=
steps="agent grant group install kv"
kinds="write pwrite fsync fdatasync rename open openat ftruncate malloc"
kills="write pwrite fsync fdatasync rename"
arm="malloc"
max=0
stride=1
from=1
skips=()
work=
compile=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --kinds) kinds=$2; shift 2 ;;
    --kill) kills=$2; shift 2 ;;
    --arm) arm=$2; shift 2 ;;
    --max) max=$2; shift 2 ;;
    --stride) stride=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --skip)
      [[ $2 =~ ^[1-9][0-9]*:[0-9]+$ ]] || { echo "sweep.sh: --skip takes S:R" >&2; exit 2; }
      skips+=("$2"); shift 2 ;;
    --work) work=$2; shift 2 ;;
    --compile) compile=1; shift ;;
    *) echo "sweep.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$build" ]] || { echo "sweep.sh: --build DIR is required" >&2; exit 2; }
build=$(cd "$build" && pwd)
B=$build/bin
SHIM=$build/tests/libfaultinj.so
[[ -x $B/astrid-daemon && -f $SHIM ]] || { echo "sweep.sh: $B/astrid-daemon or $SHIM missing (make)" >&2; exit 2; }
# A sanitized daemon takes libasan first in the preload list (ASan insists
# on it); libasan's interceptors then reach the shim. Its malloc is
# libasan's, so malloc faults need the release build.
asan=no
if ldd "$B/astrid-daemon" | grep -q libasan; then
  asan=yes
  asan_lib=$(gcc -print-file-name=libasan.so)
  kinds=$(tr ' ' '\n' <<<"$kinds" | grep -vx malloc | tr '\n' ' ')
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
fi
own_work=no
if [[ -z "$work" ]]; then work=$(mktemp -d /tmp/astrid-fault.XXXXXX); own_work=yes; fi
mkdir -p "$work"
export NO_COLOR=1 ASTRID_NO_AUTO_INIT=1 ASTRID_SDK=$src/sdk/c
unset ASTRID_FAULT ASTRID_FAULT_COUNT ASTRID_FAULT_PID
# Copies of the programs, so a rebuild meanwhile does not change them
# under a long sweep; the CLI in a folder without astrid-daemon: an admin
# verb starts a daemon when none runs, which would hide a faulted one's
# death.
mkdir -p "$work/cli" "$work/bin"
cp "$B/astrid" "$work/cli/astrid"
cp "$B/astrid-daemon" "$B/astrid-build" "$build/tests/toml-decoder" "$SHIM" "$work/bin/"
B=$work/bin
SHIM=$B/libfaultinj.so
preload=$SHIM
[[ $asan == yes ]] && preload=$asan_lib:$SHIM
A=$work/cli/astrid
tap_n=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
fails=0
not_ok() { tap_n=$((tap_n + 1)); fails=$((fails + 1)); echo "not ok $tap_n - $1"; }
daemon_pid=
cleanup() {
  [[ -n "$daemon_pid" ]] && kill -9 "$daemon_pid" 2>/dev/null
  [[ $own_work == yes ]] && rm -rf "$work"
}
trap cleanup EXIT

# start_daemon HOME LOG [env...]: start a daemon and wait until it is
# ready (0), it exited (1, status in $daemon_rc) or 30 s passed (2).
start_daemon() {
  local home=$1 log=$2; shift 2
  rm -f "$home/run/system.ready"
  env ASTRID_HOME="$home" "$@" "$B/astrid-daemon" >"$log" 2>&1 </dev/null &
  daemon_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -e "$home/run/system.ready" ]] && return 0
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
      wait "$daemon_pid"; daemon_rc=$?; daemon_pid=
      return 1
    fi
    sleep 0.05
  done
  return 2
}
# stop_daemon HOME: ask it to stop; SIGTERM it when it refuses (a Shutdown
# the audit log could not record is denied, by design); SIGKILL after 20 s
# more (status 2: a hang).
stop_daemon() {
  local home=$1 i
  [[ -z "$daemon_pid" ]] && return 0
  ASTRID_HOME=$home timeout 20 "$A" stop >/dev/null 2>&1 || kill -TERM "$daemon_pid" 2>/dev/null
  for ((i = 0; i < 400; i++)); do
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
      wait "$daemon_pid"; daemon_rc=$?; daemon_pid=
      return 0
    fi
    [[ $i -eq 100 ]] && kill -TERM "$daemon_pid" 2>/dev/null
    sleep 0.05
  done
  kill -9 "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
  return 2
}

capsule=$work/out/kvcount.capsule
if [[ ! -f $capsule ]]; then
  "$B/astrid-build" "$src/tests/capsules/kvcount" -o "$work/out" >/dev/null 2>&1 ||
    { echo "sweep.sh: cannot build tests/capsules/kvcount" >&2; exit 2; }
fi

# The steps: setup (run without faults to make the home "before") and the
# operation under test.
step_setup() {
  case $1 in
    agent|group|install) : ;;
    grant) "$A" agent create alice >/dev/null ;;
    kv) "$A" capsule install "$capsule" >/dev/null && "$A" bus request demo.v1.kvcount '{"op":"incr"}' --timeout 30 >/dev/null ;;
  esac
}
step_op() {
  case $1 in
    agent) "$A" agent create alice ;;
    grant) "$A" caps grant alice audit:read ;;
    group) "$A" group create ops --caps system:status ;;
    install) "$A" capsule install "$capsule" ;;
    kv) "$A" bus request demo.v1.kvcount '{"op":"incr"}' --timeout 30 | grep -q '"counter"' ;;
  esac
}

# dump HOME OUT: the state the sweep compares, with the daemon up. Native
# tools only (jq, mdb_dump, the toml-decoder test tool): a Python start per
# run costs more than the run on a loaded machine.
dump() {
  local home=$1 out=$2 p
  {
    echo "== agents"
    ASTRID_HOME=$home timeout 20 "$A" agent list --format json
    for p in $(ASTRID_HOME=$home timeout 20 "$A" agent list --format json | jq -r '.[].principal'); do
      echo "== agent $p"
      ASTRID_HOME=$home timeout 20 "$A" agent show "$p" --format json
    done
    echo "== groups"
    ASTRID_HOME=$home timeout 20 "$A" group list --format json
    echo "== capsules"
    ASTRID_HOME=$home timeout 20 "$A" capsule list --format json | jq -c '[.[] | [.name, .version]] | sort'
    if [[ -d $home/home/default/.local/capsules/kvcount ]]; then
      echo "== counter"
      ASTRID_HOME=$home timeout 30 "$A" bus request demo.v1.kvcount '{"op":"get"}' --timeout 30
    fi
    # LMDB: every key, ids masked (values carry ids and times that differ
    # between runs); caches and usage counters are not state.
    echo "== kv keys"
    mdb_dump -p "$home/var/state.db" | sed -n '/^HEADER=END/,/^DATA=END/p' | sed '1d;$d' |
      awk 'NR % 2 == 1' | grep -v -e '^ caps:verify' -e '^ storage:' |
      sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/U/g' | sort
  } >"$out" 2>&1
}

# files_ok HOME: every state file parses, LMDB dumps, every audit chain
# verifies. Prints what is wrong, nothing when all is well.
files_ok() {
  local home=$1 f p
  while IFS= read -r -d '' f; do
    case $f in
      *.toml) "$B/toml-decoder" <"$f" >/dev/null 2>&1 || echo "torn: $f does not parse as TOML" ;;
      *.json) jq -e . "$f" >/dev/null 2>&1 || echo "torn: $f does not parse as JSON" ;;
    esac
  done < <(find "$home" -type f \( -name '*.toml' -o -name '*.json' \) -print0)
  for p in "$home"/home/*/; do
    p=$(basename "$p")
    [[ -f $home/home/$p/.local/audit/audit.jsonl ]] || continue
    ASTRID_HOME=$home "$A" audit verify -a "$p" >/dev/null 2>&1 ||
      echo "audit of $p does not verify: $(ASTRID_HOME=$home "$A" audit verify -a "$p" 2>&1)"
  done
  mdb_dump -p "$home/var/state.db" >/dev/null 2>&1 || echo "LMDB does not dump"
}

# skipped N: whether --skip leaves N out.
skipped() {
  local s
  for s in "${skips[@]}"; do
    (($1 % ${s%%:*} == ${s#*:})) && return 0
  done
  return 1
}

# armed KIND: whether KIND is counted from the step's first connection.
armed() { [[ " $arm " == *" $1 "* ]]; }

# run_one STEP KIND N WHAT: one faulted run; prints a finding or nothing.
run_one() {
  local step=$1 kind=$2 n=$3 what=$4 h=$work/run armenv=()
  armed "$kind" && armenv=(ASTRID_FAULT_ARM=accept)
  rm -rf "$h"; cp -a "$work/base-$step" "$h"
  local log=$work/faulted.log oprc=99 acked=no
  start_daemon "$h" "$log" LD_PRELOAD="$preload" ASTRID_FAULT_PROG=astrid-daemon \
    ASTRID_FAULT="$kind:$n:$what" "${armenv[@]}"
  local st=$?
  if [[ $st -eq 2 ]]; then stop_daemon "$h"; echo "hang: the faulted daemon did not get ready in 30 s"; return; fi
  if [[ $st -eq 0 ]]; then
    ASTRID_HOME=$h timeout 60 bash -c "$(declare -f step_op); A=$A capsule=$capsule; step_op $step" >"$work/op.out" 2>&1
    oprc=$?
    [[ $oprc -eq 0 ]] && acked=yes
    [[ $oprc -eq 124 ]] && echo "hang: the step did not finish in 60 s"
    if kill -0 "$daemon_pid" 2>/dev/null; then
      stop_daemon "$h" || echo "hang: the faulted daemon did not stop"
    else
      wait "$daemon_pid"; daemon_rc=$?; daemon_pid=
    fi
  fi
  if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$log"; then
    echo "sanitizer: $(grep -m1 -E 'ERROR|runtime error' "$log")"
  fi
  if [[ ${daemon_rc:-0} -gt 128 && $what != KILL ]]; then
    echo "crash: the faulted daemon died of signal $((daemon_rc - 128))"
  elif [[ ${daemon_rc:-0} -ne 0 && $daemon_rc -le 128 && $st -eq 1 ]] &&
       ! grep -q '^astrid-daemon: ' "$log"; then
    echo "unclean refusal: exit $daemon_rc without a message"
  fi
  daemon_rc=0
  # Restart without faults; a refusal must name `astrid audit repair`.
  local rlog=$work/restart.log
  start_daemon "$h" "$rlog"
  st=$?
  if [[ $st -eq 1 ]] && grep -q 'astrid audit repair' "$rlog"; then
    ASTRID_HOME=$h "$A" audit repair >>"$rlog" 2>&1
    start_daemon "$h" "$rlog"; st=$?
  fi
  if [[ $st -ne 0 ]]; then
    echo "no restart: $(tail -n 1 "$rlog")"
    return
  fi
  dump "$h" "$work/got"
  stop_daemon "$h" || echo "hang: the restarted daemon did not stop"
  files_ok "$h"
  if cmp -s "$work/got" "$work/after-$step"; then
    :
  elif cmp -s "$work/got" "$work/before-$step"; then
    [[ $acked == yes ]] && echo "lost: the step reported success but the state is 'before'"
  else
    echo "state is neither before nor after: $(diff "$work/before-$step" "$work/got" | head -n 6 | tr '\n' ' ')"
  fi
}

echo "# fault sweep: build $build (asan $asan), steps: $steps"
total_runs=0
for step in $steps; do
  # The install step's set-up is the AOT cache (docs/testing.md): without
  # it every run compiles the capsule (wasm2c, cc; `--compile` keeps it so), some 60 s a run on a
  # loaded machine, and N counts the compile's bookkeeping. Only a sweep
  # whose earlier step had installed used to have it; make it here.
  if [[ $step == install && $compile == 0 && ! -d $work/aot ]]; then
    seed=$work/aot-seed; rm -rf "$seed"; mkdir -p "$seed"
    if start_daemon "$seed" "$work/setup.log"; then
      ASTRID_HOME=$seed "$A" capsule install "$capsule" >/dev/null 2>&1
      stop_daemon "$seed"
    fi
    [[ -d $seed/bin/aot ]] && cp -a "$seed/bin/aot" "$work/aot"
    rm -rf "$seed"
  fi
  # base: the home before the step; after: the state after it (fault-free).
  base=$work/base-$step
  rm -rf "$base"; mkdir -p "$base"
  [[ $compile == 0 && -d $work/aot ]] && mkdir -p "$base/bin" && cp -a "$work/aot" "$base/bin/aot"
  start_daemon "$base" "$work/setup.log" || { not_ok "$step: setup daemon starts"; continue; }
  ASTRID_HOME=$base step_setup "$step" >/dev/null 2>&1
  dump "$base" "$work/before-$step"
  stop_daemon "$base"
  cnt=$work/count-$step
  h=$work/run; rm -rf "$h"; cp -a "$base" "$h"
  start_daemon "$h" "$work/count.log" LD_PRELOAD="$preload" ASTRID_FAULT_PROG=astrid-daemon \
    ASTRID_FAULT_COUNT="$cnt" || { not_ok "$step: counting daemon starts"; continue; }
  ASTRID_HOME=$h step_op "$step" >/dev/null 2>&1 || { not_ok "$step: the step succeeds without faults"; stop_daemon "$h"; continue; }
  stop_daemon "$h"
  start_daemon "$h" "$work/count.log" && dump "$h" "$work/after-$step"; stop_daemon "$h"
  # later steps reuse the AOT cache so an install does not recompile
  [[ $compile == 0 && ! -d $work/aot && -d $h/bin/aot ]] && cp -a "$h/bin/aot" "$work/aot"
  if cmp -s "$work/before-$step" "$work/after-$step"; then
    not_ok "$step: the step changes the state (else the sweep proves nothing)"; continue
  fi
  echo "# $step: calls $(tr '\n' ' ' <"$cnt")"
  # The armed kinds' counts: the step alone (from its first connection to
  # the stop's).
  cnta=$work/count-armed-$step
  rm -f "$cnta"
  if [[ -n $(for k in $kinds $kills; do armed "$k" && echo "$k"; done) ]]; then
    rm -rf "$h"; cp -a "$base" "$h"
    if start_daemon "$h" "$work/count.log" LD_PRELOAD="$preload" ASTRID_FAULT_PROG=astrid-daemon \
        ASTRID_FAULT_COUNT="$cnta" ASTRID_FAULT_ARM=accept; then
      ASTRID_HOME=$h step_op "$step" >/dev/null 2>&1
      stop_daemon "$h"
    fi
    [[ -f $cnta ]] || { not_ok "$step: the armed counting run counts"; continue; }
    echo "# $step: calls from its first connection $(tr '\n' ' ' <"$cnta")"
  fi
  for mode in errno kill; do
    list=$kinds; [[ $mode == kill ]] && list=$kills
    for kind in $list; do
      c=$cnt from_what=
      armed "$kind" && c=$cnta from_what=" from the step's connection"
      total=$(awk -v k="$kind" '$1 == k {print $2}' "$c")
      [[ -z "$total" || "$total" -eq 0 ]] && continue
      top=$total; [[ $max -gt 0 && $max -lt $top ]] && top=$max
      case $kind in
        write|pwrite) e=ENOSPC ;;
        malloc) e=ENOMEM ;;
        open|openat) e=EMFILE ;;
        *) e=EIO ;;
      esac
      [[ $mode == kill ]] && e=KILL
      findings=()
      runs=0
      for ((n = from; n <= top; n += stride)); do
        skipped "$n" && continue
        out=$(run_one "$step" "$kind" "$n" "$e")
        runs=$((runs + 1))
        if [[ -n "$out" ]]; then
          findings+=("$kind:$n:$e: ${out//$'\n'/ | }")
          # as found, so a long sweep shows them before its kind ends
          echo "# finding: $step: ${findings[-1]}"
        fi
      done
      total_runs=$((total_runs + runs))
      if [[ ${#findings[@]} -eq 0 ]]; then
        ok "$step: $kind:N:$e for N in $from..$top (of $total$from_what, stride $stride${skips[*]:+, skipping ${skips[*]}}): $runs runs consistent"
      else
        not_ok "$step: $kind:N:$e for N in $from..$top$from_what: ${#findings[@]} of $runs runs inconsistent"
      fi
    done
  done
done
echo "# $total_runs faulted runs"
echo "1..$tap_n"
[[ $fails -eq 0 ]]
