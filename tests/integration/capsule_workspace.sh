#!/usr/bin/env bash
# Workspace capsules: `capsule install --workspace` puts a capsule under the
# workspace's .astrid/capsules; the daemon started in that workspace loads
# it (owned by default) next to the agents' capsules; gc run from the
# workspace keeps its blob, and one run from elsewhere cannot strand it
# (the wasm is also kept beside its manifest).
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
WS=$TEST_TMP/ws
mkdir -p "$WS"

build_capsule "$ASTRID_SRC/capsules/examples/echo"
cd "$WS" || exit 1
ok_if "start in the workspace" $A start
out=$($A capsule install --workspace "$O/echo.capsule" 2>&1); rc=$?
expect_eq "capsule install --workspace" "$rc" "0"
ok_if "  into ./.astrid/capsules/echo" test -f "$WS/.astrid/capsules/echo/meta.json"
ok_if "  with its wasm beside the manifest" test -f "$WS/.astrid/capsules/echo/echo.wasm"
ok_if "  not into the agent's capsules" test ! -e "$ASTRID_HOME/home/default/.local/capsules/echo"
ok_if "  the running daemon reloaded" grep -q "daemon reloaded: 1 capsule" <<<"$out"
expect_eq "capsule list --workspace" "$($A capsule list --workspace --format json | j '[c["name"] for c in d]')" "['echo']"
expect_eq "capsule list (the agent's) is empty" "$($A capsule list --format json | j 'len(d)')" "0"
expect_eq "the workspace capsule answers" "$($A bus request demo.v1.echo '{"ws":1}' --timeout 20 | j 'd["ws"]')" "1"
expect_eq "  owned by default (ps)" "$($A ps --format json | j '[c["owner"] for c in d if c["name"]=="echo"][0]')" "default"
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wasm_hash"])' "$WS/.astrid/capsules/echo/meta.json")
out=$($A gc --force)
ok_if "gc from the workspace keeps its blob" test -f "$ASTRID_HOME/bin/$hash.wasm"
(cd "$TEST_TMP" && $A gc --force >/dev/null)
ok_if "gc from elsewhere sweeps the blob" test ! -e "$ASTRID_HOME/bin/$hash.wasm"
r=$($A bus request astrid.v1.request.reload_capsules '{"method":"ReloadCapsules"}' --reply astrid.v1.response.reload_capsules --timeout 30 2>&1)
expect_eq "  yet the capsule still loads from its own copy" "$(j 'd["data"]["loaded"]' <<<"$r")" "1"
expect_eq "  and answers" "$($A bus request demo.v1.echo '{"ws":2}' --timeout 20 | j 'd["ws"]')" "2"
ok_if "capsule remove --workspace echo" $A capsule remove --workspace echo
ok_if "  gone" test ! -e "$WS/.astrid/capsules/echo"
expect_eq "  and unloaded" "$($A status --format json | j 'd["loaded_capsules"]')" "0"
echo "1..$_tap_n"
