# Shared by the chat suites (sourced after capsule_lib.sh, not a suite):
# the local model server and provider capsules pointed at it.
#   mockllm_start [SCRIPT]      starts tools/mockllm/server.js on a free port,
#                               recording into $MOCK_REC; sets MOCK_PORT,
#                               MOCK_PID, MOCK_URL (stopped at exit)
#   provider_build DIR BASE_URL [KEY=DEFAULT...]
#                               builds capsules/DIR with base_url (and any
#                               other [env] default) replaced, into $O;
#                               prints the .capsule path
#   mock_records                the recorded request bodies (JSON lines)
MOCK_REC=$TEST_TMP/mockllm.jsonl
MOCK_PID=
mockllm_start() {
  local out=$TEST_TMP/mockllm.out args=(--port 0 --record "$MOCK_REC")
  [[ -n ${1:-} ]] && args+=(--script "$1")
  node "$ASTRID_SRC/tools/mockllm/server.js" "${args[@]}" >"$out" 2>&1 &
  MOCK_PID=$!
  CLEANUP_EXTRA="kill $MOCK_PID 2>/dev/null; $CLEANUP_EXTRA"
  for _ in $(seq 100); do grep -q '^listening ' "$out" && break; sleep 0.1; done
  MOCK_PORT=$(awk '/^listening /{print $2}' "$out")
  MOCK_URL=http://127.0.0.1:$MOCK_PORT
  [[ -n $MOCK_PORT ]]
}
provider_build() {
  local dir=$1 url=$2 src=$TEST_TMP/src.$$.$RANDOM kv
  shift 2
  mkdir -p "$src" "$O"
  cp -r "$ASTRID_SRC/capsules/$dir" "$ASTRID_SRC/capsules/common" "$src/"
  sed -i "s#^base_url = { type = \"string\", default = \"[^\"]*\"#base_url = { type = \"string\", default = \"$url\"#" \
    "$src/$dir/Capsule.toml"
  for kv in "$@"; do
    sed -i "s#^${kv%%=*} = { type = \"string\", default = \"[^\"]*\"#${kv%%=*} = { type = \"string\", default = \"${kv#*=}\"#" \
      "$src/$dir/Capsule.toml"
  done
  "$AB" "$src/$dir" -o "$O" 2>/dev/null | tail -n 1
}
mock_records() { cat "$MOCK_REC" 2>/dev/null; }
