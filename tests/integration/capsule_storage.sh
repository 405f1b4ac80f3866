#!/usr/bin/env bash
# Storage quota (max_storage_bytes) and capsule logs (security issue #12):
# the filler test capsule, installed by the admin and invoked AS each agent,
# writes KV, log lines and files until the agent's quota refuses them; the
# refusal is the host function's error naming the quota, stored data stays,
# the daemon serves on, other agents are untouched, `quota set` and deletes
# make room again without a restart; logs rotate by size; oversized KV
# keys/values are errors, never traps; log lines carry RFC 3339 timestamps.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
# fill AGENT JSON: one demo.v1.fill invocation as AGENT (the active agent
# is the caller: docs/cli.md), printing the capsule's reply.
fill() {
  $A agent switch "$1" >/dev/null 2>&1 || return 1
  $A bus request demo.v1.fill "$2" --timeout 120 2>&1
}
okv() { j 'd["ok"]' <<<"$1"; }
err() { j 'd["error"]' <<<"$1"; }
# du_b DIR: apparent bytes of the regular files under DIR.
du_b() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }

build_capsule "$ASTRID_SRC/tests/capsules/filler"
mkdir -p "$TEST_TMP/ws" && cd "$TEST_TMP/ws" || exit 1 # the daemon's workspace
ok_if "start" $A start
for a in bob carol dave erin; do
  ok_if "agent create $a --storage 1M" $A agent create $a --storage 1M
  ok_if "  $a may use the bus tools" $A caps grant $a system:bus
done
ok_if "agent create logger --storage 45M" $A agent create logger --storage 45M
ok_if "  logger may use the bus tools" $A caps grant logger system:bus
ok_if "capsule install filler (by the admin)" $A capsule install "$O/filler.capsule"
Q="storage quota exceeded for principal bob: 1000000 bytes (max_storage_bytes)"

# --- KV: bob, 1M
r=$(fill bob '{"op":"kvset","key":"a","bytes":100000}')
expect_eq "bob: kv-set of 100 kB within 1M" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvset","key":"big","bytes":600000}')
expect_eq "bob: kv-set of 600 kB more" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvset","key":"big2","bytes":400000}')
expect_eq "bob: kv-set past the quota fails" "$(okv "$r")" "False"
expect_eq "  with the host's error naming the quota" "$(err "$r")" "kv-set: $Q"
r=$(fill bob '{"op":"kvget","key":"big2"}')
expect_eq "  and stored nothing" "$(j 'd["len"]' <<<"$r")" "-1"
r=$(fill bob '{"op":"kvset","key":"big","bytes":1000000}')
expect_eq "bob: growing an existing key past the quota fails" "$(okv "$r")" "False"
r=$(fill bob '{"op":"kvget","key":"big"}')
expect_eq "  the old value is intact" "$(j 'd["len"]' <<<"$r")" "600000"
r=$(fill bob '{"op":"kvget","key":"a"}')
expect_eq "the daemon serves on: a later small read works" "$(j 'd["len"]' <<<"$r")" "100000"
r=$(fill bob '{"op":"kvset","key":"big","bytes":500000}')
expect_eq "bob: shrinking an overwrite is allowed" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvset","key":"big","bytes":850000}')
expect_eq "  and an overwrite is charged only its difference" "$(okv "$r")" "True"
r=$(fill bob '{"op":"file","path":"home://fill/f","bytes":200000}')
expect_eq "bob: a file write through the VFS past the quota fails" "$(okv "$r")" "False"
ok_if "  naming the quota" grep -q "$Q" <<<"$(err "$r")"
ok_if "  and no file was created" test ! -e "$ASTRID_HOME/home/bob/fill/f"
r=$(fill erin '{"op":"kvset","key":"x","bytes":900000}')
expect_eq "erin's quota is unaffected by bob's (900 kB)" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvdel","key":"big"}')
expect_eq "bob: kv-delete" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvset","key":"big2","bytes":400000}')
expect_eq "  deleting a key freed its quota (400 kB fit again)" "$(okv "$r")" "True"
r=$(fill bob '{"op":"kvset","key":"big3","bytes":900000}')
expect_eq "bob: 900 kB more does not fit in 1M" "$(okv "$r")" "False"
ok_if "agent switch default" $A agent switch default
ok_if "quota set -a bob --storage 3M" $A quota set -a bob --storage 3M
r=$(fill bob '{"op":"kvset","key":"big3","bytes":900000}')
expect_eq "  takes effect without a restart" "$(okv "$r")" "True"
ok_if "agent switch default" $A agent switch default
ok_if "quota set -a bob --storage 1M" $A quota set -a bob --storage 1M
ok_if "restart the daemon" bash -c "$A stop >/dev/null 2>&1; sleep 0.3; cd '$TEST_TMP/ws' && $A start >/dev/null"
r=$(fill bob '{"op":"kvset","key":"c","bytes":10}')
expect_eq "after a restart bob's usage is measured again (over 1M: refused)" "$(okv "$r")" "False"
ok_if "  naming the quota" grep -q "$Q" <<<"$(err "$r")"
r=$(fill bob '{"op":"kvget","key":"big3"}')
expect_eq "  and his data is there" "$(j 'd["len"]' <<<"$r")" "900000"

