# Sandbox escapes, table-driven in the style of bubblewrap's try-syscall
# tests: tests/sandbox/try.c, run inside astrid_sandbox_spawn by
# build/tests/sandbox_driver, tries ONE forbidden thing and prints the exact
# errno. Every row must fail with the errno given; the legitimate rows
# (allowed paths, AF_UNIX, network when asked) must work. Then: the child
# dies with its parent, the REQUIRED policy refuses where user namespaces
# are unavailable (for real: a user namespace with max_user_namespaces=0, a
# non-root uid) and policy off runs there, and the daemon refuses a bad
# ASTRID_SANDBOX_POLICY.
source "$ASTRID_SRC/tests/lib.sh"
source "$ASTRID_SRC/tests/integration/kernel_lib.sh"
DRV=$ASTRID_BUILD/tests/sandbox_driver
TRY=$ASTRID_BUILD/tests/sandbox-try
NOUSERNS=$ASTRID_BUILD/tests/sandbox-nouserns

if ! "$DRV" --probe >"$TEST_TMP/probe" 2>&1; then
  skip "sandbox escapes" "sandbox unusable here: $(cat "$TEST_TMP/probe")"
  echo "1..$_tap_n"; exit 0
fi

# A fake operator home with secrets, an ASTRID_HOME with the runtime key,
# profiles and two principals; the capsule lives under ASTRID_HOME like an
# installed one; alice's allowed path is inside her home.
R=$(mktemp_dir)
FH=$R/operator; AH=$R/astrid
CAP=$AH/capsules/try; WORK=$AH/home/alice/work
mkdir -p "$FH/.ssh" "$AH/keys" "$AH/etc/profiles" "$AH/home/bob" "$CAP" "$WORK"
echo "PRIVATE KEY" >"$FH/.ssh/id_rsa"
echo "# operator's bashrc" >"$FH/.bashrc"
head -c 32 /dev/urandom >"$AH/keys/runtime.key"
echo 'groups = ["admin"]' >"$AH/etc/profiles/default.toml"
echo "bob's notes" >"$AH/home/bob/notes.txt"
echo "capsule data" >"$CAP/data.txt"
cp "$TRY" "$CAP/try"
bashrc_sum=$(sha256sum <"$FH/.bashrc")

# sb [driver options...] -- try-args: one run, its stdout
sb() {
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done; shift
  HOME=$FH "$DRV" --capsule-dir "$CAP" --astrid-home "$AH" --rw "$WORK" "${opts[@]}" \
    -- "$CAP/try" "$@" 2>>"$TEST_TMP/driver.log"
}

