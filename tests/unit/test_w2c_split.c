/* Splitting wasm2c output into parallel translation units (w2c_split.c):
 * a module of many functions that call each other, through tables, passive
 * segments and a host import compiles split and behaves as unsplit; the
 * cross-part symbols stay hidden; unknown shapes are declined; cache keys do
 * not depend on the split or the core count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "capsule/wasm/w2c_split.h"
#include "wasm_test_util.h"

uint32_t Z_envZ_host_add(void *inst, uint32_t a, uint32_t b);
uint32_t Z_envZ_host_add(void *inst, uint32_t a, uint32_t b)
{
    astrid_wasm_host_enter(inst);
    uint32_t r = a + b + *(uint32_t *)astrid_wasm_host_ctx(inst);
    astrid_wasm_host_leave(inst);
    return r;
}

static const astrid_wasm_host_func env_funcs[] = {{"host_add", "ii", "i", 0}};
static const astrid_wasm_host_module hosts[] = {{"env", env_funcs, 1, 0}};

#define NFUNCS 400

static astrid_wasm_engine *engine(const char *sub, int parts, int jobs)
{
    char cache[300];
    snprintf(cache, sizeof cache, "%s/%s", wt_dir, sub);
    astrid_wasm_engine_config cfg = {.cache_dir = cache,
                                     .opt_level = 1,
                                     .host_modules = hosts,
                                     .nhost_modules = 1,
                                     .aot_parts = parts,
                                     .aot_jobs = jobs};
    astrid_err err = {0};
    astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
    if (!e)
        fprintf(stderr, "engine: %s\n", err.msg);
    return e;
}

/* NFUNCS functions: $f<i> = $f<i-1>(x) * 3 + i, so a call of the last one
 * walks every part; a table of all of them (call_indirect from anywhere),
 * a passive data and element segment used from the last function, a global
 * bumped by the start function, the host import called through the table. */
static uint8_t *many_funcs_wasm(size_t *len)
{
    size_t cap = 64u << 10, n = 0;
    char *w = malloc(cap);
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int k_ = snprintf(w + n, cap - n, __VA_ARGS__);                                            \
        if (n + (size_t)k_ >= cap) {                                                               \
            cap = (cap + (size_t)k_) * 2;                                                          \
            char *w2_ = realloc(w, cap);                                                           \
            assert_non_null(w2_);                                                                  \
            w = w2_;                                                                               \
            k_ = snprintf(w + n, cap - n, __VA_ARGS__);                                            \
        }                                                                                          \
        n += (size_t)k_;                                                                           \
    } while (0)
    EMIT("(module (type $t (func (param i32) (result i32)))\n"
         "(import \"env\" \"host_add\" (func $h (param i32 i32) (result i32)))\n"
         "(memory (export \"memory\") 1) (global $g (mut i32) (i32.const 7))\n"
         "(table $tb %d funcref) (data $d \"split\") (elem $e func $f1 $f2)\n"
         "(func $hw (type $t) local.get 0 i32.const 1 call $h)\n"
         "(elem (i32.const 0) $hw",
         NFUNCS + 4);
    for (int i = 1; i < NFUNCS; i++)
        EMIT(" $f%d", i);
    EMIT(")\n(func $f0 (type $t) local.get 0)\n");
    for (int i = 1; i < NFUNCS; i++)
        EMIT("(func $f%d (type $t) local.get 0 call $f%d i32.const 3 i32.mul i32.const %d "
             "i32.add)\n",
             i, i - 1, i);
    EMIT("(func (export \"chain\") (param i32) (result i32) local.get 0 call $f%d)\n"
         "(func (export \"ind\") (param i32 i32) (result i32) local.get 1 local.get 0 "
         "call_indirect (type $t))\n"
         "(func (export \"seg\") (result i32) i32.const 100 i32.const 0 i32.const 5 memory.init $d "
         "i32.const %d i32.const 0 i32.const 2 table.init $e "
         "i32.const 100 i32.load i32.const 5 i32.const %d call_indirect (type $t) i32.add)\n"
         "(func (export \"g\") (result i32) global.get $g)\n"
         "(func $st global.get $g i32.const 35 i32.add global.set $g) (start $st))\n",
         NFUNCS - 1, NFUNCS, NFUNCS + 1);