# --- files: carol, 1M; the workspace is charged to the writer
r=$(fill carol '{"op":"file","path":"cwd://fill/w1","bytes":500000}')
expect_eq "carol: 500 kB into the workspace" "$(okv "$r")" "True"
ok_if "  landed in carol's overlay of the workspace" bash -c "test -s '$ASTRID_HOME'/home/carol/.local/overlay/*/upper/fill/w1"
r=$(fill carol '{"op":"file","path":"/tmp/t1","bytes":300000}')
expect_eq "carol: 300 kB into /tmp" "$(okv "$r")" "True"
r=$(fill carol '{"op":"file","path":"home://fill/h1","bytes":300000}')
expect_eq "carol: 300 kB more into home:// fails (workspace and /tmp are charged)" "$(okv "$r")" "False"
ok_if "  naming the quota" grep -q "storage quota exceeded for principal carol: 1000000 bytes (max_storage_bytes)" <<<"$(err "$r")"
r=$(fill carol '{"op":"file","path":"cwd://fill/w1","bytes":650000}')
expect_eq "carol: rewriting a file is charged its growth only (500 -> 650 kB)" "$(okv "$r")" "True"
r=$(fill carol '{"op":"file","path":"cwd://fill/w1","bytes":800000}')
expect_eq "carol: growing it past the quota fails" "$(okv "$r")" "False"
expect_eq "  and the file keeps its content" "$(stat -c %s "$ASTRID_HOME"/home/carol/.local/overlay/*/upper/fill/w1)" "650000"
r=$(fill carol '{"op":"unlink","path":"/tmp/t1"}')
expect_eq "carol: unlink /tmp/t1" "$(okv "$r")" "True"
r=$(fill carol '{"op":"file","path":"home://fill/h1","bytes":250000}')
expect_eq "  the unlink freed its quota" "$(okv "$r")" "True"