# what | argument | expected line
while IFS='|' read -r what arg want; do
  [[ -z $what || $what == \#* ]] && continue
  got=$(sb -- "$what" "$arg")
  expect_eq "sandboxed: $what ${arg:+$arg }-> ${want#*: }" "$got" "$want"
done <<EOF_TABLE
read|$FH/.ssh/id_rsa|read: ENOENT
write|$FH/.bashrc|write: EROFS
read|$AH/keys/runtime.key|read: ENOENT
ls|$AH/etc/profiles|ls: ENOENT
read|$AH/etc/profiles/default.toml|read: ENOENT
read|$AH/home/bob/notes.txt|read: ENOENT
write|$FH/.ssh/authorized_keys|write: ENOENT
write|$AH/keys/new.key|write: ENOENT
write|$AH/new-file|write: EROFS
write|$CAP/data.txt|write: EROFS
read|/etc/shadow|read: ENOENT
ls|/root|ls: ENOENT
ptrace||ptrace: EPERM
mount||mount: EPERM
unshare-user||unshare-user: EPERM
unshare-net||unshare-net: EPERM
clone-newns||clone-newns: EPERM
tiocsti||tiocsti: EPERM
socket-inet||socket-inet: EPERM
keyctl||keyctl: EPERM
bpf||bpf: EPERM
userfaultfd||userfaultfd: EPERM
perf||perf: EPERM
io_uring||io_uring: EPERM
fds||fds: only 0-2
# legitimate work
read|$CAP/data.txt|read: ok
write|$WORK/out.txt|write: ok
write|/tmp/scratch|write: ok
socket-unix||socket-unix: ok
ls|/usr/bin|ls: ok
EOF_TABLE

expect_eq "host ~/.bashrc unchanged" "$(sha256sum <"$FH/.bashrc")" "$bashrc_sum"
expect_eq "host bob's notes unchanged" "$(cat "$AH/home/bob/notes.txt")" "bob's notes"
expect_eq "allowed write reached the host" "$(cat "$WORK/out.txt")" "pwned"
expect_eq "private /tmp: nothing reached the host's /tmp" "$(ls /tmp/scratch 2>/dev/null)" ""
expect_eq "network kept when asked (--net): socket works" "$(sb --net -- socket-inet)" \
  "socket-inet: ok"
expect_eq "cwd defaults to the capsule dir" "$(sb -- pwd)" "pwd: $CAP"
expect_eq "env blocklist: LD_PRELOAD from config dropped" \
  "$(sb --env LD_PRELOAD=/tmp/evil.so -- env LD_PRELOAD)" "env LD_PRELOAD=(unset)"
expect_eq "env blocklist: npm_config_ prefix dropped (any case)" \
  "$(sb --env NPM_CONFIG_PREFIX=/x -- env NPM_CONFIG_PREFIX)" "env NPM_CONFIG_PREFIX=(unset)"
expect_eq "env: PATH is the fixed sandbox PATH" "$(sb --env PATH=/evil -- env PATH)" \
  "env PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
expect_eq "env: a plain variable passes" "$(sb --env FOO=bar -- env FOO)" "env FOO=bar"

# Hostile specs are refused before anything runs.
bad() { HOME=$FH "$DRV" --astrid-home "$AH" "$@" -- /bin/true 2>&1; }
ok_if "refused: binding \$ASTRID_HOME itself" grep -q 'would expose \$ASTRID_HOME' <<<"$(bad --rw "$AH")"
ok_if "refused: binding an ancestor of \$HOME" grep -q 'would expose \$HOME' <<<"$(bad --ro "$R")"
ok_if "refused: binding /" grep -q 'would expose' <<<"$(bad --ro /)"
ln -s "$FH" "$WORK/link-to-home"
ok_if "refused: a symlink to \$HOME" grep -q 'would expose \$HOME' <<<"$(bad --ro "$WORK/link-to-home")"
# A symlink planted inside a writable path by an earlier sandboxed run must
# not make the next spawn bind what it points at.
ln -s "$FH/.ssh" "$WORK/planted"
out=$(HOME=$FH "$DRV" --capsule-dir "$CAP" --astrid-home "$AH" --rw "$WORK" --ro "$WORK/planted" \
  -- "$CAP/try" read "$FH/.ssh/id_rsa" 2>&1)
ok_if "refused: a symlink planted in a writable path (no read of ~/.ssh)" bash -c \
  'grep -q "is a symlink inside the writable path" <<<"$1" && ! grep -q "read: ok" <<<"$1"' _ "$out"
ok_if "refused: a relative path" grep -q 'must be an absolute path' <<<"$(bad --rw work)"
ok_if "refused: a program outside the sandbox" grep -q 'outside the sandbox' \
  <<<"$(HOME=$FH "$DRV" --astrid-home "$AH" -- "$CAP/try" pwd 2>&1)"
ok_if "refused: cwd outside the binds" grep -q 'not under the capsule dir' \
  <<<"$(HOME=$FH "$DRV" --capsule-dir "$CAP" --cwd "$R" --astrid-home "$AH" -- /bin/true 2>&1)"
ok_if "a missing program is an error of the spawn" grep -q 'not found on PATH' \
  <<<"$(HOME=$FH "$DRV" -- no-such-program-xyz 2>&1)"

# The child must not outlive its parent (the daemon): kill -9 the driver.
HOME=$FH "$DRV" --capsule-dir "$CAP" --astrid-home "$AH" -- "$CAP/try" sleep 300 \
  >/dev/null 2>&1 &
drv=$!
# Anchored on the program's own argv, so bwrap (whose argv ends with it)
# does not count: once the program runs, bwrap has armed every PDEATHSIG.
alive() { pgrep -f "^$CAP/try sleep 300" | wc -l; }
for _ in $(seq 100); do [[ $(alive) -ge 1 ]] && break; sleep 0.05; done
ok_if "sandboxed child is running" test "$(alive)" -ge 1
kill -KILL "$drv"; wait "$drv" 2>/dev/null
for _ in $(seq 200); do [[ $(alive) -eq 0 ]] && break; sleep 0.05; done
expect_eq "sandboxed child died with its parent" "$(alive)" 0

# REQUIRED for real: a non-root user in a user namespace whose
# user.max_user_namespaces is 0 cannot get the sandbox namespaces.
if [[ $(id -u) -ne 0 ]]; then
  skip "required policy refuses without user namespaces" "needs root to build the namespace"
  skip "policy off runs there" "needs root"
  skip "the refusal names the remediations" "needs root"
else
  out=$("$NOUSERNS" 65534 -- env -u ASTRID_SANDBOX_POLICY "$DRV" -- /bin/echo hello 2>&1); rc=$?
  expect_eq "required policy refuses without user namespaces (exit 3)" "$rc" 3
  ok_if "the refusal names the sysctl, astrid setup and the escape hatch" bash -c '
    grep -q "policy is \`required\` - refusing to launch" <<<"$1" &&
    grep -q "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" <<<"$1" &&
    grep -q "astrid setup" <<<"$1" && grep -q "ASTRID_SANDBOX_POLICY=off" <<<"$1"' _ "$out"
  out=$("$NOUSERNS" 65534 -- env ASTRID_SANDBOX_POLICY=off "$DRV" -- /bin/echo hello 2>&1)
  ok_if "ASTRID_SANDBOX_POLICY=off runs there, unsandboxed" bash -c \
    'grep -qx hello <<<"$1" && grep -q "sandboxed=false" <<<"$1"' _ "$out"
fi

# The daemon: a bad policy refuses boot (and creates nothing); off boots
# with an audit entry saying so.
H=$(mktemp_dir)/home
out=$(ASTRID_HOME=$H ASTRID_SANDBOX_POLICY=disabled "$BIN/astrid-daemon" 2>&1); rc=$?
expect_eq "bad ASTRID_SANDBOX_POLICY: daemon exits 1" "$rc" 1
ok_if "bad policy: error names the accepted values" grep -q \
  'ASTRID_SANDBOX_POLICY="disabled": unknown policy (accepted: "required" (the default) or "off")' \
  <<<"$out"
ok_if "bad policy: nothing created" test ! -e "$H"
ASTRID_SANDBOX_POLICY=off start_daemon "$H"
ok_if "policy off: daemon boots" test -e "$H/run/system.ready"
ok_if "policy off: audit entry says native subprocesses run unsandboxed" grep -q \
  '"violation_type":"sandbox_disabled","details":"ASTRID_SANDBOX_POLICY=off: native subprocesses run unsandboxed"' \
  "$H/home/default/.local/audit/audit.jsonl"
verify() { ASTRID_HOME=$1 "$BIN/astrid" audit verify >/dev/null; }
ok_if "policy off: audit log verifies" verify "$H"
ok_if "policy off: log says so" grep -q 'policy off' "$H/log/"astrid.*.log
stop_daemon "$DAEMON_PID"
H2=$(mktemp_dir)/home
start_daemon "$H2"
ok_if "default policy: log names it and the probe" grep -q 'sandbox: policy required; bwrap .* usable' \
  "$H2/log/"astrid.*.log
ok_if "default policy: no sandbox_disabled entry" bash -c \
  "! grep -qs sandbox_disabled '$H2/home/default/.local/audit/audit.jsonl'"
stop_daemon "$DAEMON_PID"
ok_if "daemons sanitizer-clean" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$H.daemon.out' '$H2.daemon.out'"
echo "1..$_tap_n"
