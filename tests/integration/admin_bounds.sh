#!/usr/bin/env bash
# Security issue #12, points 5 and 6: nothing an admin write puts on disk
# can stop the next boot or hide an agent (writes are bounded like loads),
# a profile broken by hand is listed with its error, boot rewrites nothing
# unchanged and runs on a full disk (reads served, writes refused naming
# the disk, audit chain intact), stale temp files of interrupted writes are
# swept at boot, and an empty default.toml is re-seeded loudly.
set -u
source "$ASTRID_SRC/tests/lib.sh"
A=$BIN/astrid
export NO_COLOR=1
export ASTRID_HOME=$TEST_TMP/home
FULL=$TEST_TMP/full
trap '$A stop >/dev/null 2>&1; ASTRID_HOME=$FULL/home $A stop >/dev/null 2>&1; sleep 0.2;
      mountpoint -q "$FULL" && umount "$FULL"; rm -rf "$TEST_TMP"' EXIT
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# raw TOPIC METHOD PARAMS_FILE: one admin request straight on the wire (a
# 4 MiB argument would not pass through the CLI's argv); prints the reply.
raw() {
  python3 - "$ASTRID_HOME" "$@" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests", "tools"))
import astrid_wire as w
home, topic, method, pfile = sys.argv[1:5]
s = w.connect(home)
w.handshake(s, home)
m = w.request(s, "astrid.v1.admin." + topic, {"method": method, "params": json.load(open(pfile))},
              "astrid.v1.admin.response." + topic)
print(json.dumps(m["payload"] if m else None))
PY
}
mkparams() { python3 -c "import json,sys; json.dump($1, open(sys.argv[1], 'w'))" "$2"; }
status_of() { j 'd["status"]' <<<"$1"; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
P=$TEST_TMP/params.json

ok_if "start" $A start
ok_if "agent create bob" $A agent create bob
ok_if "agent create carol" $A agent create carol
before_bob=$(sha "$ASTRID_HOME/etc/profiles/bob.toml")

# --- 0. quota.set and budget.set take only the fields they know ---
for spec in 'quota.set QuotaSet quotas quota max_memory_bytes' \
            'budget.set BudgetSet budget "budget field" session_usd'; do
  eval "set -- $spec"
  mkparams "{'principal': 'bob', '$3': {'$5': 1, 'max_cpu': 3}}" "$P"
  r=$(raw "$1" "$2" "$P")
  expect_eq "$1 with an unknown field is refused" "$(status_of "$r")" "error"
  ok_if "  naming it: unknown $4 'max_cpu'" grep -q "unknown $4 'max_cpu'" <<<"$r"
  mkparams "{'principal': 'bob', '$3': [1]}" "$P"
  ok_if "$1 with $3 not an object: params.$3 must be an object" \
    grep -q "params.$3 must be an object" <<<"$(raw "$1" "$2" "$P")"
done
expect_eq "  and bob's profile is unchanged" "$(sha "$ASTRID_HOME/etc/profiles/bob.toml")" "$before_bob"
ok_if "  nor his budget" bash -c "! $A budget show -a bob 2>&1 | grep -q '1\.00'"

# --- 1. writes bounded like loads ---
mkparams '{"name": "huge", "capabilities": ["system:status"], "description": "x" * (4 << 20)}' "$P"
r=$(raw group.create GroupCreate "$P")
expect_eq "a 4 MiB group description is refused" "$(status_of "$r")" "error"
ok_if "  naming the 4096-byte limit" grep -q "over the 4096-byte limit" <<<"$r"
ok_if "  and nothing was written" bash -c "! grep -qs huge '$ASTRID_HOME/etc/groups.toml'"
mkparams '{"name": "edge", "capabilities": ["system:status"], "description": "d" * 4096}' "$P"
expect_eq "a description of exactly 4096 bytes is accepted" "$(status_of "$(raw group.create GroupCreate "$P")")" "success"

mkparams '{"principal": "bob", "capabilities": ["c%d:x" % i for i in range(100000)]}' "$P"
r=$(raw caps.grant CapsGrant "$P")
expect_eq "a 100 000-capability grant is refused" "$(status_of "$r")" "error"
ok_if "  naming the per-list limit" grep -q "over the limit of 1024 per list" <<<"$r"
expect_eq "  and bob's profile is byte-for-byte unchanged" "$(sha "$ASTRID_HOME/etc/profiles/bob.toml")" "$before_bob"
mkparams '{"principal": "bob", "capabilities": ["c%d:x" % i for i in range(1000)]}' "$P"
expect_eq "1000 grants are accepted" "$(status_of "$(raw caps.grant CapsGrant "$P")")" "success"
mid_bob=$(sha "$ASTRID_HOME/etc/profiles/bob.toml")
mkparams '{"principal": "bob", "capabilities": ["d%d:x" % i for i in range(100)]}' "$P"
r=$(raw caps.grant CapsGrant "$P")
expect_eq "100 more (1100 in the profile) are refused" "$(status_of "$r")" "error"
ok_if "  as a profile that would not load, naming the limit" grep -q "would not load: grants has 1100 entries, over the limit of 1024" <<<"$r"
expect_eq "  and bob's profile is unchanged" "$(sha "$ASTRID_HOME/etc/profiles/bob.toml")" "$mid_bob"
mkparams '{"name": "wide", "capabilities": ["c%d:x" % i for i in range(1025)]}' "$P"
expect_eq "a group of 1025 capabilities is refused" "$(status_of "$(raw group.create GroupCreate "$P")")" "error"
# 1024 capabilities of 250 bytes: a group is ~260 KiB, so the fifth would
# take groups.toml over the 1 MiB the loader reads.
made=0 r=
for g in 1 2 3 4 5; do
  mkparams "{'name': 'big$g', 'capabilities': ['g$g' + '%05d:' % i + 'y' * 242 for i in range(1024)]}" "$P"
  r=$(raw group.create GroupCreate "$P")
  [[ $(status_of "$r") == success ]] || break
  made=$g
done
expect_eq "groups that would take groups.toml over 1 MiB are refused (4 fit)" "$made" "4"
ok_if "  naming the 1048576-byte limit" grep -q "over the 1048576-byte limit" <<<"$r"
ok_if "  groups.toml stays under 1 MiB" test "$(stat -c %s "$ASTRID_HOME/etc/groups.toml")" -le 1048576
mkparams '{"name": "big1", "description": "z" * 5000}' "$P"
expect_eq "group modify to a 5000-byte description is refused" "$(status_of "$(raw group.modify GroupModify "$P")")" "error"
ok_if "the refused grant is audited as a failure, not only as allowed" bash -c "grep '\"method\":\"admin.caps.grant\"' '$ASTRID_HOME/home/default/.local/audit/audit.jsonl' | grep -q '\"status\":\"failure\"'"

# --- restart: everything written loads ---
pub=$ASTRID_HOME/keys/runtime.pub
pub_m=$(stat -c %y "$pub"); pub_i=$(stat -c %i "$pub")
old_token=$(cat "$ASTRID_HOME/run/system.token")
ok_if "stop" $A stop
sleep 0.3
ok_if "the stopped daemon's token file is retired, not left live" \
  test ! -e "$ASTRID_HOME/run/system.token" -a -e "$ASTRID_HOME/run/system.token.retired"
ok_if "the daemon restarts after all that" $A start
ok_if "  with a new token (the retired file was reused for it)" bash -c "[[ \$(cat '$ASTRID_HOME/run/system.token') != '$old_token' && ! -e '$ASTRID_HOME/run/system.token.retired' ]]"
hs=$(python3 - "$ASTRID_HOME" "$old_token" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests", "tools"))
import astrid_wire as w
s = w.connect(sys.argv[1])
print(json.dumps(w.handshake(s, sys.argv[1], token=sys.argv[2])))
PY
)
ok_if "  and the old token is refused" bash -c "! grep -q '\"status\": *\"ok\"' <<<'$hs'"
expect_eq "every agent is still listed" "$($A agent list --format json | j '[r["principal"] for r in d]')" "['bob', 'carol', 'default']"
expect_eq "bob kept his 1000 grants" "$($A agent show bob --format json | j 'len(d["grants"])')" "1000"
expect_eq "the groups came back" "$($A group list --format json | j 'sorted(g["name"] for g in d if not g["builtin"])')" "['big1', 'big2', 'big3', 'big4', 'edge']"
expect_eq "keys/runtime.pub was not rewritten (mtime)" "$(stat -c %y "$pub")" "$pub_m"
expect_eq "  nor replaced (inode)" "$(stat -c %i "$pub")" "$pub_i"

# --- 2. a profile broken by hand is listed with its error ---
ok_if "agent create mallory" $A agent create mallory
good=$($A agent list --format json)
good_pretty=$($A agent list)
ok_if "stop" $A stop
sleep 0.3
# by hand, daemon down (the profile cache, like upstream's, has no TTL)
printf 'profile_version = 1\ngroups = ["agent"\n' >"$ASTRID_HOME/etc/profiles/mallory.toml"
ok_if "start with mallory's profile broken" $A start
out=$($A agent list --format json); rc=$?
expect_eq "agent list still succeeds" "$rc" "0"
expect_eq "mallory is listed with an error naming the file" \
  "$(j '[r for r in d if r["principal"] == "mallory"][0]["error"].count("mallory.toml")' <<<"$out")" "1"
expect_eq "  and only principal + error in her row" "$(j '[sorted(r) for r in d if r["principal"] == "mallory"][0]' <<<"$out")" "['error', 'principal']"
expect_eq "every other row is byte-for-byte the same" \
  "$(j 'json.dumps([r for r in d if r["principal"] != "mallory"])' <<<"$out")" \
  "$(j 'json.dumps([r for r in d if r["principal"] != "mallory"])' <<<"$good")"
pretty=$($A agent list)
ok_if "the pretty list shows her error" grep -q "^mallory: error: .*mallory.toml" <<<"$pretty"
expect_eq "  and the other pretty rows are unchanged" "$(grep -Ev '^mallory|^$' <<<"$pretty")" "$(grep -v '^mallory' <<<"$good_pretty")"
ok_if "  also under --group agent" bash -c "$A agent list --group agent | grep -q '^mallory: error'"
out=$($A agent show mallory 2>&1); rc=$?
expect_eq "agent show mallory fails" "$rc" "1"
ok_if "  with the load error" grep -q "cannot be loaded" <<<"$out"

# --- 4a. stale temp files of interrupted writes are swept at boot ---
ok_if "stop" $A stop
sleep 0.3
echo torn >"$ASTRID_HOME/etc/profiles/.bob.toml.tmp-Ab3dE9"
echo torn >"$ASTRID_HOME/etc/.groups.toml.tmp-zz9XyY"
echo torn >"$ASTRID_HOME/keys/.runtime.pub.tmp-QQQQQQ"
mkdir -p "$ASTRID_HOME/home/bob/.config/env"
echo torn >"$ASTRID_HOME/home/bob/.config/env/.x.env.json.tmp-a1b2c3"
echo keep >"$ASTRID_HOME/etc/notes.tmp-keepme"          # no leading dot
echo keep >"$ASTRID_HOME/etc/.notes.tmp-toolong1"       # not six characters
echo keep >"$ASTRID_HOME/etc/.hidden"
echo keep >"$ASTRID_HOME/home/bob/.local/capsules/.data.tmp-Ab3dE9" # capsule-owned tree
ok_if "start after planting temp files" $A start
ok_if "the temp files under etc/, keys/ and an env dir are gone" bash -c "! ls '$ASTRID_HOME/etc/profiles/.bob.toml.tmp-Ab3dE9' '$ASTRID_HOME/etc/.groups.toml.tmp-zz9XyY' '$ASTRID_HOME/keys/.runtime.pub.tmp-QQQQQQ' '$ASTRID_HOME/home/bob/.config/env/.x.env.json.tmp-a1b2c3' 2>/dev/null | grep -q ."
ok_if "files not matching the temp pattern are untouched" bash -c "grep -q keep '$ASTRID_HOME/etc/notes.tmp-keepme' && grep -q keep '$ASTRID_HOME/etc/.notes.tmp-toolong1' && grep -q keep '$ASTRID_HOME/etc/.hidden' && grep -q keep '$ASTRID_HOME/home/bob/.local/capsules/.data.tmp-Ab3dE9'"
ok_if "the removal is logged" grep -q "removed etc/profiles/.bob.toml.tmp-Ab3dE9" "$ASTRID_HOME"/log/*.log

# --- 4b. default.toml: empty -> re-seeded loudly; malformed -> boot error ---
ok_if "stop" $A stop
sleep 0.3
: >"$ASTRID_HOME/etc/profiles/default.toml"
ok_if "boot with an empty default.toml" $A start
ok_if "  re-seeded with groups = [\"admin\"]" python3 -c 'import tomllib,sys; assert tomllib.load(open(sys.argv[1],"rb"))["groups"] == ["admin"]' "$ASTRID_HOME/etc/profiles/default.toml"
ok_if "  and the log says so" grep -q 'WARN .*default.toml was empty.*re-seeded it with groups = \["admin"\]' "$ASTRID_HOME"/log/*.log
ok_if "stop" $A stop
sleep 0.3
printf 'profile_version = 1\ngroups = ["admin"\n' >"$ASTRID_HOME/etc/profiles/default.toml"
cp "$ASTRID_HOME/etc/profiles/default.toml" "$TEST_TMP/bad-default"
out=$(timeout 30 "$BIN/astrid-daemon" 2>&1); rc=$?
expect_eq "a malformed default.toml fails the boot" "$rc" "1"
ok_if "  naming the file and the line" grep -qE "default.toml: line [0-9]+" <<<"$out"
expect_eq "  and leaving the file as it was" "$(sha "$ASTRID_HOME/etc/profiles/default.toml")" "$(sha "$TEST_TMP/bad-default")"
printf 'groups = ["admin"]\n' >"$ASTRID_HOME/etc/profiles/default.toml"

# --- 3. full disk ---
mkdir -p "$FULL"
if ! mount -t tmpfs -o size=2M tmpfs "$FULL" 2>/dev/null; then
  for n in boot status list check reads grant create verify failure; do skip "full disk: $n" "cannot mount a tmpfs here (not root?)"; done
else
  export ASTRID_HOME=$FULL/home
  ok_if "full disk: init (start, agent create bob, stop)" bash -c "$A start && $A agent create bob >/dev/null && $A stop"
  sleep 0.3
  before_bob=$(sha "$ASTRID_HOME/etc/profiles/bob.toml")
  dd if=/dev/zero of="$FULL/fill" bs=4k >/dev/null 2>&1
  expect_eq "full disk: the filesystem is full" "$(df --output=avail "$FULL" | tail -1 | tr -d ' ')" "0"
  ok_if "full disk: the daemon boots" $A start
  ok_if "full disk: status is served" $A status
  expect_eq "full disk: agent list is served" "$($A agent list --format json | j '[r["principal"] for r in d]')" "['bob', 'default']"
  ok_if "full disk: caps check is served" $A caps check bob self:capsule:install
  fails=0
  for _ in $(seq 25); do $A agent list >/dev/null 2>&1 || fails=$((fails + 1)); done
  expect_eq "full disk: 25 more reads are all served (their audit entries land)" "$fails" "0"
  out=$($A caps grant bob x:y 2>&1); rc=$?
  expect_eq "full disk: caps grant is refused" "$rc" "1"
  ok_if "  naming the disk and the file" grep -q "no space left on device writing .*etc/profiles/bob.toml" <<<"$out"
  expect_eq "  bob's profile unchanged" "$(sha "$ASTRID_HOME/etc/profiles/bob.toml")" "$before_bob"
  out=$($A agent create eve 2>&1); rc=$?
  expect_eq "full disk: agent create is refused" "$rc" "1"
  ok_if "  naming the disk" grep -qi "no space left on device" <<<"$out"
  ok_if "  leaving no profile for eve" test ! -e "$ASTRID_HOME/etc/profiles/eve.toml"
  ok_if "full disk: audit verify" $A audit verify
  ok_if "full disk: the refused grant is in the chain as a failure" bash -c "$A audit show --format json | python3 -c 'import json,sys; assert any(e[\"action\"].get(\"method\") == \"admin.caps.grant\" and e[\"outcome\"][\"status\"] == \"failure\" and \"no space\" in e[\"outcome\"][\"error\"] for e in json.load(sys.stdin))'"
  rm -f "$FULL/fill"
  ok_if "space freed: the same grant now succeeds" $A caps grant bob x:y
  ok_if "  and the chain still verifies" $A audit verify
  $A stop >/dev/null 2>&1; sleep 0.3
  umount "$FULL"
  export ASTRID_HOME=$TEST_TMP/home
fi
echo "1..$_tap_n"
