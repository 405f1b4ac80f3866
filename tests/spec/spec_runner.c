/* WebAssembly spec-test runner: executes one wast2json output through the
 * engine's AOT path and prints "FILE: P/T passed (S skipped)".
 *
 * usage: spec_runner CACHE_DIR FILE.json [-v]
 * Exit status 0 when no assertion failed. Skipped: assert_malformed on the
 * text format (a parser test, the engine takes binaries), and commands on
 * values the host cannot pass (v128, funcref arguments). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm-rt.h>

#include "astrid/fs.h"
#include "capsule/wasm/engine.h"
#include "capsule/wasm/rt.h"

/* ---------------------------------------------------------------- spectest */
static wasm_rt_memory_t spectest_mem;
static wasm_rt_funcref_table_t spectest_table;
static uint32_t g_i32 = 666;
static uint64_t g_i64 = 666;
static float g_f32 = 666.6f;
static double g_f64 = 666.6;

#define SPEC_API __attribute__((visibility("default")))
SPEC_API void Z_spectestZ_print(void *i);
SPEC_API void Z_spectestZ_print_i32(void *i, uint32_t a);
SPEC_API void Z_spectestZ_print_i64(void *i, uint64_t a);
SPEC_API void Z_spectestZ_print_f32(void *i, float a);
SPEC_API void Z_spectestZ_print_f64(void *i, double a);
SPEC_API void Z_spectestZ_print_i32_f32(void *i, uint32_t a, float b);
SPEC_API void Z_spectestZ_print_f64_f64(void *i, double a, double b);
SPEC_API uint32_t *Z_spectestZ_global_i32(void *i);
SPEC_API uint64_t *Z_spectestZ_global_i64(void *i);
SPEC_API float *Z_spectestZ_global_f32(void *i);
SPEC_API double *Z_spectestZ_global_f64(void *i);
SPEC_API wasm_rt_memory_t *Z_spectestZ_memory(void *i);
SPEC_API wasm_rt_funcref_table_t *Z_spectestZ_table(void *i);
void Z_spectestZ_print(void *i)
{
    (void)i;
}
void Z_spectestZ_print_i32(void *i, uint32_t a)
{
    (void)i, (void)a;
}
void Z_spectestZ_print_i64(void *i, uint64_t a)
{
    (void)i, (void)a;
}
void Z_spectestZ_print_f32(void *i, float a)
{
    (void)i, (void)a;
}
void Z_spectestZ_print_f64(void *i, double a)
{
    (void)i, (void)a;
}
void Z_spectestZ_print_i32_f32(void *i, uint32_t a, float b)
{
    (void)i, (void)a, (void)b;
}
void Z_spectestZ_print_f64_f64(void *i, double a, double b)
{
    (void)i, (void)a, (void)b;
}
uint32_t *Z_spectestZ_global_i32(void *i)
{
    (void)i;
    return &g_i32;
}
uint64_t *Z_spectestZ_global_i64(void *i)
{
    (void)i;
    return &g_i64;
}
float *Z_spectestZ_global_f32(void *i)
{
    (void)i;
    return &g_f32;
}
double *Z_spectestZ_global_f64(void *i)
{
    (void)i;
    return &g_f64;
}
wasm_rt_memory_t *Z_spectestZ_memory(void *i)
{
    (void)i;
    return &spectest_mem;
}
wasm_rt_funcref_table_t *Z_spectestZ_table(void *i)
{
    (void)i;
    return &spectest_table;
}

static const astrid_wasm_host_func spectest_funcs[] = {
    {"print", "", "", 0},           {"print_i32", "i", "", 0},  {"print_i64", "I", "", 0},
    {"print_f32", "f", "", 0},      {"print_f64", "F", "", 0},  {"print_i32_f32", "if", "", 0},
    {"print_f64_f64", "FF", "", 0}, {"global_i32", "i", "", 3}, {"global_i64", "I", "", 3},
    {"global_f32", "f", "", 3},     {"global_f64", "F", "", 3}, {"memory", "1 2", "", 2},
    {"table", "10 20", "", 1},
};
static const astrid_wasm_host_module hosts[] = {{"spectest", spectest_funcs, 13, 1}};