#undef EMIT
    uint8_t *r = wt_wat(w, 0, len);
    free(w);
    return r;
}

static uint32_t expect_chain(uint32_t x, int upto)
{
    for (int i = 1; i <= upto; i++)
        x = x * 3 + (uint32_t)i;
    return x;
}

static char compile_what[300];

static void on_stage(void *user, astrid_wasm_stage stage, const char *what)
{
    (void)user;
    if (stage == ASTRID_WASM_STAGE_COMPILE)
        snprintf(compile_what, sizeof compile_what, "%s", what ? what : "");
}

static uint64_t call1(astrid_wasm_instance *in, const char *fn, uint64_t *args, size_t nargs)
{
    uint64_t r[1] = {0};
    astrid_err err = {0};
    int rc = astrid_wasm_call(in, fn, args, nargs, r, 1, 10000, NULL, &err);
    if (rc != 0)
        fail_msg("%s: %s", fn, err.msg);
    return r[0];
}

/* Split in 4 and unsplit give the same results for every kind of
 * cross-function reference; the split one really was compiled in parts. */
static void split_behaves_as_unsplit(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *w = many_funcs_wasm(&len);
    assert_non_null(w);
    astrid_wasm_engine *one = engine("one", 1, 0), *four = engine("four", 4, 2);
    assert_non_null(one);
    assert_non_null(four);
    astrid_wasm_engine *es[2] = {one, four};
    const char *want_what[2] = {"cc", "cc in 4 parts"};
    uint32_t ctx = 1000;
    astrid_wasm_instance_config ic = {.host_ctx = &ctx};
    for (int k = 0; k < 2; k++) {
        astrid_err err = {0};
        astrid_wasm_load_opts o = {.progress = on_stage};
        compile_what[0] = 0;
        astrid_wasm_module *m = astrid_wasm_module_load(es[k], w, len, &o, NULL, &err);
        if (!m)
            fail_msg("load: %s", err.msg);
        assert_string_equal(compile_what, want_what[k]);
        astrid_wasm_instance *in = astrid_wasm_instantiate(m, &ic, NULL, &err);
        if (!in)
            fail_msg("instantiate: %s", err.msg);
        uint64_t a[2] = {5, 0};
        assert_int_equal(call1(in, "chain", a, 1), expect_chain(5, NFUNCS - 1));
        for (uint32_t idx = 1; idx < NFUNCS; idx += 37) {
            uint64_t b[2] = {idx, 9};
            assert_int_equal(call1(in, "ind", b, 2), expect_chain(9, (int)idx));
        }
        uint64_t h[2] = {0, 9}; /* the host import through the table */
        assert_int_equal(call1(in, "ind", h, 2), 9 + 1 + 1000);
        assert_int_equal(call1(in, "seg", NULL, 0), (uint32_t)(0x696c7073u + expect_chain(5, 2)));
        assert_int_equal(call1(in, "g", NULL, 0), 42);
        astrid_wasm_instance_free(in);
        astrid_wasm_module_free(m);
    }
    astrid_wasm_engine_free(one);
    astrid_wasm_engine_free(four);
    free(w);
}

/* What crosses parts is hidden: another module (or the host) cannot bind
 * to a guest function or func_types of this one. */
static void cross_part_symbols_hidden(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *w = many_funcs_wasm(&len);
    assert_non_null(w);
    astrid_wasm_engine *e = engine("hidden", 3, 0);
    astrid_err err = {0};
    compile_what[0] = 0;
    astrid_wasm_load_opts o = {.progress = on_stage};
    astrid_wasm_module *m = astrid_wasm_module_load(e, w, len, &o, NULL, &err);
    assert_non_null(m);
    assert_string_equal(compile_what, "cc in 3 parts");
    char so[400];
    snprintf(so, sizeof so, "%s/hidden/%s.so", wt_dir, astrid_wasm_module_key(m));
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(dl);
    assert_non_null(dlsym(dl, "astrid_glue_abi"));
    assert_null(dlsym(dl, "w2c_f1"));
    assert_null(dlsym(dl, "w2c_f399"));
    assert_null(dlsym(dl, "func_types"));
    assert_null(dlsym(dl, "data_segment_data_w2c_d0"));
    dlclose(dl);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    free(w);
}

