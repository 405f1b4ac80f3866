/* WASI preview 1 with a real wasi-libc guest (tests/guests/wasi_probe.c,
 * built with clang --target=wasm32-wasi at test time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "capsule/wasm/wasi.h"
#include "vfs/vfs.h"
#include "wasm_test_util.h"

/* A guard for preopens: $ASTRID_HOME is `home` (created), the workspace
 * `ws`, no principal home. */
static astrid_vfs_guard guard;
static const astrid_vfs_guard *guard_for(const char *home, const char *ws)
{
    mkdir(home, 0700);
    astrid_vfs_roots roots = {NULL, ws, home};
    return astrid_vfs_guard_init(&guard, &roots, NULL) == 0 ? &guard : NULL;
}
static const astrid_vfs_guard *plain_guard(const char *ws)
{
    char home[400];
    snprintf(home, sizeof home, "%s/astrid-home", wt_dir);
    return guard_for(home, ws);
}

typedef struct sink {
    char out[4096];
    size_t nout;
    char err[256];
    size_t nerr;
} sink;

static void log_to(void *user, int fd, const char *data, size_t len)
{
    sink *s = user;
    char *dst = fd == 1 ? s->out : s->err;
    size_t *n = fd == 1 ? &s->nout : &s->nerr;
    size_t cap = fd == 1 ? sizeof s->out : sizeof s->err;
    if (*n + len >= cap)
        len = cap - *n - 1;
    memcpy(dst + *n, data, len);
    *n += len;
    dst[*n] = 0;
}

static uint8_t *build_guest(size_t *len)
{
    char cmd[2048], out[512];
    const char *src = getenv("ASTRID_SRC");
    snprintf(out, sizeof out, "%s/probe.wasm", wt_dir);
    snprintf(cmd, sizeof cmd,
             "clang --target=wasm32-wasi -fuse-ld=lld -O1 -o '%s' '%s/tests/guests/wasi_probe.c' "
             ">/dev/null 2>&1",
             out, src ? src : ".");
    if (system(cmd) != 0)
        return NULL;
    char *buf;
    if (astrid_read_file(out, 64u << 20, &buf, len, NULL) < 0)
        return NULL;
    return (uint8_t *)buf;
}

static void wasi_guest_runs_confined(void **state)
{
    (void)state;
    assert_int_equal(wt_setup_dir(), 0);
    size_t len = 0;
    uint8_t *wasm = build_guest(&len);
    if (!wasm) {
        wt_rm_dir();
        skip(); /* no wasm32-wasi toolchain (wasi-libc, lld, libclang-rt wasm32) */
    }
    char data[400], outside[400], link[400];
    snprintf(data, sizeof data, "%s/data", wt_dir);
    snprintf(outside, sizeof outside, "%s/outside.txt", wt_dir);
    snprintf(link, sizeof link, "%s/data/link", wt_dir);
    assert_int_equal(mkdir(data, 0700), 0);
    assert_int_equal(astrid_atomic_write(outside, "secret", 6, 0600, NULL), 0);
    assert_int_equal(symlink(wt_dir, link), 0);

    astrid_wasm_engine *e = wt_engine(&astrid_wasi_host_module, 1);
    assert_non_null(e);
    astrid_err err = {0};
    astrid_wasm_module *m = astrid_wasm_module_load(e, wasm, len, NULL, NULL, &err);
    if (!m)
        fprintf(stderr, "load: %s\n", err.msg);
    assert_non_null(m);
    sink s = {0};
    const char *argv[] = {"probe", "hello"};
    const char *env[] = {"GREETING=hi"};
    astrid_wasi_preopen pre[] = {{"/data", data}};
    astrid_wasi_config wc = {argv, 2, env, 1, pre, 1, log_to, &s, NULL, NULL, plain_guard(data)};
    astrid_wasi *w = astrid_wasi_new(&wc, &err);
    assert_non_null(w);
    astrid_wasm_instance_config ic = {.wasi = w};
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, &ic, NULL, &err);
    assert_non_null(i);
    astrid_wasm_outcome out;
    int rc = astrid_wasm_call(i, "_start", NULL, 0, NULL, 0, 10000, &out, &err);
    if (rc != 0)
        fprintf(stderr, "call: %s\nstdout: %s\n", err.msg, s.out);
    assert_int_equal(rc, 0);
    assert_int_equal(out.trap, ASTRID_WASM_EXITED);
    assert_int_equal(out.exit_code, 7);
    static const char *want[] = {
        "argc=2 argv1=hello\n",
        "env=hi secret=absent\n",
        "clock=ok\n",
        "random=ok\n",
        "create=ok\n",
        "readback=written by guest\n",
        "mkdir=ok\n",
        "rename=ok\n",
        "stat=ok size=16\n",
        "readdir=1\n",
        "escape_dotdot=denied\n",
        "escape_symlink=denied\n",
        "unlink=ok\n",
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        if (!strstr(s.out, want[k]))
            fprintf(stderr, "missing %s in:\n%s", want[k], s.out);
        assert_non_null(strstr(s.out, want[k]));
    }
    assert_string_equal(s.err, "to stderr\n");
    struct stat st;
    char moved[500];
    snprintf(moved, sizeof moved, "%s/sub", data);
    assert_int_equal(stat(moved, &st), 0); /* the directory really is on the host */
    astrid_wasm_instance_free(i);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    free(wasm);
    wt_rm_dir();
}

