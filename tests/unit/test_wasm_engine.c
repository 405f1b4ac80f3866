/* WebAssembly engine: AOT + cache, host imports, traps, memory cap,
 * deadlines and many guests on many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "astrid/blake3.h"
#include "wasm_test_util.h"

/* Host functions the test guests import (exported from this binary). */
uint32_t Z_envZ_host_add(void *inst, uint32_t a, uint32_t b);
uint32_t Z_envZ_host_sleep(void *inst, uint32_t ms);
uint32_t Z_envZ_host_add(void *inst, uint32_t a, uint32_t b)
{
    astrid_wasm_host_enter(inst);
    uint32_t r = a + b + *(uint32_t *)astrid_wasm_host_ctx(inst);
    astrid_wasm_host_leave(inst);
    return r;
}

/* Blocks like a slow host call; wakes on the deadline signal (EINTR). */
uint32_t Z_envZ_host_sleep(void *inst, uint32_t ms)
{
    astrid_wasm_host_enter(inst);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && !astrid_wasm_deadline_expired()) {
    }
    astrid_wasm_host_leave(inst);
    return 0;
}

static const astrid_wasm_host_func env_funcs[] = {
    {"host_add", "ii", "i", 0},
    {"host_sleep", "i", "i", 0},
};
static const astrid_wasm_host_module hosts[] = {{"env", env_funcs, 2, 0}};

static astrid_wasm_engine *eng;

static int setup(void **state)
{
    (void)state;
    if (wt_setup_dir() < 0)
        return -1;
    eng = wt_engine(hosts, 1);
    return eng ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    astrid_wasm_engine_free(eng);
    wt_rm_dir();
    return 0;
}

static const char *TRAPS =
    "(module\n"
    "  (import \"env\" \"host_add\" (func $ha (param i32 i32) (result i32)))\n"
    "  (import \"env\" \"host_sleep\" (func $hs (param i32) (result i32)))\n"
    "  (type $v (func)) (type $i (func (result i32)))\n"
    "  (memory (export \"memory\") 1 1000)\n"
    "  (table 2 funcref) (elem (i32.const 0) $ok)\n"
    "  (global $g (export \"g\") (mut i32) (i32.const 7))\n"
    "  (func $ok (result i32) i32.const 42)\n"
    "  (func (export \"add\") (param i32 i32) (result i32) local.get 0 local.get 1 call $ha)\n"
    "  (func (export \"div\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)\n"
    "  (func (export \"unreachable\") unreachable)\n"
    "  (func (export \"oob_read\") (result i32) i32.const 0x7fffffff i32.load)\n"
    "  (func (export \"oob_write\") i32.const 65536 i32.const 1 i32.store)\n"
    "  (func (export \"call\") (param i32) (result i32) local.get 0 call_indirect (type $i))\n"
    "  (func (export \"call_wrong_type\") i32.const 0 call_indirect (type $v))\n"
    "  (func $rec (export \"recurse\") (param i32) (result i32)\n"
    "    local.get 0 i32.const 1 i32.add call $rec)\n"
    "  (func (export \"grow\") (param i32) (result i32) local.get 0 memory.grow)\n"
    "  (func (export \"spin\") (loop br 0))\n"
    "  (func (export \"sleep\") (param i32) (result i32) local.get 0 call $hs)\n"
    "  (func (export \"trunc\") (param f64) (result i32) local.get 0 i32.trunc_f64_s)\n"
    "  (func (export \"fadd\") (param f32 f64) (result f64)\n"
    "    local.get 0 f64.promote_f32 local.get 1 f64.add)\n"
    "  (func (export \"pair\") (result i32 i64) i32.const 1 i64.const -2)\n"
    ")\n";

static astrid_wasm_module *traps_mod;