/* The key names the module and toolchain only: not the number of parts,
 * the compilers at once, or the machine's cores; and it is stable. */
static void key_ignores_split_and_cores(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *w = wt_wat("(module (func (export \"f\") (result i32) i32.const 1))", 0, &len);
    assert_non_null(w);
    const struct {
        const char *sub;
        int parts, jobs;
    } cfgs[] = {{"k1", 1, 1}, {"k2", 0, 0}, {"k3", 5, 3}, {"k4", 0, 7}};
    char first[80] = "";
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        for (int rep = 0; rep < 2; rep++) {
            astrid_wasm_engine *e = engine(cfgs[i].sub, cfgs[i].parts, cfgs[i].jobs);
            astrid_err err = {0};
            int hit = -1;
            astrid_wasm_module *m = astrid_wasm_module_load(e, w, len, NULL, &hit, &err);
            assert_non_null(m);
            assert_int_equal(hit, rep); /* compiled once, then from the cache */
            if (!first[0])
                snprintf(first, sizeof first, "%s", astrid_wasm_module_key(m));
            assert_string_equal(astrid_wasm_module_key(m), first);
            astrid_wasm_module_free(m);
            astrid_wasm_engine_free(e);
        }
    }
    free(w);
}

/* Compilers into one cache share its slots: with the only slot held by
 * someone else (another install's cc), a compile waits instead of adding a
 * process, and gives up at its deadline naming why; once the slot is free
 * it runs. */
static void compile_waits_for_slot(void **state)
{
    (void)state;
    char cache[300], slot[400];
    snprintf(cache, sizeof cache, "%s/slots", wt_dir);
    astrid_wasm_engine_config cfg = {.cache_dir = cache,
                                     .opt_level = 1,
                                     .host_modules = hosts,
                                     .nhost_modules = 1,
                                     .aot_jobs = 1,
                                     .compile_timeout_ms = 1500};
    astrid_err err = {0};
    astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
    assert_non_null(e);
    snprintf(slot, sizeof slot, "%s/tmp/slot-0", cache);
    int fd = open(slot, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    size_t len = 0;
    uint8_t *w = wt_wat("(module (func (export \"f\") (result i32) i32.const 2))", 0, &len);
    assert_non_null(w);
    astrid_wasm_module *m = astrid_wasm_module_load(e, w, len, NULL, NULL, &err);
    assert_null(m);
    assert_non_null(strstr(err.msg, "no compiler slot free"));
    close(fd);
    /* another engine on the same cache (default deadline: a loaded machine
     * may need more than the short one for the compile itself) */
    astrid_wasm_engine_free(e);
    cfg.compile_timeout_ms = 0;
    e = astrid_wasm_engine_new(&cfg, &err);
    assert_non_null(e);
    m = astrid_wasm_module_load(e, w, len, NULL, NULL, &err);
    if (!m)
        fail_msg("after the slot is free: %s", err.msg);
    astrid_wasm_module_free(m);
    astrid_wasm_engine_free(e);
    free(w);
}

/* ---- the splitter on text shaped like wasm2c's output ---- */

static const char shape_head[] = "#include <stdbool.h>\n"
                                 "typedef unsigned u32;\n"
                                 "static inline u32 helper(u32 x) {\n  return x + 1;\n}\n";
static const char shape_tail[] =
    "static bool s_module_initialized = false;\n"
    "\n"
    "static u32 func_types[1];\n"
    "\n"
    "static void init_func_types(void) {\n"
    "  func_types[0] = 1;\n"
    "}\n"
    "\n"
    "static u32 w2c_a(u32);\n"
    "static u32 w2c_b(u32);\n"
    "\n"
    "static const u32 data_segment_data_w2c_d0[] = {\n"
    "  1, 2,\n"
    "};\n"
    "\n"
    "static u32 w2c_a(u32 x) {\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  return w2c_b(x) + func_types[0];\n"
    "}\n"
    "\n"
    "static u32 w2c_b(u32 x) {\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  return helper(x) + data_segment_data_w2c_d0[1] + BODY;\n"
    "}\n"
    "\n"
    "u32 Z_mZ_a(u32 x) {\n"
    "  return w2c_a(x);\n"
    "}\n";

/* Write a shaped module.c into a fresh dir; `extra_head` goes into the
 * prelude, `body` replaces BODY in w2c_b; returns the split's result. */
static int split_text(const char *sub, const char *extra_head, const char *body, const char *swap)
{
    char dir[400], p[500], text[8192];
    snprintf(dir, sizeof dir, "%s/%s", wt_dir, sub);
    assert_int_equal(astrid_mkdir_p(dir, 0700, 0, NULL), 0);
    char tail[4096];
    snprintf(tail, sizeof tail, "%s", shape_tail);
    if (swap) { /* definitions out of declaration order */
        char *a = strstr(tail, "static u32 w2c_a(u32 x) {");
        char *b = strstr(tail, "static u32 w2c_b(u32 x) {");
        char *z = strstr(tail, "u32 Z_mZ_a");
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%.*s%.*s%.*s%s", (int)(a - tail), tail, (int)(z - b), b,
                 (int)(b - a), a, z);
        snprintf(tail, sizeof tail, "%s", tmp);
    }
    char *at = strstr(tail, "BODY");
    snprintf(text, sizeof text, "%s%s%.*s%s%s", shape_head, extra_head, (int)(at - tail), tail,
             body, at + 4);
    snprintf(p, sizeof p, "%s/module.c", dir);
    assert_int_equal(astrid_atomic_write(p, text, strlen(text), 0600, NULL), 0);
    astrid_err err = {0};
    return astrid_w2c_split(dir, 2, 0, &err);
}

