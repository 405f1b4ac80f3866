#!/usr/bin/env bash
# The bus inside the daemon, driven as an operator would (astrid bus
# watch/publish/request) plus wire-level probes: fan-out to subscribers,
# request/reply, the kernel stamping the principal, the per-(source,
# principal) token bucket sized by the profile's max_ipc_throughput_bytes,
# and a subscriber that never reads not stalling anyone.
set -u
source "$ASTRID_SRC/tests/lib.sh"
source "$ASTRID_SRC/tests/integration/kernel_lib.sh"
A=$BIN/astrid
PROBE="python3 $ASTRID_SRC/tests/tools/bus_probe.py"
export NO_COLOR=1
H=$TEST_TMP/home
mkdir -p "$H/etc/profiles"
chmod 700 "$H" "$H/etc" "$H/etc/profiles"
# bob: an admin whose bus budget is 4 KiB/s; default: a large budget for the flood.
printf 'groups = ["admin"]\n[quotas]\nmax_ipc_throughput_bytes = 4096\n' >"$H/etc/profiles/bob.toml"
printf 'groups = ["admin"]\n[quotas]\nmax_ipc_throughput_bytes = 1000000000\n' >"$H/etc/profiles/default.toml"
chmod 600 "$H"/etc/profiles/*.toml
export ASTRID_HOME=$H
start_daemon "$H" || { not_ok "daemon boots"; echo "1..$_tap_n"; exit 0; }
ok "daemon boots"

# watch -> publish fan-out
$A bus watch 'demo.v1.*' >"$TEST_TMP/watch.out" 2>&1 &
wpid=$!
for _ in $(seq 100); do $A status --format json 2>/dev/null | grep -q '"connected_clients": *[1-9]' && break; sleep 0.05; done
sleep 0.3
ok_if "bus publish" $A bus publish demo.v1.hello '{"x":1}'
PRINCIPAL=bob $PROBE "$H" forge demo.v1.forged
for _ in $(seq 100); do [[ $(wc -l <"$TEST_TMP/watch.out") -ge 2 ]] && break; sleep 0.05; done
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
line=$(grep '"demo.v1.hello"' "$TEST_TMP/watch.out" | head -1)
ok_if "watch saw the published message" test -n "$line"
expect_eq "its payload" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["payload"]["x"])' "$line" 2>&1)" "1"
expect_eq "stamped with the publisher's principal" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["principal"])' "$line" 2>&1)" "default"
ok_if "the kernel stamped a seq" python3 -c 'import json,sys; assert json.loads(sys.argv[1])["seq"] > 0' "$line"
forged=$(grep '"demo.v1.forged"' "$TEST_TMP/watch.out" | head -1)
expect_eq "a claimed principal is replaced by the authenticated one" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["principal"])' "$forged" 2>&1)" "bob"
ok_if "and the claimed source_id is not kept" bash -c "! grep -q 11111111-1111 <<<'$forged'"
ok_if "watch ignored other topics" bash -c "! grep -q astrid.v1.response '$TEST_TMP/watch.out'"

# request/reply through a responder
$PROBE "$H" responder demo.v1.ping >"$TEST_TMP/resp.out" 2>&1 &
rpid=$!
for _ in $(seq 100); do grep -q ready "$TEST_TMP/resp.out" && break; sleep 0.05; done
reply=$($A bus request demo.v1.ping '{"q":1}' --timeout 5 2>&1); rc=$?
expect_eq "bus request gets the reply" "$rc" "0"
ok_if "the reply is the responder's" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); p=d.get("payload",d); assert p["pong"] is True and p["asked_by"]=="default"' "$reply"
wait "$rpid" 2>/dev/null
$A bus request demo.v1.nobody '{}' --timeout 0.5 >/dev/null 2>&1
expect_eq "bus request with no responder times out with exit 1" "$?" "1"

# token bucket: bob's 4 KiB/s budget refuses most of 20 x 1 KiB
r=$(PRINCIPAL=bob $PROBE "$H" flood demo.v1.flood 20 1024)
ok_if "publishes over the principal's budget are refused" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d.get("Rate limit exceeded",0) >= 10, d' "$r"
r=$($PROBE "$H" flood demo.v1.flood 20 1024)
expect_eq "another principal's budget is its own" "$r" "{}"
r=$(PRINCIPAL=bob $PROBE "$H" flood 'demo.v1.*' 1 10)
ok_if "a wildcard topic is refused on publish" grep -q 'demo.v1' <<<"$r"

# a subscriber that never reads: publishers and other clients carry on
$PROBE "$H" slow 'demo.v1.*' 20 >"$TEST_TMP/slow.out" 2>&1 &
spid=$!
for _ in $(seq 100); do grep -q ready "$TEST_TMP/slow.out" && break; sleep 0.05; done
r=$($PROBE "$H" flood demo.v1.big 3000 4096)
expect_eq "12 MiB published past a stalled subscriber, none refused" "$r" "{}"
ok_if "status still answers" $A status
ok_if "the stalled connection's overflow is counted in the log" bash -c "grep -q 'is not reading' '$H'/log/astrid.*.log"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
ok_if "status after the stalled client left" $A status
stop_daemon "$DAEMON_PID"; ok_if "daemon stops cleanly" sanitizer_clean "$H"
echo "1..$_tap_n"