typedef struct ledger {
    int64_t used, max, peak;
} ledger;

static int ledger_charge(void *user, int64_t delta)
{
    ledger *l = user;
    if (delta > 0 && l->used + delta > l->max)
        return -1;
    l->used += delta;
    if (l->used > l->peak)
        l->peak = l->used;
    return 0;
}

/* File writes under a preopen are charged (max_storage_bytes): the probe
 * writes 16 bytes, renames and unlinks the file, so within the limit the
 * ledger goes up to 16 and back to 0; with 10 bytes the write fails and
 * nothing lands. */
static void wasi_file_writes_are_charged(void **state)
{
    (void)state;
    assert_int_equal(wt_setup_dir(), 0);
    size_t len = 0;
    uint8_t *wasm = build_guest(&len);
    if (!wasm) {
        wt_rm_dir();
        skip();
    }
    char data[400];
    snprintf(data, sizeof data, "%s/data", wt_dir);
    assert_int_equal(mkdir(data, 0700), 0);
    astrid_wasm_engine *e = wt_engine(&astrid_wasi_host_module, 1);
    astrid_err err = {0};
    astrid_wasm_module *m = astrid_wasm_module_load(e, wasm, len, NULL, NULL, &err);
    assert_non_null(m);
    for (int round = 0; round < 2; round++) {
        ledger l = {0, round == 0 ? 1000 : 10, 0};
        sink s = {0};
        astrid_wasi_preopen pre[] = {{"/data", data}};
        astrid_wasi_config wc = {
            NULL, 0, NULL, 0, pre, 1, log_to, &s, ledger_charge, &l, plain_guard(data)};
        astrid_wasi *w = astrid_wasi_new(&wc, &err);
        astrid_wasm_instance_config ic = {.wasi = w};
        astrid_wasm_instance *i = astrid_wasm_instantiate(m, &ic, NULL, &err);
        assert_non_null(i);
        astrid_wasm_outcome out;
        assert_int_equal(astrid_wasm_call(i, "_start", NULL, 0, NULL, 0, 10000, &out, &err), 0);
        if (round == 0) {
            assert_non_null(strstr(s.out, "readback=written by guest\n"));
            assert_int_equal(l.peak, 16);
        } else {
            assert_non_null(strstr(s.out, "readback=\n")); /* refused: EDQUOT */
            assert_non_null(strstr(s.out, "stat=ok size=0\n"));
            assert_int_equal(l.peak, 0);
        }
        assert_int_equal(l.used, 0); /* the unlink credited what was charged */
        astrid_wasm_instance_free(i);
        astrid_wasi_free(w);
        char sub[500];
        snprintf(sub, sizeof sub, "%s/sub", data);
        rmdir(sub);
    }
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    free(wasm);
    wt_rm_dir();
}

/* Raw WASI calls, bypassing wasi-libc's own path handling: the host alone
 * must confine paths, and calls it does not implement return ENOSYS. */
