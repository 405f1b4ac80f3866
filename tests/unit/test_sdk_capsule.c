/* A capsule written with the C SDK, built by astrid-build, runs in the
 * engine: this test is the host side of docs/abi.md for the calls the
 * example capsules make (sys.log, sys.get-caller, ipc.ipc-publish,
 * kv.kv-get, kv.kv-set) with an in-memory KV per principal, and checks
 * that strings, lists, options and results cross the boundary intact in
 * both directions, and that astrid-hook-trigger answers a capsule-result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/wasm/wasi.h"
#include "wasm_test_util.h"

/* ---------------------------------------------------------------- host */
typedef struct test_host {
    const char *principal; /* the caller of the current invocation */
    char kv_keys[16][128];
    char kv_vals[16][64];
    char kv_owner[16][32];
    int nkv;
    char published[8][2][512]; /* topic, payload */
    int npub;
    char log[2048];
} test_host;
static test_host H;

static uint32_t guest_alloc(void *inst, uint32_t size)
{
    uint64_t args[4] = {0, 0, 1, size}, res[1] = {0};
    astrid_err err;
    if (astrid_wasm_call(inst, "cabi_realloc", args, 4, res, 1, 0, NULL, &err) != 0)
        astrid_wasm_host_trap(inst, "cabi_realloc failed");
    return (uint32_t)res[0];
}

/* Copy host bytes into a fresh guest allocation; (ptr, len) at `at`. */
static void put_bytes(void *inst, uint32_t at, const void *data, uint32_t len)
{
    uint32_t p = len ? guest_alloc(inst, len) : 1;
    if (len)
        memcpy(astrid_wasm_mem(inst, p, len), data, len);
    uint8_t *slot = astrid_wasm_mem(inst, at, 8);
    memcpy(slot, &p, 4);
    memcpy(slot + 4, &len, 4);
}

static void err_result(void *inst, uint32_t ret, uint32_t off, const char *msg)
{
    astrid_wasm_mem(inst, ret, 1)[0] = 1;
    put_bytes(inst, ret + off, msg, (uint32_t)strlen(msg));
}

static char *guest_str(void *inst, uint32_t p, uint32_t n, char *buf, size_t bufn)
{
    const uint8_t *g = astrid_wasm_mem(inst, p, n);
    size_t l = n < bufn - 1 ? n : bufn - 1;
    memcpy(buf, g ? (const char *)g : "", g ? l : 0);
    buf[g ? l : 0] = '\0';
    return buf;
}

#define SYS(f) Z_astridZ3AcapsuleZ2FsysZ400Z2E1Z2E0Z_##f
#define IPC(f) Z_astridZ3AcapsuleZ2FipcZ400Z2E1Z2E0Z_##f
#define KV(f) Z_astridZ3AcapsuleZ2FkvZ400Z2E1Z2E0Z_##f

void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n);
void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n)
{
    astrid_wasm_host_enter(inst);
    char b[512];
    snprintf(H.log + strlen(H.log), sizeof H.log - strlen(H.log), "%u:%s\n", level,
             guest_str(inst, p, n, b, sizeof b));
    astrid_wasm_host_leave(inst);
}

void SYS(getZ2Dcaller)(void *inst, uint32_t ret);
void SYS(getZ2Dcaller)(void *inst, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    memset(astrid_wasm_mem(inst, ret, 32), 0, 32);
    if (H.principal) {
        astrid_wasm_mem(inst, ret + 4, 1)[0] = 1;
        put_bytes(inst, ret + 8, H.principal, (uint32_t)strlen(H.principal));
    }
    put_bytes(inst, ret + 16, "00000000-0000-0000-0000-000000000000", 36);
    put_bytes(inst, ret + 24, "2026-01-01T00:00:00Z", 20);
    astrid_wasm_host_leave(inst);
}

void IPC(ipcZ2Dpublish)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                        uint32_t ret);
void IPC(ipcZ2Dpublish)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                        uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    memset(astrid_wasm_mem(inst, ret, 12), 0, 12);
    char topic[512];
    guest_str(inst, tp, tn, topic, sizeof topic);
    if (strncmp(topic, "demo.", 5) != 0) {
        err_result(inst, ret, 4, "publish denied: topic not in ipc_publish");
    } else if (H.npub < 8) {
        snprintf(H.published[H.npub][0], 512, "%s", topic);
        guest_str(inst, pp, pn, H.published[H.npub][1], 512);
        H.npub++;
    }
    astrid_wasm_host_leave(inst);
}

static int kv_find(const char *key)
{
    for (int i = 0; i < H.nkv; i++)
        if (strcmp(H.kv_keys[i], key) == 0 && strcmp(H.kv_owner[i], H.principal) == 0)
            return i;
    return -1;
}