static void alloc_spectest(void *arg)
{
    (void)arg;
    wasm_rt_allocate_memory(&spectest_mem, 1, 2);
    wasm_rt_allocate_funcref_table(&spectest_table, 10, 20);
}

/* ---------------------------------------------------------------- state */
#define MAX_MODS 4096
typedef struct slot {
    char *name; /* "$M" or NULL */
    astrid_wasm_module *m;
    astrid_wasm_instance *i;
} slot;

static slot mods[MAX_MODS];
static int nmods;
static const char *regs_as[MAX_MODS]; /* registered names, and their slots */
static int regs_slot[MAX_MODS];
static int nregs;
static int verbose;
static const char *dir;
static astrid_wasm_engine *eng;
static int passed, failed, skipped;

static void result(int ok, int line, const char *what, const char *why)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        if (verbose)
            fprintf(stderr, "line %d: %s failed: %s\n", line, what, why ? why : "");
    }
}

static int find_slot(json_t *action)
{
    const char *name = json_string_value(json_object_get(action, "module"));
    if (!name)
        return nmods - 1;
    for (int k = nmods - 1; k >= 0; k--)
        if (mods[k].name && strcmp(mods[k].name, name) == 0)
            return k;
    return -1;
}

static uint8_t *read_wasm(const char *file, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *buf;
    if (astrid_read_file(path, 1u << 30, &buf, len, NULL) < 0)
        return NULL;
    return (uint8_t *)buf;
}

/* Load (and, when `inst`, instantiate) a module file with the link name
 * it will be registered under. Returns 0, or -1 with err. */
static int load(const char *file, const char *link_name, astrid_wasm_module **mo,
                astrid_wasm_instance **io, astrid_err *err)
{
    size_t len;
    uint8_t *w = read_wasm(file, &len);
    if (!w)
        return astrid_err_set(err, ASTRID_E_IO, "cannot read %s", file);
    astrid_wasm_load_opts o = {
        .link_name = link_name, .link_modules = regs_as, .nlink_modules = (size_t)nregs};
    *mo = astrid_wasm_module_load(eng, w, len, &o, NULL, err);
    free(w);
    if (!*mo)
        return -1;
    astrid_wasm_link links[MAX_MODS];
    for (int k = 0; k < nregs; k++)
        links[k] = (astrid_wasm_link){regs_as[k], mods[regs_slot[k]].i};
    astrid_wasm_instance_config cfg = {.max_memory_bytes = 65535ull * 65536,
                                       .links = links,
                                       .nlinks = (size_t)nregs,
                                       .start_timeout_ms = 10000};
    *io = astrid_wasm_instantiate(*mo, &cfg, NULL, err);
    if (!*io) {
        astrid_wasm_module_free(*mo);
        *mo = NULL;
        return -1;
    }
    return 0;
}

/* Values: ints and floats are decimal bit patterns; externref N is passed
 * as the pointer N+1 so that ref.extern 0 differs from null. */
static int parse_val(json_t *v, uint64_t *bits, char *type)
{
    const char *t = json_string_value(json_object_get(v, "type"));
    const char *s = json_string_value(json_object_get(v, "value"));
    if (!t)
        return -1;
    if (strcmp(t, "externref") == 0) {
        *type = 'e';
        *bits = (!s || strcmp(s, "null") == 0) ? 0 : strtoull(s, NULL, 10) + 1;
        return 0;
    }
    if (!s)
        return -1;
    if (strcmp(t, "i32") == 0)
        *type = 'i';
    else if (strcmp(t, "i64") == 0)
        *type = 'I';
    else if (strcmp(t, "f32") == 0)
        *type = 'f';
    else if (strcmp(t, "f64") == 0)
        *type = 'F';
    else
        return -1;
    *bits = strncmp(s, "nan:", 4) == 0 ? 0 : strtoull(s, NULL, 10);
    return 0;
}

