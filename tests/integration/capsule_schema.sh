#!/usr/bin/env bash
# Topic schemas (reference §6.1, §6.7, §10.1; docs/capsules.md "Topic
# schemas"): at install, [[topic]] wit_type is read from the capsule's wit/
# and baked into meta.json topics[].schema as JSON Schema (a `schema` file
# is baked as is); the daemon's schema catalog answers GetCapsuleMetadata;
# ajv (an independent validator, tests/npm) compiles the generated schema
# in strict mode and accepts/refuses sample payloads as the WIT type says.
# A wit_type that does not resolve, or a schema file reached through a
# link out of the capsule, refuses the install with nothing installed.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
DH=$ASTRID_HOME/home/default/.local/capsules
VALIDATE=$ASTRID_SRC/tests/npm/validate-schema.js

build_capsule "$ASTRID_SRC/tests/capsules/schematic"
ok_if "start" $A start
out=$($A capsule install "$O/schematic.capsule" 2>&1); rc=$?
expect_eq "schematic (archive) installs" "$rc" "0"
[[ $rc == 0 ]] || echo "$out" | sed "s/^/# /"
M=$DH/schematic/meta.json
expect_eq "meta.json lists its three topics" "$(j '[(t["name"], t["direction"]) for t in d["topics"]]' <"$M")" \
  "[('demo.v1.echo', 'subscribe'), ('demo.v1.echo.reply', 'publish'), ('demo.v1.fanout.*', 'publish')]"
expect_eq "  wit_type echo-request became an object schema titled after it" \
  "$(j '(d["topics"][0]["schema"]["type"], d["topics"][0]["schema"]["title"], d["topics"][0]["description"])' <"$M")" \
  "('object', 'echo-request', 'What to echo')"
expect_eq "  its record doc and field docs are descriptions" \
  "$(j '(d["topics"][0]["schema"]["description"], d["topics"][0]["schema"]["properties"]["text"]["description"], d["topics"][0]["schema"]["properties"]["meta"]["properties"]["sent_at"]["description"])' <"$M")" \
  "('An echo request.', 'The text to echo.', 'Seconds since the epoch.')"
expect_eq "  the schema file (packed by astrid-build) is baked as written" \
  "$(j 'd["topics"][1]["schema"]["required"]' <"$M")" "['text']"
expect_eq "  a trailing .* family keeps its schema" "$(j 'd["topics"][2]["schema"]["title"]' <"$M")" "fan-event"

# --- the catalog answers GetCapsuleMetadata
r=$($A bus request astrid.v1.request.metadata '{"method":"GetCapsuleMetadata"}' --reply astrid.v1.response.metadata --timeout 20 2>&1)
expect_eq "GetCapsuleMetadata carries the catalog's topics with their schemas" \
  "$(j '[(t["name"], t.get("schema", {}).get("title")) for c in d["data"] if c["name"]=="schematic" for t in c["topics"]]' <<<"$r")" \
  "[('demo.v1.echo', 'echo-request'), ('demo.v1.echo.reply', None), ('demo.v1.fanout.*', 'fan-event')]"

# --- an independent validator: ajv, strict, draft 2020-12
if [[ -d $ASTRID_SRC/tests/npm/node_modules/ajv ]] && command -v node >/dev/null; then
  j 'json.dumps(d["topics"][0]["schema"])' <"$M" >"$TEST_TMP/schema.json"
  python3 - "$TEST_TMP/cases.json" <<'EOF'
import json, sys, copy
good = {"text": "hi", "times": 3, "volume": "very_loud", "style": ["bold", "all_caps"],
        "target": {"users": ["a", "b"]}, "pitch": 1.5, "initial": "x", "offset": -5,
        "tags": [], "range": [1, 2], "outcome": {"ok": "done"},
        "meta": {"sent_at": 1700000000, "sender": None}, "note": None}
def alt(**kw):
    d = copy.deepcopy(good)
    for k, v in kw.items():
        if v is KeyError: del d[k]
        else: d[k] = v
    return d