static int exists(const char *sub, const char *name)
{
    char p[500];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s/%s", wt_dir, sub, name);
    return stat(p, &st) == 0;
}

static void splitter_shapes(void **state)
{
    (void)state;
    /* the expected shape splits: b moves to part 1, hidden, and part 1
     * sees the shared objects as extern */
    assert_int_equal(split_text("s_ok", "", "0", NULL), 2);
    char p[500], *t = NULL;
    size_t n = 0;
    snprintf(p, sizeof p, "%s/s_ok/module_1.c", wt_dir);
    assert_int_equal(astrid_read_file(p, 1 << 20, &t, &n, NULL), 0);
    assert_non_null(strstr(t, "ASTRID_W2C_SHARED u32 w2c_b(u32 x) {"));
    assert_non_null(strstr(t, "extern ASTRID_W2C_SHARED u32 func_types[1];"));
    assert_non_null(strstr(t, "extern ASTRID_W2C_SHARED const u32 data_segment_data_w2c_d0[];"));
    assert_null(strstr(t, "w2c_a("));
    assert_null(strstr(t, "s_module_initialized"));
    free(t);
    snprintf(p, sizeof p, "%s/s_ok/module_0.c", wt_dir);
    assert_int_equal(astrid_read_file(p, 1 << 20, &t, &n, NULL), 0);
    assert_null(strstr(t, "w2c_b(u32 x) {"));
    /* a is named by part 0 only: it stays static (inlinable, droppable);
     * b, which a calls from part 0, is shared */
    assert_non_null(strstr(t, "static u32 w2c_a(u32 x) {"));
    assert_non_null(strstr(t, "ASTRID_W2C_SHARED u32 w2c_b(u32);"));
    assert_non_null(strstr(t, "ASTRID_W2C_SHARED const u32 data_segment_data_w2c_d0[] = {"));
    free(t);
    /* a body naming a static that stays in part 0 would not link: declined */
    assert_int_equal(split_text("s_guard", "", "(s_module_initialized ? 1 : 0)", NULL), 1);
    assert_false(exists("s_guard", "module_0.c"));
    /* state in the prelude would be duplicated per part: declined */
    assert_int_equal(split_text("s_state", "static u32 counter;\n", "0", NULL), 1);
    assert_false(exists("s_state", "module_0.c"));
    /* definitions not in declaration order: not the known shape */
    assert_int_equal(split_text("s_order", "", "0", "swap"), 1);
    assert_false(exists("s_order", "module_0.c"));
    /* no marker at all */
    char dir[400];
    snprintf(dir, sizeof dir, "%s/s_none", wt_dir);
    assert_int_equal(astrid_mkdir_p(dir, 0700, 0, NULL), 0);
    snprintf(p, sizeof p, "%s/module.c", dir);
    assert_int_equal(astrid_atomic_write(p, "int x;\n", 7, 0600, NULL), 0);
    astrid_err err = {0};
    assert_int_equal(astrid_w2c_split(dir, 4, 0, &err), 1);
    assert_false(exists("s_none", "module_0.c"));
    /* a minimum part size larger than the bodies: stays one unit */
    snprintf(dir, sizeof dir, "%s/s_ok", wt_dir);
    assert_int_equal(astrid_w2c_split(dir, 4, 1u << 20, &err), 1);
}

