#!/usr/bin/env bash
# Distros (docs/distro.md): `astrid init` offline with --yes and with
# answers on stdin (group choice, only the chosen capsules' variables),
# the lock (0600, fresh = same id+version), drift shown by `distro show`
# and repaired by `distro update`, hostile input refused with nothing
# written, the first run of `astrid start`, `agent create --distro/--bare`.
# A small distro (registry + the two providers) keeps it quick; it names
# its sources by file name, found in the capsule build directory.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
E=$TEST_TMP/stderr
D=$TEST_TMP/distros/astralis
mkdir -p "$D"
cat >"$D/Distro.toml" <<'TOML'
schema-version = 1
[distro]
id = "astralis"
name = "Small"
version = "0.0.1"
[variables]
openai_api_key = { secret = true }
openai_base_url = { default = "http://openai.invalid" }
anthropic_api_key = { secret = true }
anthropic_base_url = { default = "http://anthropic.invalid" }
[[capsule]]
name = "astrid-capsule-registry"
source = "registry.capsule"
version = "0.1.0"
role = "uplink"
[[capsule]]
name = "astrid-capsule-openai-compat"
source = "openai-compat.capsule"
version = "0.1.0"
group = "llm"
env = { api_key = "{{ openai_api_key }}", base_url = "{{ openai_base_url }}" }
[[capsule]]
name = "astrid-capsule-anthropic"
source = "anthropic.capsule"
version = "0.1.0"
group = "llm"
env = { api_key = "{{anthropic_api_key}}", base_url = "{{ anthropic_base_url }}/" }
TOML
LOCK=$ASTRID_HOME/home/default/.config/distro.lock
ENVD=$ASTRID_HOME/home/default/.config/env

# --- hostile and bad input: refused, nothing written
$A init --distro @org/repo >/dev/null 2>"$E"; rc=$?
expect_eq "init --distro @org/repo: exit 2 (remote sources)" "$rc" "2"
ok_if "  naming remote sources" grep -q 'remote distro sources' "$E"
$A init --distro "$TEST_TMP/none" >/dev/null 2>"$E"; rc=$?
expect_eq "a missing Distro.toml: exit 1" "$rc" "1"
mkdir -p "$TEST_TMP/bad"
sed 's/^role = "uplink"$//' "$D/Distro.toml" >"$TEST_TMP/bad/Distro.toml"
$A init --distro "$TEST_TMP/bad" --yes >/dev/null 2>"$E"; rc=$?
expect_eq "a distro without an uplink: exit 1" "$rc" "1"
ok_if "  the error names the rule" grep -q 'role = "uplink"' "$E"
$A init --distro "$D" --yes --var nope=1 >/dev/null 2>"$E"; rc=$?
expect_eq "--var for an unknown variable: exit 1" "$rc" "1"
ok_if "  naming it" grep -q -- '--var nope' "$E"
printf '9\n' | $A init --distro "$D" >/dev/null 2>"$E"; rc=$?
expect_eq "a group answer out of range: exit 1" "$rc" "1"
ok_if "  naming the group" grep -q "group llm: '9' is not one of 1..2" "$E"
sed 's/source = "registry.capsule"/source = "..\/..\/etc\/x.capsule"/' "$D/Distro.toml" >"$TEST_TMP/bad/Distro.toml"
$A init --distro "$TEST_TMP/bad" --yes >/dev/null 2>"$E"; rc=$?
expect_eq "a source with '..': exit 1" "$rc" "1"
ok_if "  nothing installed, no lock" test ! -e "$LOCK" -a ! -e "$ASTRID_HOME/home/default/.local/capsules/astrid-capsule-registry"

# --- init --yes, offline
ok_if "start" bash -c "$A start >/dev/null"
out=$($A init --distro "$D" --yes 2>"$E"); rc=$?
expect_eq "init --yes: exit 0" "$rc" "0"
ok_if "  one progress line per capsule" test "$(grep -c '^\[ *[0-9]/2\] astrid-capsule-.* installed' "$E")" = 2
ok_if "  the lock is written, 0600" test "$(stat -c %a "$LOCK" 2>/dev/null)" = 600
ok_if "  --yes chose the first of the llm group (openai-compat)" \
  bash -c "grep -q 'name = \"astrid-capsule-openai-compat\"' '$LOCK' && ! grep -q anthropic '$LOCK'"
