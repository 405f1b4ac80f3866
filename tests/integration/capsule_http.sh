#!/usr/bin/env bash
# Capsule HTTP as an operator meets it: the http-fetch example and the probe
# capsule against a local test server. Every gate refuses before a
# connection: a host off the manifest's net list, a scheme other than
# http(s), a private address (the SSRF filter, unless the operator sets
# ASTRID_ALLOW_LOCAL_IPS), an agent without egress to the host; and the
# limits hold: 10 MiB bodies, no redirects followed, streams closed.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
SRV_PID=
CLEANUP_EXTRA='[[ -n $SRV_PID ]] && kill $SRV_PID 2>/dev/null'
req() { $A bus request "$1" "$2" --timeout 60 2>&1; }
fetch() { req demo.v1.fetch "{\"url\":\"$1\"}"; }

build_capsule "$ASTRID_SRC/capsules/examples/http-fetch"
build_capsule "$ASTRID_SRC/tests/capsules/probe"

# the local test server: a 1234-byte file, an 11 MiB file, a directory
W=$TEST_TMP/www && mkdir -p "$W/dir"
head -c 1234 /dev/urandom >"$W/small.bin"
head -c $((11 << 20)) /dev/zero >"$W/big.bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$W" >/dev/null 2>&1 &
SRV_PID=$!
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null && break; sleep 0.1; done
U=http://127.0.0.1:$PORT

ok_if "start (no local addresses allowed)" $A start
ok_if "capsule install http-fetch" $A capsule install "$O/http-fetch.capsule"
ok_if "capsule install probe" $A capsule install "$O/probe.capsule"
r=$(fetch "$U/small.bin")
ok_if "SSRF: a loopback address is refused" grep -q "unauthorized private or local IP address" <<<"$r"
r=$(fetch "http://localhost:$PORT/small.bin")
ok_if "a host off the manifest's net list is refused" grep -q "is not in capsule http-fetch's net allow-list" <<<"$r"
r=$(fetch "http://127.0.0.1.nip.invalid:$PORT/")
ok_if "  also one that merely starts like a listed host" grep -q "net allow-list" <<<"$r"
r=$(fetch "file:///etc/passwd")
ok_if "a file:// URL is refused" bash -c "grep -q 'http and https only\|invalid URL' <<<'$r'"
r=$(req demo.v1.probe "{\"try\":\"stream\",\"url\":\"$U/small.bin\"}")
ok_if "streams pass the same SSRF gate" grep -q "unauthorized private or local IP address" <<<"$r"
ok_if "stop" $A stop

ok_if "start with ASTRID_ALLOW_LOCAL_IPS=1" env ASTRID_ALLOW_LOCAL_IPS=1 $A start
r=$(fetch "$U/small.bin")
expect_eq "an allowed host: status 200" "$(j 'd["status"]' <<<"$r")" "200"
expect_eq "  and the whole body" "$(j 'd["bytes"]' <<<"$r")" "1234"
expect_eq "a missing file: status 404" "$(fetch "$U/nope" | j 'd["status"]')" "404"
expect_eq "a redirect is answered, not followed" "$(fetch "$U/dir" | j 'd["status"]')" "301"
r=$(fetch "$U/big.bin")
ok_if "a body over 10 MiB is refused" grep -q "over 10 MiB" <<<"$r"
r=$(fetch "http://localhost:$PORT/small.bin")
ok_if "the net list still applies with local addresses allowed" grep -q "net allow-list" <<<"$r"
r=$(req demo.v1.probe "{\"try\":\"stream\",\"url\":\"$U/small.bin\"}")
expect_eq "http-stream: read to the end" "$(j 'd["ok"]' <<<"$r")" "True"
ok_if "  status 200, 1234 bytes in chunks" grep -q "status=200 bytes=1234 chunks>0=1" <<<"$r"
r=$(req demo.v1.probe "{\"try\":\"stream\",\"url\":\"$U/big.bin\"}")
ok_if "  a stream may exceed 10 MiB (read in chunks)" grep -q "bytes=11534336" <<<"$r"

# egress belongs to the agent: bob (built-in group agent) has none
ok_if "agent create bob" $A agent create bob
ok_if "bob may use the bus tools" $A caps grant bob system:bus
ok_if "agent switch bob" $A agent switch bob
r=$(fetch "$U/small.bin")
ok_if "an agent without egress to the host is refused" grep -q "principal bob may not reach 127.0.0.1" <<<"$r"
ok_if "  naming the capability" grep -q "network:egress:127_0_0_1" <<<"$r"
ok_if "agent switch default" $A agent switch default
ok_if "caps grant bob network:egress:127_0_0_1" $A caps grant bob network:egress:127_0_0_1
ok_if "agent switch bob" $A agent switch bob
expect_eq "  then bob fetches it" "$(fetch "$U/small.bin" | j 'd["bytes"]')" "1234"
ok_if "agent switch default" $A agent switch default
ok_if "the daemon survived all of it" $A status
echo "1..$_tap_n"