static const char *RAW =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $open (param i32 i32 i32 i32 i32 "
    "i64 i64 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_pread\" (func $pread (param i32 i32 i32 i64 i32) "
    "(result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"path_unlink_file\" (func $unlink (param i32 i32 "
    "i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 100) \"../outside.txt\")\n"
    "  (data (i32.const 200) \"link/outside.txt\")\n"
    "  (data (i32.const 300) \"/etc/passwd\")\n"
    "  (data (i32.const 400) \"inside.txt\")\n"
    "  (func (export \"open\") (param i32 i32) (result i32)\n"
    "    (call $open (i32.const 3) (i32.const 1) (local.get 0) (local.get 1) (i32.const 0)\n"
    "      (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8)))\n"
    "  (func (export \"unlink\") (param i32 i32) (result i32)\n"
    "    (call $unlink (i32.const 3) (local.get 0) (local.get 1)))\n"
    "  (func (export \"pread\") (result i32)\n"
    "    (call $pread (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i32.const 0))))\n";

static void raw_calls_are_confined(void **state)
{
    (void)state;
    assert_int_equal(wt_setup_dir(), 0);
    char data[400], outside[400], inside[400], link[400];
    snprintf(data, sizeof data, "%s/data", wt_dir);
    snprintf(outside, sizeof outside, "%s/outside.txt", wt_dir);
    snprintf(inside, sizeof inside, "%s/data/inside.txt", wt_dir);
    snprintf(link, sizeof link, "%s/data/link", wt_dir);
    assert_int_equal(mkdir(data, 0700), 0);
    assert_int_equal(astrid_atomic_write(outside, "secret", 6, 0600, NULL), 0);
    assert_int_equal(astrid_atomic_write(inside, "fine", 4, 0600, NULL), 0);
    assert_int_equal(symlink(wt_dir, link), 0);
    astrid_wasm_engine *e = wt_engine(&astrid_wasi_host_module, 1);
    assert_non_null(e);
    astrid_err err = {0};
    astrid_wasm_module *m = wt_load(e, RAW, &err);
    assert_non_null(m);
    astrid_wasi_preopen pre[] = {{"/data", data}};
    astrid_wasi_config wc = {NULL, 0, NULL, 0, pre, 1, NULL, NULL, NULL, NULL, plain_guard(data)};
    astrid_wasi *w = astrid_wasi_new(&wc, &err);
    assert_non_null(w);
    astrid_wasm_instance_config ic = {.wasi = w};
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, &ic, NULL, &err);
    assert_non_null(i);
    uint64_t a[2], r[1];
    static const struct {
        uint32_t ptr, len;
        int ok;
    } cases[] = {{100, 14, 0}, {200, 16, 0}, {300, 11, 0}, {400, 10, 1}};
    for (size_t k = 0; k < 4; k++) {
        a[0] = cases[k].ptr;
        a[1] = cases[k].len;
        assert_int_equal(astrid_wasm_call(i, "open", a, 2, r, 1, 1000, NULL, &err), 0);
        if (cases[k].ok)
            assert_int_equal(r[0], 0);
        else
            assert_int_not_equal(r[0], 0);
    }
    a[0] = 100;
    a[1] = 14;
    assert_int_equal(astrid_wasm_call(i, "unlink", a, 2, r, 1, 1000, NULL, &err), 0);
    assert_int_not_equal(r[0], 0);
    struct stat st;
    assert_int_equal(stat(outside, &st), 0); /* still there */
    assert_int_equal(astrid_wasm_call(i, "pread", NULL, 0, r, 1, 1000, NULL, &err), 0);
    assert_int_equal(r[0], 52); /* ENOSYS */
    astrid_wasm_instance_free(i);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    wt_rm_dir();
}

/* A preopen whose directory contains $ASTRID_HOME (the `~` layout): the
 * VFS guard refuses every way into it, raw calls included. */