static astrid_wasm_instance *inst_new(uint32_t *ctx, uint64_t cap)
{
    astrid_wasm_instance_config cfg = {.max_memory_bytes = cap, .host_ctx = ctx};
    astrid_err err = {0};
    astrid_wasm_instance *i = astrid_wasm_instantiate(traps_mod, &cfg, NULL, &err);
    if (!i)
        fprintf(stderr, "instantiate: %s\n", err.msg);
    return i;
}

static void load_and_call(void **state)
{
    (void)state;
    astrid_err err = {0};
    int hit = -1;
    size_t len = 0;
    uint8_t *w = wt_wat(TRAPS, 0, &len);
    assert_non_null(w);
    traps_mod = astrid_wasm_module_load(eng, w, len, NULL, &hit, &err);
    if (!traps_mod)
        fprintf(stderr, "load: %s\n", err.msg);
    assert_non_null(traps_mod);
    assert_int_equal(hit, 0);
    uint32_t ctx = 100;
    astrid_wasm_instance *i = inst_new(&ctx, 0);
    assert_non_null(i);
    uint64_t args[2] = {2, 3}, res[2] = {0};
    assert_int_equal(astrid_wasm_call(i, "add", args, 2, res, 1, 1000, NULL, &err), 0);
    assert_int_equal(res[0], 105);
    /* floats travel as bit patterns */
    float f = 1.5f;
    double d = 2.25, r;
    uint32_t fb;
    memcpy(&fb, &f, 4);
    args[0] = fb;
    memcpy(&args[1], &d, 8);
    assert_int_equal(astrid_wasm_call(i, "fadd", args, 2, res, 1, 0, NULL, &err), 0);
    memcpy(&r, &res[0], 8);
    assert_true(r == 3.75);
    assert_int_equal(astrid_wasm_call(i, "pair", NULL, 0, res, 2, 0, NULL, &err), 0);
    assert_int_equal(res[0], 1);
    assert_int_equal((int64_t)res[1], -2);
    uint64_t g;
    char gt;
    assert_int_equal(astrid_wasm_global_get(i, "g", &g, &gt), 0);
    assert_int_equal(g, 7);
    /* wrong arity is a clean error */
    assert_int_equal(astrid_wasm_call(i, "add", args, 1, res, 1, 0, NULL, &err), -1);
    assert_int_equal(astrid_wasm_call(i, "nope", NULL, 0, NULL, 0, 0, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    astrid_wasm_instance_free(i);

    /* A second engine on the same cache dir reuses the compiled object. */
    astrid_wasm_engine *e2 = wt_engine(hosts, 1);
    assert_non_null(e2);
    astrid_wasm_module *m2 = astrid_wasm_module_load(e2, w, len, NULL, &hit, &err);
    assert_non_null(m2);
    assert_int_equal(hit, 1);
    assert_string_equal(astrid_wasm_module_key(m2), astrid_wasm_module_key(traps_mod));
    astrid_wasm_module_free(m2);
    astrid_wasm_engine_free(e2);
    free(w);
}

static void expect_trap(astrid_wasm_instance *i, const char *fn, const uint64_t *args, size_t n,
                        size_t nres, astrid_wasm_trap_kind want, const char *words)
{
    astrid_err err = {0};
    astrid_wasm_outcome out;
    uint64_t res[2];
    assert_int_equal(astrid_wasm_call(i, fn, args, n, res, nres, 5000, &out, &err), -1);
    assert_int_equal(out.trap, want);
    assert_non_null(strstr(err.msg, words));
}

static void traps_are_contained(void **state)
{
    (void)state;
    uint32_t ctx = 0;
    astrid_wasm_instance *i = inst_new(&ctx, 0);
    assert_non_null(i);
    uint64_t a[2] = {1, 0};
    expect_trap(i, "div", a, 2, 1, ASTRID_WASM_TRAP_DIV_BY_ZERO, "divide by zero");
    a[0] = 0x80000000u;
    a[1] = 0xffffffffu;
    expect_trap(i, "div", a, 2, 1, ASTRID_WASM_TRAP_INT_OVERFLOW, "overflow");
    expect_trap(i, "unreachable", NULL, 0, 0, ASTRID_WASM_TRAP_UNREACHABLE, "unreachable");
    expect_trap(i, "oob_read", NULL, 0, 1, ASTRID_WASM_TRAP_OOB, "out of bounds");
    expect_trap(i, "oob_write", NULL, 0, 0, ASTRID_WASM_TRAP_OOB, "out of bounds");
    a[0] = 1; /* null slot */
    expect_trap(i, "call", a, 1, 1, ASTRID_WASM_TRAP_CALL_INDIRECT, "indirect call");
    a[0] = 5; /* out of table */
    expect_trap(i, "call", a, 1, 1, ASTRID_WASM_TRAP_CALL_INDIRECT, "indirect call");
    expect_trap(i, "call_wrong_type", NULL, 0, 0, ASTRID_WASM_TRAP_CALL_INDIRECT, "signature");
    a[0] = 0;
    expect_trap(i, "recurse", a, 1, 1, ASTRID_WASM_TRAP_EXHAUSTION, "stack exhausted");
    double nan = 0.0 / 0.0;
    memcpy(&a[0], &nan, 8);
    expect_trap(i, "trunc", a, 1, 1, ASTRID_WASM_TRAP_INVALID_CONVERSION, "conversion");
    /* the same instance still works after every trap */
    uint64_t res[1];
    astrid_err err = {0};
    a[0] = 0;
    assert_int_equal(astrid_wasm_call(i, "call", a, 1, res, 1, 0, NULL, &err), 0);
    assert_int_equal(res[0], 42);
    astrid_wasm_instance_free(i);
}

static void memory_is_capped(void **state)
{
    (void)state;
    uint32_t ctx = 0;
    astrid_wasm_instance *i = inst_new(&ctx, 4 * 65536);
    assert_non_null(i);
    uint64_t a[1] = {3}, r[1];
    astrid_err err = {0};
    assert_int_equal(astrid_wasm_call(i, "grow", a, 1, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 1);
    a[0] = 1;
    assert_int_equal(astrid_wasm_call(i, "grow", a, 1, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 0xffffffffu);
    astrid_wasm_instance_free(i);
    /* initial memory above the cap fails instantiation */
    astrid_wasm_module *big = wt_load(eng, "(module (memory 20))", &err);
    assert_non_null(big);
    astrid_wasm_instance_config cfg = {.max_memory_bytes = 16 * 65536};
    astrid_wasm_outcome out;
    assert_null(astrid_wasm_instantiate(big, &cfg, &out, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_int_equal(out.trap, ASTRID_WASM_TRAP_MEMORY_LIMIT);
    cfg.max_memory_bytes = 0; /* default 64 MiB fits */
    astrid_wasm_instance *ok = astrid_wasm_instantiate(big, &cfg, NULL, &err);
    assert_non_null(ok);
    astrid_wasm_instance_free(ok);
    astrid_wasm_module_free(big);
}

static void deadline_stops_loops_and_host_calls(void **state)
{
    (void)state;
    uint32_t ctx = 0;
    astrid_wasm_instance *i = inst_new(&ctx, 0);
    assert_non_null(i);
    astrid_err err = {0};
    astrid_wasm_outcome out;
    assert_int_equal(astrid_wasm_call(i, "spin", NULL, 0, NULL, 0, 100, &out, &err), -1);
    assert_int_equal(out.trap, ASTRID_WASM_TRAP_DEADLINE);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_non_null(strstr(err.msg, "deadline"));
    uint64_t a[1] = {60000}, r[1];
    assert_int_equal(astrid_wasm_call(i, "sleep", a, 1, r, 1, 100, &out, &err), -1);
    assert_int_equal(out.trap, ASTRID_WASM_TRAP_DEADLINE);
    a[0] = 1;
    assert_int_equal(astrid_wasm_call(i, "sleep", a, 1, r, 1, 5000, &out, &err), 0);
    astrid_wasm_instance_free(i);
}

static void *interrupt_later(void *arg)
{
    usleep(150000);
    astrid_wasm_instance_interrupt(arg);
    return NULL;
}

/* A run loop's call has no deadline (ASTRID_WASM_FOREVER) yet stops when
 * another thread interrupts it; an interrupted instance stays stopped. */
static void interrupt_stops_a_forever_call(void **state)
{
    (void)state;
    uint32_t ctx = 0;
    astrid_wasm_instance *i = inst_new(&ctx, 0);
    assert_non_null(i);
    assert_false(astrid_wasm_instance_interrupted(i));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, i), 0);
    astrid_err err = {0};
    astrid_wasm_outcome out;
    assert_int_equal(astrid_wasm_call(i, "spin", NULL, 0, NULL, 0, ASTRID_WASM_FOREVER, &out, &err),
                     -1);
    pthread_join(t, NULL);
    assert_int_equal(out.trap, ASTRID_WASM_TRAP_DEADLINE);
    assert_true(astrid_wasm_instance_interrupted(i));
    assert_int_equal(astrid_wasm_call(i, "spin", NULL, 0, NULL, 0, ASTRID_WASM_FOREVER, &out, &err),
                     -1);
    astrid_wasm_instance_free(i);
}

static void export_aliases_share_an_index(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *w = wt_wat("(module (func $f) (func $g) (export \"astrid-install\" (func $f))"
                        " (export \"run\" (func $f)) (export \"other\" (func $g)))",
                        0, &len);
    assert_non_null(w);
    astrid_err err;
    astrid_wasm_module *m = astrid_wasm_module_load(eng, w, len, NULL, NULL, &err);
    assert_non_null(m);
    uint32_t a, b, c;
    assert_int_equal(astrid_wasm_export_func_index(m, "run", &a), 0);
    assert_int_equal(astrid_wasm_export_func_index(m, "astrid-install", &b), 0);
    assert_int_equal(astrid_wasm_export_func_index(m, "other", &c), 0);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_equal(astrid_wasm_export_func_index(m, "missing", &c), -1);
    astrid_wasm_module_free(m);
    free(w);
}

#define NTHREADS 4
#define ROUNDS 40

static int worker_ids[NTHREADS];
static long worker_bad[NTHREADS];

static void *worker(void *arg)
{
    int id = *(const int *)arg;
    uint32_t ctx = (uint32_t)id;
    long bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        astrid_wasm_instance *i = inst_new(&ctx, 0);
        if (!i) {
            worker_bad[id] = 1;
            return NULL;
        }
        astrid_err err = {0};
        astrid_wasm_outcome out;
        uint64_t a[2], r[1];
        switch ((k + id) % 4) {
        case 0:
            a[0] = (uint64_t)k;
            a[1] = 1000;
            bad += astrid_wasm_call(i, "add", a, 2, r, 1, 0, &out, &err) != 0 ||
                   r[0] != (uint64_t)k + 1000 + ctx;
            break;
        case 1:
            a[0] = 1;
            a[1] = 0;
            bad += astrid_wasm_call(i, "div", a, 2, r, 1, 0, &out, &err) != -1 ||
                   out.trap != ASTRID_WASM_TRAP_DIV_BY_ZERO;
            break;
        case 2:
            bad += astrid_wasm_call(i, "oob_read", NULL, 0, r, 1, 0, &out, &err) != -1 ||
                   out.trap != ASTRID_WASM_TRAP_OOB;
            break;
        default:
            a[0] = 0;
            bad += astrid_wasm_call(i, "recurse", a, 1, r, 1, 0, &out, &err) != -1 ||
                   out.trap != ASTRID_WASM_TRAP_EXHAUSTION;
            break;
        }
        astrid_wasm_instance_free(i);
    }
    worker_bad[id] = bad;
    return NULL;
}

static void threads_trap_independently(void **state)
{
    (void)state;
    pthread_t th[NTHREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 4u << 20);
    for (int t = 0; t < NTHREADS; t++) {
        worker_ids[t] = t;
        assert_int_equal(pthread_create(&th[t], &attr, worker, &worker_ids[t]), 0);
    }
    pthread_attr_destroy(&attr);
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(worker_bad[t], 0);
    }
}

static void bad_modules_are_errors(void **state)
{
    (void)state;
    astrid_err err = {0};
    assert_null(wt_load(eng, "(module (import \"env\" \"nope\" (func)))", &err));
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "'env'.'nope'"));
    assert_null(wt_load(eng, "(module (import \"env\" \"host_add\" (func (param i64))))", &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
    /* a name that would close wasm2c's comment is refused before compiling */
    assert_null(wt_load(eng, "(module (func (export \"a*/ int x; /*\")))", &err));
    assert_int_equal(err.code, ASTRID_E_UNSUPPORTED);
    /* invalid body: wasm2c's validation rejects it, reported, not fatal */
    assert_null(wt_load(eng, "(module (func (result i32) i64.const 1))", &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
    static const uint8_t junk[] = {0, 'a', 's', 'm', 9, 0, 0, 0};
    assert_null(astrid_wasm_module_load(eng, junk, sizeof junk, NULL, NULL, &err));
    assert_int_equal(err.code, ASTRID_E_PARSE);
}

static void instances_do_not_share_state(void **state)
{
    (void)state;
    astrid_err err = {0};
    astrid_wasm_module *m = wt_load(eng,
                                    "(module (memory 1) (global $g (export \"g\") (mut i32) "
                                    "(i32.const 1))"
                                    "  (func (export \"poke\") (param i32)"
                                    "    (global.set $g (local.get 0)) (i32.store (i32.const 8) "
                                    "(local.get 0)))"
                                    "  (func (export \"peek\") (result i32) (i32.load (i32.const "
                                    "8))))",
                                    &err);
    assert_non_null(m);
    astrid_wasm_instance *a = astrid_wasm_instantiate(m, NULL, NULL, &err);
    astrid_wasm_instance *b = astrid_wasm_instantiate(m, NULL, NULL, &err);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t v[1] = {99}, r[1] = {0};
    char t;
    assert_int_equal(astrid_wasm_call(a, "poke", v, 1, NULL, 0, 0, NULL, &err), 0);
    assert_int_equal(astrid_wasm_call(b, "peek", NULL, 0, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 0);
    assert_int_equal(astrid_wasm_global_get(b, "g", &r[0], &t), 0);
    assert_int_equal(r[0], 1);
    assert_int_equal(astrid_wasm_call(a, "peek", NULL, 0, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 99);
    astrid_wasm_instance_free(a);
    /* a fresh instance after one was used starts clean too */
    a = astrid_wasm_instantiate(m, NULL, NULL, &err);
    assert_non_null(a);
    assert_int_equal(astrid_wasm_call(a, "peek", NULL, 0, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 0);
    astrid_wasm_instance_free(a);
    astrid_wasm_instance_free(b);
    astrid_wasm_module_free(m);
}

static void count_stage(void *user, astrid_wasm_stage stage, const char *what)
{
    (void)what;
    ((int *)user)[stage]++;
}

static void progress_and_cache_modes(void **state)
{
    (void)state;
    astrid_err err = {0};
    size_t len = 0;
    uint8_t *w = wt_wat("(module (func (export \"p\") (result i32) i32.const 5))", 0, &len);
    assert_non_null(w);
    int stages[4] = {0}, hit = -1;
    astrid_wasm_load_opts o = {.progress = count_stage, .progress_user = stages};
    astrid_wasm_module *m = astrid_wasm_module_load(eng, w, len, &o, &hit, &err);
    assert_non_null(m);
    assert_int_equal(hit, 0);
    assert_int_equal(stages[ASTRID_WASM_STAGE_VALIDATE], 1);
    assert_int_equal(stages[ASTRID_WASM_STAGE_TRANSLATE], 1);
    assert_int_equal(stages[ASTRID_WASM_STAGE_COMPILE], 1);
    assert_int_equal(stages[ASTRID_WASM_STAGE_CACHED], 1);
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/aot/%s.so", wt_dir, astrid_wasm_module_key(m));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* the sidecar records the key and the BLAKE3 of the shared object */
    char *so = NULL, *meta = NULL, want[200], hex[65];
    size_t solen = 0, metalen = 0;
    assert_int_equal(astrid_read_file(path, 1u << 30, &so, &solen, &err), 0);
    astrid_blake3_hex(so, solen, hex);
    snprintf(path, sizeof path, "%s/aot/%s.meta", wt_dir, astrid_wasm_module_key(m));
    assert_int_equal(astrid_read_file(path, 4096, &meta, &metalen, &err), 0);
    snprintf(want, sizeof want, "astrid-aot 1\nkey %s\nso %s\n", astrid_wasm_module_key(m), hex);
    assert_string_equal(meta, want);
    free(so);
    free(meta);
    snprintf(path, sizeof path, "%s/aot", wt_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    astrid_wasm_module_free(m);
    memset(stages, 0, sizeof stages);
    m = astrid_wasm_module_load(eng, w, len, &o, &hit, &err);
    assert_non_null(m);
    assert_int_equal(hit, 1);
    assert_int_equal(stages[ASTRID_WASM_STAGE_COMPILE], 0); /* no compiler run */
    astrid_wasm_module_free(m);
    free(w);
}

static void corrupt_cache_is_rebuilt(void **state)
{
    (void)state;
    const char *src = "(module (func (export \"f\") (result i32) i32.const 9))";
    astrid_err err = {0};
    size_t len = 0;
    uint8_t *w = wt_wat(src, 0, &len);
    int hit;
    astrid_wasm_module *m = astrid_wasm_module_load(eng, w, len, NULL, &hit, &err);
    assert_non_null(m);
    char so[400], meta[400];
    snprintf(so, sizeof so, "%s/aot/%s.so", wt_dir, astrid_wasm_module_key(m));
    snprintf(meta, sizeof meta, "%s/aot/%s.meta", wt_dir, astrid_wasm_module_key(m));
    astrid_wasm_module_free(m);
    /* flip a byte in the shared object */
    FILE *f = fopen(so, "r+b");
    assert_non_null(f);
    fseek(f, 100, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(c ^ 0xff, f);
    fclose(f);
    m = astrid_wasm_module_load(eng, w, len, NULL, &hit, &err);
    assert_non_null(m);
    assert_int_equal(hit, 0);
    astrid_wasm_module_free(m);
    /* a sidecar naming another key */
    assert_int_equal(astrid_atomic_write(meta, "astrid-aot 1\nkey 00\nso 00\n", 26, 0600, &err), 0);
    m = astrid_wasm_module_load(eng, w, len, NULL, &hit, &err);
    assert_non_null(m);
    assert_int_equal(hit, 0);
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, NULL, NULL, &err);
    uint64_t r[1];
    assert_int_equal(astrid_wasm_call(i, "f", NULL, 0, r, 1, 0, NULL, &err), 0);
    assert_int_equal(r[0], 9);
    astrid_wasm_instance_free(i);
    astrid_wasm_module_free(m);
    free(w);
}

static void cleanup_module(void **state)
{
    (void)state;
    astrid_wasm_module_free(traps_mod);
    traps_mod = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_and_call),
        cmocka_unit_test(traps_are_contained),
        cmocka_unit_test(memory_is_capped),
        cmocka_unit_test(deadline_stops_loops_and_host_calls),
        cmocka_unit_test(interrupt_stops_a_forever_call),
        cmocka_unit_test(export_aliases_share_an_index),
        cmocka_unit_test(threads_trap_independently),
        cmocka_unit_test(bad_modules_are_errors),
        cmocka_unit_test(instances_do_not_share_state),
        cmocka_unit_test(progress_and_cache_modes),
        cmocka_unit_test(corrupt_cache_is_rebuilt),
        cmocka_unit_test(cleanup_module),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