/* Export wrappers in wasm2c's form go to the part of the function they
 * wrap, so a function only its export calls stays static there (inlined
 * into the wrapper, as unsplit) and part 0 does not hold every wrapper; a
 * wrapper that does anything more stays in part 0. */
static const char export_text[] =
    "typedef unsigned u32;\n"
    "static bool s_module_initialized = false;\n"
    "\n"
    "static u32 w2c_a(void*, u32);\n"
    "static u32 w2c_b(void*, u32);\n"
    "static u32 w2c_c(void*, u32);\n"
    "\n"
    "static u32 w2c_a(void* instance, u32 w2c_p0) {\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  return w2c_p0 + 1;\n"
    "}\n"
    "\n"
    "static u32 w2c_b(void* instance, u32 w2c_p0) {\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  return w2c_p0 + 2;\n"
    "}\n"
    "\n"
    "static u32 w2c_c(void* instance, u32 w2c_p0) {\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */\n"
    "  return w2c_p0 + 3;\n"
    "}\n"
    "\n"
    "/* export: 'a' */\n"
    "u32 Z_mZ_a(void* instance, u32 w2c_p0) {\n"
    "  return w2c_a(instance, w2c_p0);\n"
    "}\n"
    "\n"
    "/* export: 'b' */\n"
    "u32 Z_mZ_b(void* instance, u32 w2c_p0) {\n"
    "  return w2c_b(instance, w2c_p0) + 1;\n"
    "}\n"
    "\n"
    "/* export: 'c' */\n"
    "u32 Z_mZ_c(void* instance, u32 w2c_p0) {\n"
    "  return w2c_c(instance, w2c_p0);\n"
    "}\n"
    "\n"
    "void Z_m_init_module(void) {\n"
    "  s_module_initialized = true;\n"
    "}\n";

static char *read_part(const char *sub, int k)
{
    char p[500], *t = NULL;
    size_t n = 0;
    snprintf(p, sizeof p, "%s/%s/module_%d.c", wt_dir, sub, k);
    assert_int_equal(astrid_read_file(p, 1 << 20, &t, &n, NULL), 0);
    return t;
}

static void splitter_exports_follow(void **state)
{
    (void)state;
    char dir[400], p[500];
    snprintf(dir, sizeof dir, "%s/s_exp", wt_dir);
    assert_int_equal(astrid_mkdir_p(dir, 0700, 0, NULL), 0);
    snprintf(p, sizeof p, "%s/module.c", dir);
    assert_int_equal(astrid_atomic_write(p, export_text, strlen(export_text), 0600, NULL), 0);
    astrid_err err = {0};
    assert_int_equal(astrid_w2c_split(dir, 3, 0, &err), 3);
    char *t0 = read_part("s_exp", 0), *t1 = read_part("s_exp", 1), *t2 = read_part("s_exp", 2);
    /* part 0's own code (init, b's wrapper) counts as much as a body, so
     * a and b go to part 1, c to part 2; a and c each with its wrapper,
     * static, declared only where they live */
    assert_non_null(strstr(t1, "static u32 w2c_a(void* instance, u32 w2c_p0) {"));
    assert_non_null(strstr(t1, "/* export: 'a' */\nu32 Z_mZ_a(void* instance, u32 w2c_p0) {\n"
                               "  return w2c_a(instance, w2c_p0);\n}\n"));
    assert_non_null(strstr(t2, "static u32 w2c_c(void* instance, u32 w2c_p0) {"));
    assert_non_null(strstr(t2, "static u32 w2c_c(void*, u32);"));
    assert_non_null(strstr(t2, "/* export: 'c' */\nu32 Z_mZ_c(void* instance, u32 w2c_p0) {\n"
                               "  return w2c_c(instance, w2c_p0);\n}\n"));
    assert_null(strstr(t0, "w2c_a"));
    assert_null(strstr(t0, "w2c_c"));
    assert_null(strstr(t1, "w2c_c"));
    assert_null(strstr(t2, "w2c_a"));
    /* b's wrapper adds to the call: not the plain shape, it stays in part
     * 0 and b (in part 1) is shared with it */
    assert_non_null(strstr(t0, "u32 Z_mZ_b(void* instance, u32 w2c_p0) {"));
    assert_null(strstr(t1, "Z_mZ_b"));
    assert_non_null(strstr(t1, "ASTRID_W2C_SHARED u32 w2c_b(void* instance, u32 w2c_p0) {"));
    assert_non_null(strstr(t0, "ASTRID_W2C_SHARED u32 w2c_b(void*, u32);"));
    assert_non_null(strstr(t0, "void Z_m_init_module(void) {"));
    free(t0);
    free(t1);
    free(t2);
}