static const char *RAW2 =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $open (param i32 i32 i32 i32 i32 "
    "i64 i64 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"path_create_directory\" (func $mkdir (param i32 "
    "i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"path_rename\" (func $rename (param i32 i32 i32 "
    "i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"path_filestat_get\" (func $stat (param i32 i32 "
    "i32 i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 100) \".astrid/keys/k\")\n"
    "  (data (i32.const 200) \"lk/k\")\n"
    "  (data (i32.const 300) \"dl\")\n"
    "  (data (i32.const 400) \"ok.txt\")\n"
    "  (data (i32.const 500) \".astrid/etc/x\")\n"
    "  (data (i32.const 600) \".astrid/etc/y\")\n"
    "  (data (i32.const 700) \".astrid\")\n"
    "  (data (i32.const 800) \"./.astrid/keys/k\")\n"
    "  (data (i32.const 900) \"sub/../.astrid/keys/k\")\n"
    "  (func (export \"openr\") (param i32 i32) (result i32)\n"
    "    (call $open (i32.const 3) (i32.const 1) (local.get 0) (local.get 1) (i32.const 0)\n"
    "      (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8)))\n"
    "  (func (export \"openw\") (param i32 i32) (result i32)\n"
    "    (call $open (i32.const 3) (i32.const 1) (local.get 0) (local.get 1) (i32.const 9)\n"
    "      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 8)))\n"
    "  (func (export \"mkdir\") (param i32 i32) (result i32)\n"
    "    (call $mkdir (i32.const 3) (local.get 0) (local.get 1)))\n"
    "  (func (export \"rename\") (param i32 i32 i32 i32) (result i32)\n"
    "    (call $rename (i32.const 3) (local.get 0) (local.get 1) (i32.const 3) (local.get 2)\n"
    "      (local.get 3)))\n"
    "  (func (export \"stat\") (param i32 i32) (result i32)\n"
    "    (call $stat (i32.const 3) (i32.const 1) (local.get 0) (local.get 1) (i32.const 1024))))\n";

static void preopen_keeps_kernel_state_out(void **state)
{
    (void)state;
    assert_int_equal(wt_setup_dir(), 0);
    char ws[400], home[400], probe[500];
    snprintf(ws, sizeof ws, "%s/ws", wt_dir);
    snprintf(home, sizeof home, "%s/.astrid", ws);
    char cmd[1500];
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %s/keys %s/etc %s/sub; echo KEY > %s/keys/k; cd %s; "
             "ln -s .astrid/keys lk; ln -s .astrid/etc/new.toml dl",
             home, home, ws, home, ws);
    assert_int_equal(system(cmd), 0);
    astrid_err err = {0};
    /* Preopens without a guard, or of $ASTRID_HOME itself, are refused. */
    astrid_wasi_preopen bad[] = {{"/h", home}};
    astrid_wasi_config nog = {NULL, 0, NULL, 0, bad, 1, NULL, NULL, NULL, NULL, NULL};
    assert_null(astrid_wasi_new(&nog, &err));
    assert_int_equal(err.code, ASTRID_E_PERM);
    astrid_wasi_config inh = {
        NULL, 0, NULL, 0, bad, 1, NULL, NULL, NULL, NULL, guard_for(home, ws)};
    assert_null(astrid_wasi_new(&inh, &err));
    assert_non_null(strstr(err.msg, "kernel-owned state"));

    astrid_wasm_engine *e = wt_engine(&astrid_wasi_host_module, 1);
    assert_non_null(e);
    astrid_wasm_module *m = wt_load(e, RAW2, &err);
    assert_non_null(m);
    astrid_wasi_preopen pre[] = {{"/ws", ws}};
    astrid_wasi_config wc = {NULL, 0, NULL, 0, pre, 1, NULL, NULL, NULL, NULL, guard_for(home, ws)};
    astrid_wasi *w = astrid_wasi_new(&wc, &err);
    assert_non_null(w);
    astrid_wasm_instance_config ic = {.wasi = w};
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, &ic, NULL, &err);
    assert_non_null(i);
    static const struct {
        const char *fn;
        uint32_t ptr, len, ptr2, len2;
        uint64_t want; /* 76 = ENOTCAPABLE; 44 = ENOENT: a dangling link is
                          never created through */
    } cases[] = {
        {"openr", 100, 14, 0, 0, 76}, {"openr", 200, 4, 0, 0, 76},     {"openw", 300, 2, 0, 0, 44},
        {"openr", 800, 16, 0, 0, 76}, {"openr", 900, 21, 0, 0, 76},    {"openr", 700, 7, 0, 0, 76},
        {"stat", 100, 14, 0, 0, 76},  {"stat", 700, 7, 0, 0, 76},      {"mkdir", 500, 13, 0, 0, 76},
        {"openw", 400, 6, 0, 0, 0},   {"rename", 400, 6, 600, 13, 76},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t a[4] = {cases[k].ptr, cases[k].len, cases[k].ptr2, cases[k].len2}, r[1];
        assert_int_equal(
            astrid_wasm_call(i, cases[k].fn, a, cases[k].ptr2 ? 4 : 2, r, 1, 1000, NULL, &err), 0);
        if (r[0] != cases[k].want)
            fail_msg("case %zu (%s @%u): errno %llu, want %llu", k, cases[k].fn, cases[k].ptr,
                     (unsigned long long)r[0], (unsigned long long)cases[k].want);
    }
    struct stat st;
    snprintf(probe, sizeof probe, "%s/etc/new.toml", home);
    assert_int_equal(stat(probe, &st), -1); /* nothing created through the link */
    snprintf(probe, sizeof probe, "%s/etc/x", home);
    assert_int_equal(stat(probe, &st), -1);
    snprintf(probe, sizeof probe, "%s/ok.txt", ws);
    assert_int_equal(stat(probe, &st), 0); /* created, and not renamed away */
    astrid_wasm_instance_free(i);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    wt_rm_dir();
}