static int match(json_t *exp, uint64_t got)
{
    uint64_t want;
    char t;
    if (parse_val(exp, &want, &t) < 0)
        return 0;
    const char *s = json_string_value(json_object_get(exp, "value"));
    if (s && strncmp(s, "nan:", 4) == 0) {
        int canonical = strcmp(s, "nan:canonical") == 0;
        if (t == 'f') {
            uint32_t b = (uint32_t)got;
            if ((b & 0x7f800000u) != 0x7f800000u || !(b & 0x007fffffu))
                return 0;
            return !canonical || (b & 0x7fffffffu) == 0x7fc00000u;
        }
        if ((got & 0x7ff0000000000000ull) != 0x7ff0000000000000ull ||
            !(got & 0x000fffffffffffffull))
            return 0;
        return !canonical || (got & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
    }
    if (t == 'i' || t == 'f')
        return (uint32_t)got == (uint32_t)want;
    return got == want;
}

/* Perform an action; 1 = ran (results filled), 0 = trapped/failed, -1 = skip. */
static int act(json_t *action, uint64_t *res, size_t *nres, astrid_wasm_outcome *out,
               astrid_err *err)
{
    int k = find_slot(action);
    if (k < 0 || !mods[k].i) {
        astrid_err_set(err, ASTRID_E_NOTFOUND, "no module instance");
        out->trap = ASTRID_WASM_OK;
        return 0;
    }
    const char *type = json_string_value(json_object_get(action, "type"));
    const char *field = json_string_value(json_object_get(action, "field"));
    if (type && strcmp(type, "get") == 0) {
        char t;
        *nres = 1;
        return astrid_wasm_global_get(mods[k].i, field, &res[0], &t) == 0 ? 1 : -1;
    }
    json_t *args = json_object_get(action, "args");
    uint64_t a[64];
    size_t na = json_array_size(args);
    if (na > 64)
        return -1;
    for (size_t x = 0; x < na; x++) {
        char t;
        if (parse_val(json_array_get(args, x), &a[x], &t) < 0)
            return -1;
    }
    const char *ps, *rs;
    if (astrid_wasm_export_sig(astrid_wasm_instance_module(mods[k].i), field, &ps, &rs) < 0)
        return 0;
    *nres = strlen(rs);
    int rc = astrid_wasm_call(mods[k].i, field, a, na, res, *nres, 10000, out, err);
    if (rc < 0 && err->code == ASTRID_E_UNSUPPORTED)
        return -1;
    return rc == 0;
}

static const char *link_name_for(json_t *cmds, size_t idx)
{
    /* the name a later `register` gives this module, if any */
    json_t *c = json_array_get(cmds, idx);
    const char *self = json_string_value(json_object_get(c, "name"));
    for (size_t j = idx + 1; j < json_array_size(cmds); j++) {
        json_t *d = json_array_get(cmds, j);
        const char *t = json_string_value(json_object_get(d, "type"));
        if (strcmp(t, "module") == 0 && !self)
            return NULL;
        if (strcmp(t, "register") == 0) {
            const char *n = json_string_value(json_object_get(d, "name"));
            if ((!n && !self) || (n && self && strcmp(n, self) == 0))
                return json_string_value(json_object_get(d, "as"));
        }
    }
    return NULL;
}

static void run_command(json_t *cmds, size_t idx)
{
    json_t *c = json_array_get(cmds, idx);
    const char *type = json_string_value(json_object_get(c, "type"));
    int line = (int)json_integer_value(json_object_get(c, "line"));
    const char *file = json_string_value(json_object_get(c, "filename"));
    astrid_err err = {0};
    astrid_wasm_outcome out = {0};
    uint64_t res[64];
    size_t nres = 0;
    if (strcmp(type, "module") == 0) {
        if (nmods == MAX_MODS)
            return;
        slot *s = &mods[nmods++];
        const char *n = json_string_value(json_object_get(c, "name"));
        s->name = n ? strdup(n) : NULL;
        if (load(file, link_name_for(cmds, idx), &s->m, &s->i, &err) < 0 && verbose)
            fprintf(stderr, "line %d: module %s: %s\n", line, file, err.msg);
    } else if (strcmp(type, "register") == 0) {
        int k = find_slot(c);
        const char *as = json_string_value(json_object_get(c, "as"));
        if (k >= 0 && mods[k].i && nregs < MAX_MODS) {
            regs_as[nregs] = as;
            regs_slot[nregs++] = k;
        }
    } else if (strcmp(type, "action") == 0) {
        act(json_object_get(c, "action"), res, &nres, &out, &err);
    } else if (strcmp(type, "assert_return") == 0) {
        int r = act(json_object_get(c, "action"), res, &nres, &out, &err);
        if (r < 0) {
            skipped++;
            return;
        }
        json_t *exp = json_object_get(c, "expected");
        int ok = r == 1 && json_array_size(exp) == nres;
        for (size_t x = 0; ok && x < nres; x++)
            ok = match(json_array_get(exp, x), res[x]);
        result(ok, line, "assert_return", r == 1 ? "wrong result" : err.msg);
    } else if (strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0) {
        if (file) { /* module form: instantiation must trap */
            astrid_wasm_module *m = NULL;
            astrid_wasm_instance *i = NULL;
            int rc = load(file, NULL, &m, &i, &err);
            result(rc < 0, line, type, "instantiated");
            astrid_wasm_instance_free(i);
            astrid_wasm_module_free(m);
            return;
        }
        int r = act(json_object_get(c, "action"), res, &nres, &out, &err);
        if (r < 0) {
            skipped++;
            return;
        }
        int ok = r == 0 && out.trap != ASTRID_WASM_OK;
        if (ok && strcmp(type, "assert_exhaustion") == 0)
            ok = out.trap == ASTRID_WASM_TRAP_EXHAUSTION;
        result(ok, line, type, r == 1 ? "returned" : err.msg);
    } else if (strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_malformed") == 0 ||
               strcmp(type, "assert_unlinkable") == 0 ||
               strcmp(type, "assert_uninstantiable") == 0) {
        const char *mt = json_string_value(json_object_get(c, "module_type"));
        if (mt && strcmp(mt, "text") == 0) {
            skipped++;
            return;
        }
        astrid_wasm_module *m = NULL;
        astrid_wasm_instance *i = NULL;
        int rc = load(file, NULL, &m, &i, &err);
        result(rc < 0, line, type, "accepted");
        astrid_wasm_instance_free(i);
        astrid_wasm_module_free(m);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spec_runner CACHE_DIR FILE.json [-v]\n");
        return 2;
    }
    verbose = argc > 3 && strcmp(argv[3], "-v") == 0;
    json_error_t jerr;
    json_t *root = json_load_file(argv[2], 0, &jerr);
    if (!root) {
        fprintf(stderr, "%s: %s\n", argv[2], jerr.text);
        return 2;
    }
    char *slash = strrchr(argv[2], '/');
    static char dbuf[4096];
    snprintf(dbuf, sizeof dbuf, "%.*s", slash ? (int)(slash - argv[2]) : 1, slash ? argv[2] : ".");
    dir = dbuf;
    astrid_err err;
    const char *opt = getenv("SPEC_OPT");
    /* SPEC_AOT_PARTS=n compiles every module split into n parts (w2c_split.c) */
    const char *parts = getenv("SPEC_AOT_PARTS");
    astrid_wasm_engine_config cfg = {.cache_dir = argv[1],
                                     .opt_level = opt ? (int)strtol(opt, NULL, 10) : 0,
                                     .aot_parts = parts ? (int)strtol(parts, NULL, 10) : 0,
                                     .host_modules = hosts,
                                     .nhost_modules = 1};
    eng = astrid_wasm_engine_new(&cfg, &err);
    if (!eng || astrid_rt_call(alloc_spectest, NULL, NULL, 2, &err) != 0) {
        fprintf(stderr, "engine: %s\n", err.msg);
        return 2;
    }
    json_t *cmds = json_object_get(root, "commands");
    for (size_t k = 0; k < json_array_size(cmds); k++)
        run_command(cmds, k);
    const char *src = json_string_value(json_object_get(root, "source_filename"));
    const char *base = src ? strrchr(src, '/') : NULL;
    printf("%s: %d/%d passed (%d skipped)\n",
           base  ? base + 1
           : src ? src
                 : argv[2],
           passed, passed + failed, skipped);
    for (int k = nmods - 1; k >= 0; k--) {
        astrid_wasm_instance_free(mods[k].i);
        astrid_wasm_module_free(mods[k].m);
        free(mods[k].name);
    }
    wasm_rt_free_memory(&spectest_mem);
    wasm_rt_free_funcref_table(&spectest_table);
    astrid_wasm_engine_free(eng);
    json_decref(root);
    return failed ? 1 : 0;
}