cases = [
    ("a full payload", good, True),
    ("option fields may be left out", alt(note=KeyError), True),
    ("a bare variant case", alt(target="everyone"), True),
    ("a variant case with payload", alt(target={"only_user": "bob"}), True),
    ("result err arm", alt(outcome={"err": "no"}), True),
    ("a required field missing", alt(text=KeyError), False),
    ("u8 above 255", alt(times=256), False),
    ("u8 negative", alt(times=-1), False),
    ("s16 below its range", alt(offset=-40000), False),
    ("an enum value in kebab-case (the wire is snake_case)", alt(volume="very-loud"), False),
    ("an unknown flag", alt(style=["italic"]), False),
    ("a flag twice", alt(style=["bold", "bold"]), False),
    ("an unknown variant case", alt(target="nobody"), False),
    ("a variant case with two keys", alt(target={"only_user": "a", "users": []}), False),
    ("a char of two letters", alt(initial="xy"), False),
    ("a tuple too long", alt(range=[1, 2, 3]), False),
    ("a tuple item of the wrong type", alt(range=["a", 2]), False),
    ("result with both arms", alt(outcome={"ok": "a", "err": "b"}), False),
    ("a nested record's field of the wrong type", alt(meta={"sent_at": "now"}), False),
    ("a string where a list goes", alt(tags="x"), False),
]
json.dump([{"name": n, "data": d, "valid": v} for n, d, v in cases], open(sys.argv[1], "w"))
EOF
  out=$(node "$VALIDATE" "$TEST_TMP/schema.json" "$TEST_TMP/cases.json" 2>&1); rc=$?
  expect_eq "ajv (strict, 2020-12) compiles the schema and judges 20 payloads as the WIT type says" "$rc" "0"
  [[ $rc == 0 ]] || echo "$out" | sed 's/^/# /'
  j 'json.dumps(d["topics"][2]["schema"])' <"$M" >"$TEST_TMP/fan.json"
  echo '[{"name":"seq","data":{"seq":1},"valid":true},{"name":"neg","data":{"seq":-1},"valid":false}]' >"$TEST_TMP/fan-cases.json"
  ok_if "ajv: fan-event accepts {seq:1}, refuses {seq:-1}" node "$VALIDATE" "$TEST_TMP/fan.json" "$TEST_TMP/fan-cases.json"
else
  skip "ajv validation" "tests/npm/node_modules missing: run make deps"
  skip "ajv fan-event" "tests/npm/node_modules missing: run make deps"
fi

# --- refusals leave nothing installed
S=$TEST_TMP/src
cp -r "$ASTRID_SRC/tests/capsules/schematic" "$S"
cp "$O/schematic.capsule" "$TEST_TMP/keep.capsule"
(cd "$TEST_TMP" && tar xzf keep.capsule schematic.wasm) && cp "$TEST_TMP/schematic.wasm" "$S/"
sed -i 's/wit_type = "echo-request"/wit_type = "no-such-record"/' "$S/Capsule.toml"
sed -i 's/^version = "0.1.0"/version = "0.2.0"/' "$S/Capsule.toml"
before=$(cat "$M")
out=$($A capsule install "$S" 2>&1); rc=$?
expect_eq "a wit_type naming no record refuses the install" "$rc" "1"
ok_if "  the error names the field and the type" grep -q "topic\[0\].wit_type: WIT type 'no-such-record' not found under wit/" <<<"$out"
expect_eq "  the installed capsule is untouched" "$(cat "$M")" "$before"
sed -i 's/wit_type = "no-such-record"/wit_type = "echo-request"/' "$S/Capsule.toml"
echo '{"leak":"TOPSECRET-3b7c"}' >"$TEST_TMP/outside.json"
ln -sf "$TEST_TMP/outside.json" "$S/schemas/reply.json"
out=$($A capsule install "$S" 2>&1); rc=$?
expect_eq "a schema file linked out of the capsule refuses the install" "$rc" "1"
ok_if "  saying it resolves outside" grep -q "topic\[1\].schema: schemas/reply.json resolves outside the capsule" <<<"$out"
ok_if "  and nothing of it is baked" bash -c "! grep -q TOPSECRET '$M'"
rm "$S/schemas/reply.json" && echo '{"type": ' >"$S/schemas/reply.json"
out=$($A capsule install "$S" 2>&1); rc=$?
expect_eq "a schema file that is not JSON refuses the install" "$rc$(grep -c 'is not a JSON Schema' <<<"$out")" "11"
echo '{"type":"object"}' >"$S/schemas/reply.json"
out=$($A capsule install "$S" 2>&1); rc=$?
expect_eq "fixed, the directory source installs (upgrade to 0.2.0)" "$rc$(j 'd["version"]' <"$M")" "00.2.0"
echo "1..$_tap_n"