void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret);
void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    memset(astrid_wasm_mem(inst, ret, 16), 0, 16);
    char key[128];
    guest_str(inst, kp, kn, key, sizeof key);
    int i = kv_find(key);
    if (i >= 0) {
        astrid_wasm_mem(inst, ret + 4, 1)[0] = 1; /* Some */
        put_bytes(inst, ret + 8, H.kv_vals[i], (uint32_t)strlen(H.kv_vals[i]));
    }
    astrid_wasm_host_leave(inst);
}

void KV(kvZ2Dset)(void *inst, uint32_t kp, uint32_t kn, uint32_t vp, uint32_t vn, uint32_t ret);
void KV(kvZ2Dset)(void *inst, uint32_t kp, uint32_t kn, uint32_t vp, uint32_t vn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    memset(astrid_wasm_mem(inst, ret, 12), 0, 12);
    char key[128];
    guest_str(inst, kp, kn, key, sizeof key);
    int i = kv_find(key);
    if (i < 0 && H.nkv < 16) {
        i = H.nkv++;
        snprintf(H.kv_keys[i], 128, "%s", key);
        snprintf(H.kv_owner[i], 32, "%s", H.principal);
    }
    if (i >= 0)
        guest_str(inst, vp, vn, H.kv_vals[i], 64);
    astrid_wasm_host_leave(inst);
}

static const astrid_wasm_host_func sys_funcs[] = {{"log", "iii", "", 0},
                                                  {"get-caller", "i", "", 0}};
static const astrid_wasm_host_func ipc_funcs[] = {{"ipc-publish", "iiiii", "", 0}};
static const astrid_wasm_host_func kv_funcs[] = {{"kv-get", "iii", "", 0},
                                                 {"kv-set", "iiiii", "", 0}};

/* ------------------------------------------------------------- helpers */
static char capdir[300];

static int setup(void **state)
{
    (void)state;
    memset(&H, 0, sizeof H);
    return wt_setup_dir();
}

static int teardown(void **state)
{
    (void)state;
    wt_rm_dir();
    return 0;
}

static const char *build_dir(void)
{
    const char *b = getenv("ASTRID_BUILD");
    return b ? b : "build";
}

static const char *src_dir(void)
{
    const char *s = getenv("ASTRID_SRC");
    return s ? s : ".";
}