/* An imported host function placed in a table by an element segment and
 * called through call_indirect gets its real instance (wasm2c 1.0.32 hands
 * it the address of the import field; w2c_patch.c repairs that). Before the
 * repair the host read past the guest's instance struct: a hostile capsule
 * crashed the daemon. args_sizes_get writes through the instance's memory. */
static const char *INDIRECT =
    "(module\n"
    "  (type $t (func (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"args_sizes_get\" (func $asg (type $t)))\n"
    "  (import \"wasi_snapshot_preview1\" \"environ_sizes_get\" (func $esg (type $t)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (table 3 funcref)\n"
    "  (elem (i32.const 0) $asg $esg $own)\n"
    "  (func $own (type $t) (i32.const 77))\n"
    "  (func (export \"via\") (param i32) (result i32)\n"
    "    (drop (call_indirect (type $t) (i32.const 16) (i32.const 20) (local.get 0)))\n"
    "    (i32.add (i32.load (i32.const 16)) (i32.mul (i32.const 100)\n"
    "      (call_indirect (type $t) (i32.const 24) (i32.const 28) (local.get 0))))))\n";

static void imports_called_through_a_table(void **state)
{
    (void)state;
    assert_int_equal(wt_setup_dir(), 0);
    astrid_wasm_engine *e = wt_engine(&astrid_wasi_host_module, 1);
    assert_non_null(e);
    astrid_err err = {0};
    astrid_wasm_module *m = wt_load(e, INDIRECT, &err);
    assert_non_null(m);
    const char *argv[] = {"probe", "a", "b"};
    astrid_wasi_config wc = {.argv = argv, .argc = 3};
    astrid_wasi *w = astrid_wasi_new(&wc, &err);
    assert_non_null(w);
    astrid_wasm_instance_config ic = {.wasi = w};
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, &ic, NULL, &err);
    assert_non_null(i);
    uint64_t a[1], r[1];
    a[0] = 0; /* args_sizes_get through the table: argc 3, then errno 0 */
    assert_int_equal(astrid_wasm_call(i, "via", a, 1, r, 1, 1000, NULL, &err), 0);
    assert_int_equal(r[0], 3);
    a[0] = 2; /* the module's own function through the same table */
    assert_int_equal(astrid_wasm_call(i, "via", a, 1, r, 1, 1000, NULL, &err), 0);
    assert_int_equal(r[0], 7700 + 3);
    astrid_wasm_instance_free(i);
    astrid_wasi_free(w);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    wt_rm_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wasi_guest_runs_confined), cmocka_unit_test(wasi_file_writes_are_charged),
        cmocka_unit_test(raw_calls_are_confined), cmocka_unit_test(preopen_keeps_kernel_state_out),
        cmocka_unit_test(imports_called_through_a_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
