#!/usr/bin/env bash
# Per-principal overlay of the workspace (issue #17 point 5). Agents bob
# and alice call the operator's tests/capsules/fsprobe (fs_read/fs_write
# cwd://) as themselves and work on the same workspace W. Their cwd:// writes and deletes land in
# their own overlay under home/{p}/.local/overlay, never in W and never in
# each other's view; `astrid workspace diff|commit|discard -a AGENT` lists,
# applies or drops them. The VFS guard still holds through the overlay:
# `..`, links out of the workspace, the overlay's own files.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
W=$TEST_TMP/ws
H=$ASTRID_HOME
mkdir -p "$W/docs" "$TEST_TMP/outside"
printf 'original\n' >"$W/docs/readme.txt"
printf 'doomed\n' >"$W/docs/old.txt"
printf 'secret outside\n' >"$TEST_TMP/outside/s.txt"
ln -s "$TEST_TMP/outside" "$W/lk-out"

# fp AGENT OP PATH [DATA]: one operation through AGENT's fsprobe.
fp() {
  local p
  $A agent switch "$1" >/dev/null 2>&1
  p=$(python3 -c 'import json,sys; print(json.dumps({"op":sys.argv[1],"path":sys.argv[2],"data":sys.argv[3]}))' "$2" "$3" "${4:-}")
  $A bus request demo.v1.fsprobe "$p" --timeout 20 2>&1
  $A agent switch default >/dev/null 2>&1
}
okf() { j 'd["ok"]' 2>/dev/null; }
resf() { j 'd["result"]' 2>/dev/null; }
errf() { j 'd["error"]' 2>/dev/null; }

build_capsule "$ASTRID_SRC/tests/capsules/fsprobe"
cd "$W" || exit 1
ok_if "astrid start in the workspace" $A start
ok_if "the operator installs fsprobe (shared)" $A capsule install "$O/fsprobe.capsule"
for a in bob alice; do
  ok_if "agent create $a" $A agent create "$a"
  ok_if "  $a may call capsules" $A caps grant "$a" system:bus
done

