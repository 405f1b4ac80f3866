#!/usr/bin/env bash
# kv-exists: whether a key is set in the invoking agent's KV namespace,
# without its value crossing into the guest. Added as one WIT line, one C
# function (src/capsule/host/kv.c) and this suite (docs/abi.md "Adding a
# host function"); the capsule below calls the import the SDK's generated
# header declares. Absent, set, deleted, another agent's key, bad keys.
set -u
source "$ASTRID_SRC/tests/integration/capsule_lib.sh"
C=$TEST_TMP/kvx
mkdir -p "$C"
cat >"$C/Capsule.toml" <<'EOF'
[package]
name = "kvx"
version = "0.1.0"

[[component]]
id = "kvx"
file = "kvx.wasm"

[[interceptor]]
event = "demo.v1.kvx"
action = "kvx"

[capabilities]
ipc_publish = ["demo.v1.kvx.reply"]
EOF
cat >"$C/kvx.c" <<'EOF'
/* On demo.v1.kvx {"op": "set"|"del"|"exists"|"long", "key": K}: set or
 * delete K first, then answer {"ok": bool, "exists": bool, "error": ...}
 * from kv-exists K ("long": a 2000-byte key). */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void str_of(const char *json, const char *name, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    const char *s = strstr(json, pat);
    size_t k = 0;
    for (s = s ? s + strlen(pat) : NULL; s && *s && *s != '"' && k + 1 < n; s++)
        out[k++] = *s;
    out[k] = '\0';
}

static astrid_action on_kvx(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[16], key[2048], buf[1400];
    str_of(pl, "op", op, sizeof op);
    str_of(pl, "key", key, sizeof key);
    if (strcmp(op, "set") == 0)
        astrid_kv_set(key, "v", 1, NULL);
    else if (strcmp(op, "del") == 0)
        astrid_kv_delete(key, NULL);
    else if (strcmp(op, "long") == 0)
        memset(key, 'k', 2000), key[2000] = '\0';
    _Alignas(ASTRID_IMPORT_KV_EXISTS_RET_ALIGN) uint8_t ret[ASTRID_IMPORT_KV_EXISTS_RET_SIZE];
    astrid_import_kv_exists((int32_t)(uintptr_t)key, (int32_t)strlen(key), (int32_t)(uintptr_t)ret);
    uint32_t p, l;
    memcpy(&p, ret + 4, 4);
    memcpy(&l, ret + 8, 4);
    if (ret[0])
        snprintf(buf, sizeof buf, "{\"ok\":false,\"error\":\"%.*s\"}", (int)l,
                 (const char *)(uintptr_t)p);
    else
        snprintf(buf, sizeof buf, "{\"ok\":true,\"exists\":%s}", ret[4] ? "true" : "false");
    astrid_publish("demo.v1.kvx.reply", buf, NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("kvx", on_kvx)
EOF
kvx() { $A bus request demo.v1.kvx "$1" --timeout 20 2>&1; }
build_capsule "$C"
ok_if "start" $A start
ok_if "capsule install kvx" $A capsule install "$O/kvx.capsule"
ok_if "agent create bob" $A agent create bob
ok_if "  bob may use the bus tools" $A caps grant bob system:bus
expect_eq "an absent key does not exist" "$(kvx '{"op":"exists","key":"a"}')" '{"ok":true,"exists":false}'
expect_eq "after kv-set it does" "$(kvx '{"op":"set","key":"a"}')" '{"ok":true,"exists":true}'
expect_eq "  and on the next invocation" "$(kvx '{"op":"exists","key":"a"}')" '{"ok":true,"exists":true}'
ok_if "agent switch bob" $A agent switch bob
expect_eq "another agent's namespace does not have it" "$(kvx '{"op":"exists","key":"a"}')" '{"ok":true,"exists":false}'
ok_if "agent switch default" $A agent switch default
expect_eq "after kv-delete it does not exist" "$(kvx '{"op":"del","key":"a"}')" '{"ok":true,"exists":false}'
expect_eq "an empty key is an error" "$(kvx '{"op":"exists","key":""}')" \
  '{"ok":false,"error":"kv-exists: invalid key: keys are non-empty and hold no NUL"}'
expect_eq "a 2000-byte key is an error, not a trap" "$(kvx '{"op":"long"}')" \
  '{"ok":false,"error":"kv-exists: key of 2000 bytes is over the 1024-byte limit"}'
echo "1..$_tap_n"
