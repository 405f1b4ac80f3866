# Hostile clients: oversized and truncated frames, bad tokens and versions,
# bad UTF-8, deep JSON, a connection storm. The daemon stays up and no policy
# file changes.
source "$ASTRID_SRC/tests/lib.sh"
source "$ASTRID_SRC/tests/integration/kernel_lib.sh"
H=$(mktemp_dir)/home
ok_if "daemon boots" start_daemon "$H"
python3 "$ASTRID_SRC/tests/tools/hostile_client.py" "$H" > "$TEST_TMP/hostile.out" 2>&1
rc=$?
sed "s/^\(not \)\{0,1\}ok [0-9]* /&hostile: /" "$TEST_TMP/hostile.out"
expect_eq "hostile client ran to the end" "$rc" 0
stop_daemon "$DAEMON_PID"
ok_if "daemon sanitizer-clean after the storm" sanitizer_clean "$H"