# --- logs: dave, 1M; lines past the quota are dropped, never a trap
r=$(fill dave '{"op":"log","bytes":20000,"lines":100}')
expect_eq "dave: logging 2 MB completes (the invocation answers)" "$(okv "$r")" "True"
n=$(du_b "$ASTRID_HOME/home/dave/.local/log")
ok_if "  his logs stopped growing at the quota ($n bytes <= 1000000)" test "$n" -le 1000000
ok_if "  but did grow close to it" test "$n" -gt 900000
ok_if "  the daemon warned once, naming the quota" bash -c "[[ \$(cat '$ASTRID_HOME'/log/astrid.*.log | grep -c 'storage quota exceeded for principal dave') == 1 ]]"
r=$(fill dave '{"op":"kvset","key":"k","bytes":100000}')
expect_eq "  and his KV is refused as well" "$(okv "$r")" "False"
r=$(fill erin '{"op":"log","bytes":100,"lines":3}')
ok_if "erin still logs" bash -c "[[ \$(cat '$ASTRID_HOME'/home/erin/.local/log/filler/*.log | wc -l) == 3 ]]"
line=$(head -n1 "$ASTRID_HOME"/home/erin/.local/log/filler/*.log)
ok_if "a log line starts with an RFC 3339 UTC timestamp with ms" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z INFO \[filler\] l+$' <<<"$line"
ts=${line%% *}
ok_if "  that parses and is recent" python3 -c "
import datetime,sys
t=datetime.datetime.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
sys.exit(abs((datetime.datetime.now(datetime.timezone.utc)-t).total_seconds()) > 3600)" "$ts"
ok_if "astrid logs filler -a erin prints them" bash -c "[[ \$($A logs filler -a erin | grep -c 'INFO \[filler\]') == 3 ]]"
r=$(fill erin '{"op":"badlog"}')
expect_eq "a log line that is not UTF-8 completes (the SDK sends '?', no trap)" "$(okv "$r")" "True"
ok_if "  each bad byte logged as '?', whole characters kept" bash -c "grep -q 'WARN \[filler\] caf? ? ok é\$' '$ASTRID_HOME'/home/erin/.local/log/filler/*.log"

# --- rotation: logger, 45M; 60 MiB of logs fit because rotation frees quota
for i in 1 2 3 4; do
  r=$(fill logger '{"op":"log","bytes":65536,"lines":240}')
  expect_eq "logger: 15 MiB of log lines (round $i)" "$(okv "$r")" "True"
done
D="$ASTRID_HOME/home/logger/.local/log/filler"
day=$(basename "$(ls "$D"/*.log | head -n1)")
ok_if "logs rotated: $day.1 .. .3 exist" test -f "$D/$day.1" -a -f "$D/$day.2" -a -f "$D/$day.3"
ok_if "  no fourth rotated file is kept" test ! -e "$D/$day.4"
ok_if "  no file exceeds 10 MiB" bash -c "! find '$D' -type f -size +10485760c | grep -q ."
n=$(du_b "$D")
ok_if "  in all at most 4 x 10 MiB ($n bytes)" test "$n" -le $((4 * 10485760))
ok_if "  nothing was dropped for the 45M quota (rotation credited it)" bash -c "! grep -q 'quota exceeded for principal logger' '$ASTRID_HOME'/log/astrid.*.log"
ok_if "  the last round's lines are in the current file" test "$(stat -c %s "$D/$day")" -gt 0
expect_eq "astrid logs shows the current file, not a rotated one" "$($A logs filler -a logger -n 1 | md5sum)" "$(tail -n1 "$D/$day" | md5sum)"

# --- size limits: errors, never traps (the invocation completes and answers)
for fn in set get delete list clear; do
  r=$(fill bob "{\"op\":\"bigkey\",\"fn\":\"$fn\",\"bytes\":5000}")
  expect_eq "kv-$fn with a 5000-byte key answers an error (no trap)" "$(okv "$r")" "False"
  ok_if "  naming the limit" grep -q "over the 1024-byte limit" <<<"$(err "$r")"
done
r=$(fill bob '{"op":"bigkey","fn":"set","bytes":600}')
expect_eq "kv-set with a 600-byte key (over the store's key limit) is an error" "$(okv "$r")" "False"
ok_if "  naming the limit" grep -q "max 510" <<<"$(err "$r")"
ok_if "agent switch default" $A agent switch default
ok_if "quota set -a erin --storage 50M" $A quota set -a erin --storage 50M
r=$(fill erin '{"op":"kvset","key":"huge","bytes":10485761}')
expect_eq "kv-set of a value over 10 MiB is an error" "$(okv "$r")" "False"
ok_if "  naming the limit" grep -q "over the 10485760-byte limit" <<<"$(err "$r")"
ok_if "agent switch default" $A agent switch default
expect_eq "the daemon still serves (status)" "$($A status --format json | j 'd["loaded_capsules"]')" "1"
echo "1..$_tap_n"