# --- bob writes, modifies, deletes: the workspace does not change
r=$(fp bob write cwd://docs/new.txt "bob was here")
expect_eq "bob writes cwd://docs/new.txt" "$(okf <<<"$r")" "True"
ok_if "  not in the workspace" test ! -e "$W/docs/new.txt"
BOV=$(echo "$H"/home/bob/.local/overlay/*/upper)
ok_if "  in bob's overlay for this workspace (.local/overlay/{16 hex}/upper)" bash -c "[[ '$BOV' =~ /overlay/[0-9a-f]{16}/upper\$ ]]"
ok_if "  holding the content" grep -qx "bob was here" "$BOV/docs/new.txt"
KEY=$(basename "$(dirname "$BOV")")
r=$(fp bob read cwd://docs/new.txt)
expect_eq "  bob reads it back" "$(resf <<<"$r")" "bob was here"
r=$(fp bob write cwd://docs/readme.txt "bob's readme")
expect_eq "bob modifies docs/readme.txt" "$(okf <<<"$r")" "True"
expect_eq "  the workspace copy is unchanged" "$(cat "$W/docs/readme.txt")" "original"
r=$(fp bob read cwd://docs/readme.txt)
expect_eq "  bob sees his version" "$(resf <<<"$r")" "bob's readme"
r=$(fp bob unlink cwd://docs/old.txt)
expect_eq "bob deletes docs/old.txt" "$(okf <<<"$r")" "True"
ok_if "  still in the workspace" test -f "$W/docs/old.txt"
r=$(fp bob exists cwd://docs/old.txt)
expect_eq "  gone in bob's view (whiteout)" "$(resf <<<"$r")" "false"
r=$(fp bob readdir cwd://docs)
expect_eq "  bob's readdir merges both layers" "$(tr / '\n' <<<"$(resf <<<"$r")" | sort | tr '\n' ' ')" "new.txt readme.txt "
r=$(fp bob mkdir cwd://docs/sub)
expect_eq "bob mkdir docs/sub" "$(okf <<<"$r")" "True"
ok_if "  not in the workspace" test ! -e "$W/docs/sub"

# --- alice sees the workspace, not bob's overlay
r=$(fp alice read cwd://docs/readme.txt)
expect_eq "alice reads the workspace's readme" "$(resf <<<"$r")" "original"
r=$(fp alice exists cwd://docs/new.txt)
expect_eq "alice does not see bob's new file" "$(resf <<<"$r")" "false"
r=$(fp alice exists cwd://docs/old.txt)
expect_eq "alice still sees the file bob deleted" "$(resf <<<"$r")" "true"
r=$(fp alice write cwd://docs/readme.txt "alice's readme")
expect_eq "alice writes her own readme" "$(okf <<<"$r")" "True"
r=$(fp bob read cwd://docs/readme.txt)
expect_eq "  bob still sees his" "$(resf <<<"$r")" "bob's readme"
r=$(fp alice read cwd://docs/readme.txt)
expect_eq "  alice sees hers" "$(resf <<<"$r")" "alice's readme"

# --- the guard through the overlay
r=$(fp bob read cwd://../outside/s.txt)
expect_eq "bob: read cwd://../outside refused" "$(okf <<<"$r")" "False"
r=$(fp bob write cwd://lk-out/s.txt "overwrite")
expect_eq "bob: write through a link out of the workspace refused" "$(okf <<<"$r")" "False"
ok_if "  naming the escape" grep -q "escapes root boundary" <<<"$(errf <<<"$r")"
expect_eq "  the outside file is unchanged" "$(cat "$TEST_TMP/outside/s.txt")" "secret outside"
ok_if "  and no copy of it in bob's overlay" test ! -e "$BOV/lk-out"
r=$(fp bob read home://.local/overlay/$KEY/upper/docs/new.txt)
expect_eq "bob: home://.local/overlay (the overlay's own files) refused" "$(okf <<<"$r")" "False"
ok_if "  as kernel-owned" grep -q "kernel-owned" <<<"$(errf <<<"$r")"
r=$(fp alice read home://../bob/.local/overlay/$KEY/upper/docs/new.txt)
expect_eq "alice: bob's overlay through home://.. refused" "$(okf <<<"$r")" "False"

# --- the operator: diff, discard, commit
out=$($A workspace diff -a bob 2>&1)
ok_if "workspace diff -a bob lists the added file" grep -qE "^added +docs/new.txt$" <<<"$out"
ok_if "  the modified one" grep -qE "^modified +docs/readme.txt$" <<<"$out"
ok_if "  the deleted one" grep -qE "^deleted +docs/old.txt$" <<<"$out"
ok_if "  the new directory" grep -qE "^added +docs/sub/$" <<<"$out"
js=$($A workspace diff -a bob --format json 2>&1)
expect_eq "  --format json: 4 changes" "$(j 'len(d["changes"])' <<<"$js")" "4"
out=$($A workspace diff -a nobody 2>&1); rc=$?
expect_eq "workspace diff of an unknown agent fails" "$rc" "1"
$A agent switch bob >/dev/null 2>&1
out=$($A workspace commit -a bob 2>&1); rc=$?
$A agent switch default >/dev/null 2>&1
expect_eq "bob cannot commit his own overlay (needs workspace:commit)" "$rc" "1"
ok_if "  nothing landed" test ! -e "$W/docs/new.txt"
ok_if "workspace discard -a alice" $A workspace discard -a alice
r=$(fp alice read cwd://docs/readme.txt)
expect_eq "  alice sees the workspace again" "$(resf <<<"$r")" "original"
ok_if "  her overlay is gone from disk" test ! -e "$H/home/alice/.local/overlay/$KEY"
ok_if "workspace commit -a bob" $A workspace commit -a bob
expect_eq "  the new file is in the workspace" "$(cat "$W/docs/new.txt")" "bob was here"
expect_eq "  the modified file too" "$(cat "$W/docs/readme.txt")" "bob's readme"
ok_if "  the deleted file is gone" test ! -e "$W/docs/old.txt"
ok_if "  the new directory exists" test -d "$W/docs/sub"
out=$($A workspace diff -a bob 2>&1)
ok_if "  nothing pending afterwards" grep -q "No pending workspace changes" <<<"$out"
ok_if "  no temp file left in the workspace" bash -c "! ls -a '$W/docs' | grep -q astrid-commit"
ok_if "  the commit is in the audit log" grep -q "workspace.commit" "$H/home/default/.local/audit/audit.jsonl"
r=$(fp alice read cwd://docs/readme.txt)
expect_eq "alice now reads the committed readme" "$(resf <<<"$r")" "bob's readme"

# --- a commit never follows a link planted after the write
r=$(fp bob write cwd://later/x.txt "planted?")
mkdir -p "$TEST_TMP/target"
ln -s "$TEST_TMP/target" "$W/later"
out=$($A workspace commit -a bob 2>&1); rc=$?
expect_eq "commit through a link planted in the workspace fails" "$rc" "1"
ok_if "  nothing written through it" test ! -e "$TEST_TMP/target/x.txt"
ok_if "  the change stays pending" grep -qE "later/x.txt" <<<"$($A workspace diff -a bob 2>&1)"
ok_if "astrid stop" $A stop
echo "1..$_tap_n"