/* astrid-build an example into wt_dir; its exit code. */
static int build_capsule(const char *dir, const char *extra)
{
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "'%s/bin/astrid-build' '%s' -o '%s/out' %s >'%s/build.log' 2>&1",
             build_dir(), dir, wt_dir, extra ? extra : "", wt_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t *capsule_wasm(const char *name, const char *wasm, size_t *len)
{
    char example[512], cmd[1200], path[700];
    snprintf(example, sizeof example, "%s/capsules/examples/%s", src_dir(), name);
    if (build_capsule(example, NULL) != 0)
        return NULL;
    snprintf(capdir, sizeof capdir, "%s/x-%s", wt_dir, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && tar xzf '%s/out/%s.capsule' -C '%s'", capdir,
             wt_dir, name, capdir);
    if (system(cmd) != 0)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", capdir, wasm);
    char *buf = NULL;
    if (astrid_read_file(path, 64u << 20, &buf, len, NULL) != 0)
        return NULL;
    return (uint8_t *)buf;
}

typedef struct hook_out {
    char action[32];
    int has_data;
    char data[512];
} hook_out;

static int hook(astrid_wasm_instance *inst, const char *action, const char *payload, hook_out *out)
{
    astrid_err err;
    uint64_t a[4] = {0, strlen(action), 0, strlen(payload)}, r[1] = {0};
    uint64_t al[4] = {0, 0, 1, a[1]}, pl[4] = {0, 0, 1, a[3]}, res[1];
    if (astrid_wasm_call(inst, "cabi_realloc", al, 4, res, 1, 0, NULL, &err) != 0)
        return -1;
    a[0] = res[0];
    memcpy(astrid_wasm_mem(inst, (uint32_t)a[0], (uint32_t)a[1]), action, a[1]);
    if (astrid_wasm_call(inst, "cabi_realloc", pl, 4, res, 1, 0, NULL, &err) != 0)
        return -1;
    a[2] = res[0];
    memcpy(astrid_wasm_mem(inst, (uint32_t)a[2], (uint32_t)a[3]), payload, a[3]);
    if (astrid_wasm_call(inst, "astrid-hook-trigger", a, 4, r, 1, 5000, NULL, &err) != 0) {
        fprintf(stderr, "hook: %s\n", err.msg);
        return -1;
    }
    const uint8_t *cr = astrid_wasm_mem(inst, (uint32_t)r[0], 20);
    uint32_t ap, an, dp, dn;
    memcpy(&ap, cr, 4);
    memcpy(&an, cr + 4, 4);
    memcpy(&dp, cr + 12, 4);
    memcpy(&dn, cr + 16, 4);
    out->has_data = cr[8];
    guest_str(inst, ap, an, out->action, sizeof out->action);
    if (out->has_data)
        guest_str(inst, dp, dn, out->data, sizeof out->data);
    uint64_t post[1] = {r[0]};
    return astrid_wasm_call(inst, "cabi_post_astrid-hook-trigger", post, 1, NULL, 0, 0, NULL, &err);
}

static astrid_wasm_instance *start(astrid_wasm_module *m, astrid_wasi **w)
{
    astrid_err err;
    astrid_wasi_config wc = {0};
    *w = NULL;
    *w = astrid_wasi_new(&wc, &err);
    astrid_wasm_instance_config ic = {.wasi = *w};
    astrid_wasm_instance *inst = astrid_wasm_instantiate(m, &ic, NULL, &err);
    if (!inst) {
        fprintf(stderr, "instantiate: %s\n", err.msg);
        return NULL;
    }
    if (astrid_wasm_call(inst, "_initialize", NULL, 0, NULL, 0, 5000, NULL, &err) != 0) {
        fprintf(stderr, "_initialize: %s\n", err.msg);
        astrid_wasm_instance_free(inst);
        return NULL;
    }
    return inst;
}

static astrid_wasm_engine *engine(void)
{
    static astrid_wasm_host_module hosts[4];
    hosts[0] = astrid_wasi_host_module;
    hosts[1] = (astrid_wasm_host_module){"astrid:capsule/sys@0.1.0", sys_funcs, 2, 0};
    hosts[2] = (astrid_wasm_host_module){"astrid:capsule/ipc@0.1.0", ipc_funcs, 1, 0};
    hosts[3] = (astrid_wasm_host_module){"astrid:capsule/kv@0.1.0", kv_funcs, 2, 0};
    return wt_engine(hosts, 4);
}

/* --------------------------------------------------------------- tests */
static void echo_round_trip(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *wasm = capsule_wasm("echo", "echo.wasm", &len);
    assert_non_null(wasm);
    astrid_wasm_engine *e = engine();
    astrid_err err;
    astrid_wasm_module *m = astrid_wasm_module_load(e, wasm, len, NULL, NULL, &err);
    free(wasm);
    assert_non_null(m);
    astrid_wasi *w = NULL;
    astrid_wasm_instance *inst = start(m, &w);
    assert_non_null(inst);
    hook_out o = {0};
    const char *payload = "{\"msg\":\"h\\u00e9llo\",\"n\":[1,2,3]}";
    assert_int_equal(hook(inst, "echo", payload, &o), 0);
    assert_string_equal(o.action, "continue");
    assert_true(o.has_data); /* the payload is also its answer */
    assert_string_equal(o.data, payload);
    assert_int_equal(H.npub, 1);
    assert_string_equal(H.published[0][0], "demo.v1.echo.reply");
    assert_string_equal(H.published[0][1], payload);
    assert_non_null(strstr(H.log, "2:echoed 32 bytes"));
    /* an action the capsule does not handle: continue, untouched */
    assert_int_equal(hook(inst, "other", "{}", &o), 0);
    assert_string_equal(o.action, "continue");
    assert_int_equal(H.npub, 1);
    astrid_wasm_instance_free(inst);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
}

/* The same module counts separately for two principals (the host scopes KV
 * by the caller); the reply carries the caller the guest read back. */
static void kv_counter_per_principal(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *wasm = capsule_wasm("kv-counter", "kv_counter.wasm", &len);
    assert_non_null(wasm);
    astrid_wasm_engine *e = engine();
    astrid_err err;
    astrid_wasm_module *m = astrid_wasm_module_load(e, wasm, len, NULL, NULL, &err);
    free(wasm);
    assert_non_null(m);
    const char *who[] = {"alice", "alice", "bob", "alice", "bob"};
    const char *want[] = {
        "{\"count\":1,\"principal\":\"alice\"}", "{\"count\":2,\"principal\":\"alice\"}",
        "{\"count\":1,\"principal\":\"bob\"}", "{\"count\":3,\"principal\":\"alice\"}",
        "{\"count\":2,\"principal\":\"bob\"}"};
    for (int i = 0; i < 5; i++) {
        H.principal = who[i];
        H.npub = 0;
        astrid_wasi *w = NULL;
        astrid_wasm_instance *inst = start(m, &w); /* a fresh instance per invocation */
        assert_non_null(inst);
        hook_out o = {0};
        assert_int_equal(hook(inst, "count", "{}", &o), 0);
        assert_string_equal(o.action, "continue");
        assert_true(o.has_data);
        assert_string_equal(o.data, want[i]);
        assert_int_equal(H.npub, 1);
        assert_string_equal(H.published[0][1], want[i]);
        astrid_wasm_instance_free(inst);
        astrid_wasi_free(w);
    }
    assert_int_equal(H.nkv, 2);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
}

/* A host error string reaches the guest, which turns it into a deny. */
static void host_error_becomes_deny(void **state)
{
    (void)state;
    char dir[400], cmd[1200];
    snprintf(dir, sizeof dir, "%s/denier", wt_dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s/capsules/examples/echo/echo.c' '%s/' && "
             "sed 's/name = \"echo\"/name = \"denier\"/' '%s/capsules/examples/echo/Capsule.toml' "
             "> '%s/Capsule.toml' && sed -i 's/demo.v1.echo.reply/other.v1.x/' '%s/echo.c'",
             dir, src_dir(), dir, src_dir(), dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(build_capsule(dir, NULL), 0);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/x' && tar xzf '%s/out/denier.capsule' -C '%s/x'",
             wt_dir, wt_dir, wt_dir);
    assert_int_equal(system(cmd), 0);
    char path[600], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/x/echo.wasm", wt_dir);
    assert_int_equal(astrid_read_file(path, 64u << 20, &buf, &len, NULL), 0);
    astrid_wasm_engine *e = engine();
    astrid_err err;
    astrid_wasm_module *m = astrid_wasm_module_load(e, (uint8_t *)buf, len, NULL, NULL, &err);
    free(buf);
    assert_non_null(m);
    astrid_wasi *w = NULL;
    astrid_wasm_instance *inst = start(m, &w);
    assert_non_null(inst);
    hook_out o = {0};
    assert_int_equal(hook(inst, "echo", "{}", &o), 0);
    assert_string_equal(o.action, "deny");
    assert_true(o.has_data);
    assert_string_equal(o.data, "publish denied: topic not in ipc_publish");
    astrid_wasm_instance_free(inst);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
}

static void archive_and_errors(void **state)
{
    (void)state;
    char example[512], cmd[1200], listing[600];
    snprintf(example, sizeof example, "%s/capsules/examples/kv-counter", src_dir());
    assert_int_equal(build_capsule(example, NULL), 0);
    snprintf(listing, sizeof listing, "%s/list.txt", wt_dir);
    snprintf(cmd, sizeof cmd, "tar tzf '%s/out/kv-counter.capsule' | sort > '%s'", wt_dir, listing);
    assert_int_equal(system(cmd), 0);
    char *l = NULL;
    size_t n = 0;
    assert_int_equal(astrid_read_file(listing, 4096, &l, &n, NULL), 0);
    assert_string_equal(l, "Capsule.toml\nkv_counter.wasm\nwit/deps/astrid/astrid.wit\n");
    free(l);
    /* a bad Capsule.toml: exit 1 naming the field */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad", wt_dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && printf '[package]\\nname = \"Bad Name\"\\nversion = \"1\"\\n' > "
             "'%s/Capsule.toml' && echo 'int x;' > '%s/a.c'",
             bad, bad, bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(build_capsule(bad, NULL), 1);
    snprintf(cmd, sizeof cmd, "grep -q 'package.name' '%s/build.log'", wt_dir);
    assert_int_equal(system(cmd), 0);
    /* malformed TOML */
    snprintf(cmd, sizeof cmd, "printf '[package\\n' > '%s/Capsule.toml'", bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(build_capsule(bad, NULL), 1);
    /* a C compile error: exit 1 with the compiler's message, no archive */
    snprintf(cmd, sizeof cmd,
             "printf '[package]\\nname = \"bad\"\\nversion = \"1.0.0\"\\n[[component]]\\n"
             "file = \"bad.wasm\"\\n' > '%s/Capsule.toml' && echo 'int f( {' > '%s/a.c' && "
             "rm -f '%s/out/bad.capsule'",
             bad, bad, wt_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(build_capsule(bad, NULL), 1);
    snprintf(cmd, sizeof cmd,
             "grep -q 'error' '%s/build.log' && grep -q 'compiling bad failed' "
             "'%s/build.log' && test ! -e '%s/out/bad.capsule'",
             wt_dir, wt_dir, wt_dir);
    assert_int_equal(system(cmd), 0);
    /* no Capsule.toml: an unsupported project, exit 2 */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/empty'", wt_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(bad, sizeof bad, "%s/empty", wt_dir);
    assert_int_equal(build_capsule(bad, NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(echo_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_counter_per_principal, setup, teardown),
        cmocka_unit_test_setup_teardown(host_error_becomes_deny, setup, teardown),
        cmocka_unit_test_setup_teardown(archive_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