ok_if "  the lock carries the wasm hash" grep -q '^hash = "blake3:[0-9a-f]\{64\}"' "$LOCK"
ok_if "  the env default reached the capsule config" \
  grep -q '"base_url": *"http://openai.invalid"' "$ENVD/astrid-capsule-openai-compat.env.json"
ok_if "  and no question was asked" bash -c "! grep -q 'Select llm' '$E'"
out=$($A init --distro "$D" --yes 2>&1)
ok_if "init again: already installed (fresh lock)" grep -q 'already installed' <<<"$out"

# --- drift
out=$($A distro show)
ok_if "distro show: no drift" grep -q '^No drift' <<<"$out"
cp "$LOCK" "$TEST_TMP/lock.good"
sed -i '0,/^hash = "blake3:[0-9a-f]*"/s//hash = "blake3:0000000000000000000000000000000000000000000000000000000000000000"/' "$LOCK"
out=$($A distro show)
ok_if "a changed capsule is marked as drift" grep -q '^! astrid-capsule-registry .*hash differs' <<<"$out"
expect_eq "  --format json counts it" "$($A distro show --format json | j 'd["drift"]')" "1"
$A distro update "$D" >/dev/null 2>"$E"; rc=$?
expect_eq "distro update: exit 0" "$rc" "0"
ok_if "  reinstalled only the drifted capsule" bash -c "grep -q 'registry .*installed' '$E' && ! grep -q 'openai-compat .*installed' '$E'"
ok_if "  no drift after the update" bash -c "$A distro show | grep -q '^No drift'"
$A capsule remove astrid-capsule-openai-compat >/dev/null 2>&1
ok_if "a removed capsule is shown missing" bash -c "$A distro show | grep -q '^! astrid-capsule-openai-compat .*missing'"

# --- answers on stdin, another agent
ok_if "agent create carol --bare" bash -c "$A agent create carol --bare >/dev/null 2>&1"
printf '2\nsk-ant-test\nhttp://stdin.invalid\n' | $A distro apply "$D" -a carol >/dev/null 2>"$E"; rc=$?
expect_eq "distro apply -a carol with answers on stdin: exit 0" "$rc" "0"
CL=$ASTRID_HOME/home/carol/.config/distro.lock
ok_if "  chose anthropic (answer 2)" bash -c "grep -q anthropic '$CL' && ! grep -q openai '$CL'"
ok_if "  asked only the chosen capsule's variables" bash -c "grep -q anthropic_base_url '$E' && ! grep -q openai_ '$E'"
ok_if "  in upstream's order (sorted)" bash -c "[[ \$(grep -o 'anthropic_[a-z_]*' '$E' | head -n 1) == anthropic_api_key ]]"
ok_if "  the answer reached carol's config" \
  grep -q '"base_url": *"http://stdin.invalid/"' "$ASTRID_HOME/home/carol/.config/env/astrid-capsule-anthropic.env.json"
ok_if "  the secret is not in the env file" bash -c "! grep -q sk-ant-test '$ASTRID_HOME/home/carol/.config/env/astrid-capsule-anthropic.env.json'"
ok_if "  default's lock still holds its own choice" bash -c "grep -q openai-compat '$LOCK' && ! grep -q anthropic '$LOCK'"
ok_if "agent create dave --distro PATH" bash -c "$A agent create dave --distro '$D' >/dev/null 2>&1"
ok_if "  dave has his own lock" test -f "$ASTRID_HOME/home/dave/.config/distro.lock"
$A stop >/dev/null 2>&1

# --- first run: start applies the default distro when there is no lock
export ASTRID_HOME=$TEST_TMP/home2
out=$(ASTRID_NO_AUTO_INIT= ASTRID_DISTRO_PATH=$TEST_TMP/distros $A start 2>&1); rc=$?
expect_eq "first run: astrid start: exit 0" "$rc" "0"
ok_if "  says it runs init with the default distro" grep -q 'first run: agent default has no distro' <<<"$out"
ok_if "  and wrote the lock" test -f "$ASTRID_HOME/home/default/.config/distro.lock"
$A stop >/dev/null 2>&1
sleep 0.3
out=$(ASTRID_NO_AUTO_INIT= ASTRID_DISTRO_PATH=$TEST_TMP/distros $A start 2>&1)
ok_if "second start: no init" bash -c "! grep -q 'first run' <<<\"\$1\"" _ "$out"
$A stop >/dev/null 2>&1
echo "1..$_tap_n"