/* By size: ~700 KiB of C splits in 2 at -O1 (256 KiB a part) but stays
 * one unit at -O0, where a part must hold 512 KiB (clang -O0 compiles
 * less in about what starting it costs). */
static void o0_needs_bigger_parts(void **state)
{
    (void)state;
    size_t cap = 1u << 20, n = 0;
    char *w = malloc(cap);
    assert_non_null(w);
    n += (size_t)snprintf(w + n, cap - n, "(module\n");
    for (int i = 0; i < 150; i++) {
        n += (size_t)snprintf(w + n, cap - n,
                              "(func (export \"f%d\") (param i32) (result i32) local.get 0\n", i);
        for (int k = 0; k < 60; k++)
            n += (size_t)snprintf(w + n, cap - n, " i32.const %d i32.add i32.const %d i32.xor\n",
                                  k * 7919 + i, 3 + k);
        n += (size_t)snprintf(w + n, cap - n, ")\n");
    }
    n += (size_t)snprintf(w + n, cap - n, ")\n");
    assert_true(n < cap);
    size_t len = 0;
    uint8_t *bin = wt_wat(w, 0, &len);
    free(w);
    assert_non_null(bin);
    const struct {
        const char *sub;
        int opt;
        const char *want;
    } cases[] = {{"o1", 1, "cc in 2 parts"}, {"o0", 0, "cc"}};
    for (size_t c = 0; c < 2; c++) {
        char cache[300];
        snprintf(cache, sizeof cache, "%s/%s", wt_dir, cases[c].sub);
        astrid_wasm_engine_config cfg = {.cache_dir = cache,
                                         .opt_level = cases[c].opt,
                                         .host_modules = hosts,
                                         .nhost_modules = 1,
                                         .aot_jobs = 2};
        astrid_err err = {0};
        astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
        assert_non_null(e);
        astrid_wasm_load_opts o = {.progress = on_stage};
        compile_what[0] = 0;
        astrid_wasm_module *m = astrid_wasm_module_load(e, bin, len, &o, NULL, &err);
        if (!m)
            fail_msg("load: %s", err.msg);
        assert_string_equal(compile_what, cases[c].want);
        astrid_wasm_instance *in = astrid_wasm_instantiate(m, NULL, NULL, &err);
        assert_non_null(in);
        uint64_t a[1] = {1};
        uint32_t x = 1;
        for (int k = 0; k < 60; k++)
            x = (x + (uint32_t)(k * 7919 + 149)) ^ (uint32_t)(3 + k);
        assert_int_equal(call1(in, "f149", a, 1), x);
        astrid_wasm_instance_free(in);
        astrid_wasm_module_free(m);
        astrid_wasm_engine_free(e);
    }
    free(bin);
}

static int setup(void **state)
{
    (void)state;
    (void)wt_engine; /* shared helper; each engine here has its own config */
    return wt_setup_dir();
}

static int teardown(void **state)
{
    (void)state;
    wt_rm_dir();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_behaves_as_unsplit),    cmocka_unit_test(cross_part_symbols_hidden),
        cmocka_unit_test(key_ignores_split_and_cores), cmocka_unit_test(splitter_shapes),
        cmocka_unit_test(compile_waits_for_slot),      cmocka_unit_test(splitter_exports_follow),
        cmocka_unit_test(o0_needs_bigger_parts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
