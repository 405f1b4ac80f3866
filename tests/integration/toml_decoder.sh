#!/usr/bin/env bash
# toml-decoder (toml-test interface): every valid toml-test 1.0 document must
# decode to JSON semantically equal to the expected file (toml-test's rules:
# floats numerically incl. inf/nan, date-times as values); a sample of
# invalid ones must exit 1 with a positioned error on stderr.
source "$(dirname "$0")/../lib.sh"
dec=$ASTRID_BUILD/tests/toml-decoder
data=$ASTRID_SHARED/testdata/toml-test
[[ -d $data ]] || data=/work/shared/testdata/toml-test
python3 - "$dec" "$data" <<'PY'
import json, math, re, subprocess, sys
from datetime import datetime, date, time, timedelta, timezone
dec, data = sys.argv[1], sys.argv[2]
files = [l.strip() for l in open(f"{data}/files-toml-1.0.0") if l.strip().endswith(".toml")]
n = 0
def tap(ok, name, why=""):
    global n
    n += 1
    print(f"{'' if ok else 'not '}ok {n} - {name}")
    if not ok and why:
        print("# " + why[:300].replace("\n", " "))
def num(s):
    s = s.replace("_", "")
    if s.lstrip("+-") == "nan": return math.nan
    if s.lstrip("+-") == "inf": return -math.inf if s[0] == "-" else math.inf
    return float(s)
def dt(t, v):
    if t == "date-local": return date.fromisoformat(v)
    v = v.replace(" ", "T").replace("t", "T").replace("z", "Z").replace("Z", "+00:00")
    m = re.match(r"(.*?:\d\d)(\.\d+)?(.*)$", v)
    frac = (m.group(2) or ".0")[1:10].ljust(9, "0")
    base = m.group(1) + m.group(3)
    if t == "time-local": return (time.fromisoformat(m.group(1)), frac)
    return (datetime.fromisoformat(base), frac)
def eq(g, w):
    if isinstance(w, dict) and set(w) == {"type", "value"} and isinstance(w["value"], str):
        if not (isinstance(g, dict) and g.get("type") == w["type"]): return False
        t, a, b = w["type"], g["value"], w["value"]
        if t == "float":
            x, y = num(a), num(b)
            return (math.isnan(x) and math.isnan(y)) or x == y
        if t == "integer": return int(a) == int(b)
        if t.startswith("date") or t == "time-local": return dt(t, a) == dt(t, b)
        return a == b
    if isinstance(w, dict):
        return isinstance(g, dict) and set(g) == set(w) and all(eq(g[k], w[k]) for k in w)
    if isinstance(w, list):
        return isinstance(g, list) and len(g) == len(w) and all(eq(a, b) for a, b in zip(g, w))
    return False
valid = [f for f in files if f.startswith("valid/")]
invalid = [f for f in files if f.startswith("invalid/")][::25]
for f in valid:
    r = subprocess.run([dec], stdin=open(f"{data}/{f}", "rb"), capture_output=True)
    try:
        ok = r.returncode == 0 and eq(json.loads(r.stdout), json.load(open(f"{data}/{f[:-5]}.json")))
    except Exception as e:
        ok = False
    tap(ok, f"decoder {f}", r.stderr.decode(errors="replace") or r.stdout.decode(errors="replace"))
for f in invalid:
    r = subprocess.run([dec], stdin=open(f"{data}/{f}", "rb"), capture_output=True)
    err = r.stderr.decode(errors="replace")
    tap(r.returncode == 1 and r.stdout == b"" and "line " in err, f"decoder rejects {f}", err)
PY
