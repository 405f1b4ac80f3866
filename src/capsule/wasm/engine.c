/* Engine: module loading (dlopen of verified cache entries), instances,
 * calls under trap targets and deadlines (see engine.h). */
#include "capsule/wasm/engine.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasm-rt.h>

#include "astrid/fs.h"
#include "capsule/wasm/aot.h"
#include "capsule/wasm/rt.h"
#include "capsule/wasm/wasm_parse.h"
#include "capsule/wasm/watchdog.h"

/* astrid_glue_calls[k] of a compiled module (glue.c): the k-th function
 * export and the trampoline of its signature. */
typedef struct glue_call {
    void (*tramp)(void (*fn)(void), void *inst, const uint64_t *args, uint64_t *results);
    void (*fn)(void);
} glue_call;

struct astrid_wasm_engine {
    astrid_aot_toolchain tc;
    char *cache_dir, *cc, *wasm2c;
    size_t max_module_bytes;
    const astrid_wasm_host_module *hosts;
    size_t nhosts;
    astrid_watchdog *wd;
    /* Serialises dlopen + module init: two loads of one cache entry share a
     * handle, and init writes the module's static function-type table. */
    pthread_mutex_t module_init_lock;
};

struct astrid_wasm_module {
    astrid_wasm_engine *e;
    void *dl;
    astrid_wasm_info info;
    char key[ASTRID_AOT_KEY_HEX];
    const char **import_modules; /* sorted distinct names (borrowed from info) */
    size_t nimport_modules;
    int *import_is_host;
    size_t inst_size;
    void (*instantiate)(void *, void **);
    void (*free_inst)(void *);
    const glue_call *calls;
    void *(*const *globals)(void *);
    wasm_rt_memory_t *(*memory)(void *);
};

struct astrid_wasm_instance {
    astrid_wasm_module *m;
    void *w2c;
    void *host_ctx;
    struct astrid_wasi *wasi;
    uint64_t cap_pages;
    int exit_code;
    char host_why[160];
    atomic_int interrupted;
};

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

astrid_wasm_engine *astrid_wasm_engine_new(const astrid_wasm_engine_config *cfg, astrid_err *err)
{
    if (!cfg || !cfg->cache_dir || !*cfg->cache_dir) {
        astrid_err_set(err, ASTRID_E_INVALID, "wasm engine: cache_dir is required");
        return NULL;
    }
    if (astrid_rt_global_init(err) < 0)
        return NULL;
    if (astrid_mkdir_p(cfg->cache_dir, 0700, 0, err) < 0)
        return NULL;
    astrid_wasm_engine *e = calloc(1, sizeof *e);
    if (!e) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm engine: out of memory");
        return NULL;
    }
    e->cache_dir = dupstr(cfg->cache_dir);
    e->cc = dupstr(cfg->cc ? cfg->cc : "cc");
    e->wasm2c = dupstr(cfg->wasm2c ? cfg->wasm2c : "wasm2c");
    e->max_module_bytes = cfg->max_module_bytes ? cfg->max_module_bytes : (64u << 20);
    pthread_mutex_init(&e->module_init_lock, NULL);
    e->hosts = cfg->host_modules;
    e->nhosts = cfg->nhost_modules;
    e->tc.cache_dir = e->cache_dir;
    e->tc.cc = e->cc;
    e->tc.wasm2c = e->wasm2c;
    e->tc.opt_level = cfg->opt_level < 0 ? 2 : cfg->opt_level > 3 ? 3 : cfg->opt_level;
    e->tc.timeout_ms = cfg->compile_timeout_ms ? cfg->compile_timeout_ms : 600000;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    e->tc.jobs = cfg->aot_jobs > 0 ? cfg->aot_jobs : ncpu > 0 ? (int)(ncpu > 64 ? 64 : ncpu) : 1;
    e->tc.parts = cfg->aot_parts > 0 ? cfg->aot_parts : 0;
    if (!e->cache_dir || !e->cc || !e->wasm2c) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm engine: out of memory");
        goto fail;
    }
    if (astrid_aot_probe(&e->tc, err) < 0)
        goto fail;
    e->wd = astrid_watchdog_new(err);
    if (!e->wd)
        goto fail;
    return e;
fail:
    astrid_wasm_engine_free(e);
    return NULL;
}

void astrid_wasm_engine_free(astrid_wasm_engine *e)
{
    if (!e)
        return;
    astrid_watchdog_free(e->wd);
    pthread_mutex_destroy(&e->module_init_lock);
    free(e->cache_dir);
    free(e->cc);
    free(e->wasm2c);
    free(e);
}

static const astrid_wasm_host_module *find_host(const astrid_wasm_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nhosts; i++)
        if (strcmp(e->hosts[i].name, name) == 0)
            return &e->hosts[i];
    return NULL;
}

/* An import's limits are met by a provider's: at least as large, and a
 * maximum no larger than the import's when it names one. */
static int limits_ok(const astrid_wasm_limits *imp, const astrid_wasm_limits *have)
{
    return have->min >= imp->min && (!imp->has_max || (have->has_max && have->max <= imp->max));
}

/* A host table/memory states its limits in `params` as "min max". */
static int host_limits_ok(const astrid_wasm_host_func *hf, const astrid_wasm_limits *imp)
{
    if (!hf->params || !*hf->params)
        return 1;
    char *end;
    unsigned long min = strtoul(hf->params, &end, 10), max = 0;
    int has_max = 0;
    if (*end == ' ') {
        max = strtoul(end + 1, NULL, 10);
        has_max = 1;
    }
    astrid_wasm_limits have = {(uint32_t)min, (uint32_t)max, has_max};
    return limits_ok(imp, &have);
}

/* Every import must be a host function with the declared signature and an
 * exported symbol, or come from a module named in link_modules. */
static int check_imports(astrid_wasm_module *m, const astrid_wasm_load_opts *o, astrid_err *err)
{
    const astrid_wasm_info *info = &m->info;
    for (size_t i = 0; i < info->nimports; i++) {
        const astrid_wasm_import *im = &info->imports[i];
        int linked = 0;
        for (size_t k = 0; o && k < o->nlink_modules; k++)
            linked |= strcmp(o->link_modules[k], im->module) == 0;
        if (linked)
            continue;
        const astrid_wasm_host_module *h = find_host(m->e, im->module);
        const astrid_wasm_host_func *hf = NULL;
        for (size_t k = 0; h && k < h->nfuncs; k++)
            if (strcmp(h->funcs[k].name, im->name) == 0 && h->funcs[k].kind == im->kind)
                hf = &h->funcs[k];
        char sym[1200], a[600], b[600];
        if (astrid_wasm_mangle(a, sizeof a, im->module) < 0 ||
            astrid_wasm_mangle(b, sizeof b, im->name) < 0)
            return astrid_err_set(err, ASTRID_E_LIMIT, "wasm: import name too long");
        snprintf(sym, sizeof sym, "%s%s", a, b);
        if (im->kind == ASTRID_WASM_EXT_FUNC) {
            const astrid_wasm_functype *t = &info->types[im->type_index];
            if (!hf)
                return astrid_err_set(err, ASTRID_E_NOTFOUND,
                                      "wasm: unknown import '%s'.'%s' (the host provides no "
                                      "such function)",
                                      im->module, im->name);
            if (strcmp(hf->params, t->params) != 0 || strcmp(hf->results, t->results) != 0)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "wasm: import '%s'.'%s' has type (%s)->(%s), the host "
                                      "function is (%s)->(%s)",
                                      im->module, im->name, t->params, t->results, hf->params,
                                      hf->results);
        } else if (!h || !h->allow_other || !hf ||
                   (im->kind == ASTRID_WASM_EXT_GLOBAL &&
                    (!hf->params || hf->params[0] != im->global_type || im->global_mut)) ||
                   (im->kind != ASTRID_WASM_EXT_GLOBAL && !host_limits_ok(hf, &im->limits))) {
            return astrid_err_set(err, ASTRID_E_NOTFOUND,
                                  "wasm: unknown import '%s'.'%s' (the host provides no such "
                                  "memory, table or global)",
                                  im->module, im->name);
        }
        if (!dlsym(RTLD_DEFAULT, sym))
            return astrid_err_set(err, ASTRID_E_NOTFOUND,
                                  "wasm: import '%s'.'%s' is declared by the host but not "
                                  "linked into this program",
                                  im->module, im->name);
    }
    return 0;
}

static int check_names(const astrid_wasm_info *info, astrid_err *err)
{
    for (size_t i = 0; i < info->nimports; i++)
        if (!astrid_wasm_name_safe(info->imports[i].module) ||
            !astrid_wasm_name_safe(info->imports[i].name))
            return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                                  "wasm: import names containing '*/', '\\' or '?\?/' are not "
                                  "supported (wasm2c copies names into C comments)");
    for (size_t i = 0; i < info->nexports; i++)
        if (!astrid_wasm_name_safe(info->exports[i].name))
            return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                                  "wasm: export names containing '*/', '\\' or '?\?/' are not "
                                  "supported (wasm2c copies names into C comments)");
    return 0;
}

static int bind(astrid_wasm_module *m, int global, astrid_err *err)
{
    /* The real path, not /proc/self/fd/N: glibc reuses an already loaded
     * object whose name matches, and fd numbers are recycled. The cache dir
     * is 0700, so the file verified a moment ago is the one loaded. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", m->e->cache_dir, m->key);
    m->dl = dlopen(path, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!m->dl) {
        const char *why = dlerror();
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "wasm: loading compiled module: %s",
                              why ? why : "unknown error");
    }
    unsigned (*abi)(void) = (unsigned (*)(void))dlsym(m->dl, "astrid_glue_abi");
    size_t (*size)(void) = (size_t(*)(void))dlsym(m->dl, "astrid_glue_instance_size");
    void (*init)(void) = (void (*)(void))dlsym(m->dl, "astrid_glue_init_module");
    m->instantiate = (void (*)(void *, void **))dlsym(m->dl, "astrid_glue_instantiate");
    m->free_inst = (void (*)(void *))dlsym(m->dl, "astrid_glue_free");
    m->calls = (const glue_call *)dlsym(m->dl, "astrid_glue_calls");
    m->globals = (void *(*const *)(void *))dlsym(m->dl, "astrid_glue_globals");
    m->memory = (wasm_rt_memory_t * (*)(void *)) dlsym(m->dl, "astrid_glue_memory");
    if (!abi || !size || !init || !m->instantiate || !m->free_inst || !m->calls || !m->globals ||
        !m->memory || abi() != ASTRID_AOT_ABI)
        return astrid_err_set(err, ASTRID_E_INTERNAL,
                              "wasm: compiled module lacks the engine "
                              "glue (stale cache entry?)");
    m->inst_size = size();
    /* registers the module's function types: may not trap, but runs with a
     * target anyway so a runtime failure cannot abort the process */
    astrid_err e2;
    int code = astrid_rt_call((void (*)(void *))(void (*)(void))init, NULL, NULL, 0, &e2);
    if (code != 0)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "wasm: initialising module: %s",
                              code < 0 ? e2.msg : astrid_rt_trap_name(code));
    return 0;
}

astrid_wasm_module *astrid_wasm_module_load(astrid_wasm_engine *e, const uint8_t *wasm, size_t len,
                                            const astrid_wasm_load_opts *opts, int *cache_hit,
                                            astrid_err *err)
{
    if (len > e->max_module_bytes) {
        astrid_err_set(err, ASTRID_E_LIMIT, "wasm: module is %zu bytes, the limit is %zu", len,
                       e->max_module_bytes);
        return NULL;
    }
    astrid_wasm_module *m = calloc(1, sizeof *m);
    if (!m) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        return NULL;
    }
    m->e = e;
    const char *link_name = opts && opts->link_name ? opts->link_name : "m";
    if (opts && opts->progress)
        opts->progress(opts->progress_user, ASTRID_WASM_STAGE_VALIDATE, "interface");
    if (astrid_wasm_parse(wasm, len, &m->info, err) < 0 || check_names(&m->info, err) < 0 ||
        check_imports(m, opts, err) < 0)
        goto fail;
    m->import_modules = astrid_wasm_import_modules(&m->info, &m->nimport_modules);
    m->import_is_host = calloc(m->info.nimports + 1, sizeof *m->import_is_host);
    if (!m->import_modules || !m->import_is_host) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        goto fail;
    }
    for (size_t k = 0; k < m->nimport_modules; k++) {
        int linked = 0;
        for (size_t j = 0; opts && j < opts->nlink_modules; j++)
            linked |= strcmp(opts->link_modules[j], m->import_modules[k]) == 0;
        m->import_is_host[k] = !linked;
    }
    astrid_aot_key(&e->tc, wasm, len, link_name, m->key);
    int fd = astrid_aot_cache_open(&e->tc, m->key);
    if (cache_hit)
        *cache_hit = fd >= 0;
    if (fd < 0) {
        if (astrid_aot_compile(&e->tc, wasm, len, &m->info, link_name, m->key,
                               opts ? opts->progress : NULL, opts ? opts->progress_user : NULL,
                               err) < 0)
            goto fail;
        fd = astrid_aot_cache_open(&e->tc, m->key);
        if (fd < 0) {
            astrid_err_set(err, ASTRID_E_IO, "wasm: compiled module vanished from the cache");
            goto fail;
        }
    } else if (opts && opts->progress) {
        opts->progress(opts->progress_user, ASTRID_WASM_STAGE_CACHED, m->key);
    }
    pthread_mutex_lock(&e->module_init_lock);
    int rc = bind(m, opts && opts->link_name, err);
    pthread_mutex_unlock(&e->module_init_lock);
    close(fd);
    if (rc < 0)
        goto fail;
    return m;
fail:
    astrid_wasm_module_free(m);
    return NULL;
}

void astrid_wasm_module_free(astrid_wasm_module *m)
{
    if (!m)
        return;
    if (m->dl)
        dlclose(m->dl);
    free((void *)m->import_modules);
    free(m->import_is_host);
    astrid_wasm_info_free(&m->info);
    free(m);
}

const char *astrid_wasm_module_key(const astrid_wasm_module *m)
{
    return m->key;
}

static astrid_wasm_trap_kind kind_of(int code)
{
    switch (code) {
    case 0:
        return ASTRID_WASM_OK;
    case WASM_RT_TRAP_OOB:
        return ASTRID_WASM_TRAP_OOB;
    case WASM_RT_TRAP_INT_OVERFLOW:
        return ASTRID_WASM_TRAP_INT_OVERFLOW;
    case WASM_RT_TRAP_DIV_BY_ZERO:
        return ASTRID_WASM_TRAP_DIV_BY_ZERO;
    case WASM_RT_TRAP_INVALID_CONVERSION:
        return ASTRID_WASM_TRAP_INVALID_CONVERSION;
    case WASM_RT_TRAP_UNREACHABLE:
        return ASTRID_WASM_TRAP_UNREACHABLE;
    case WASM_RT_TRAP_CALL_INDIRECT:
        return ASTRID_WASM_TRAP_CALL_INDIRECT;
    case WASM_RT_TRAP_EXHAUSTION:
        return ASTRID_WASM_TRAP_EXHAUSTION;
    case ASTRID_RT_TRAP_DEADLINE:
        return ASTRID_WASM_TRAP_DEADLINE;
    case ASTRID_RT_TRAP_MEMORY_LIMIT:
        return ASTRID_WASM_TRAP_MEMORY_LIMIT;
    case ASTRID_RT_TRAP_RESOURCE:
        return ASTRID_WASM_TRAP_RESOURCE;
    case ASTRID_RT_TRAP_HOST:
        return ASTRID_WASM_TRAP_HOST;
    case ASTRID_RT_TRAP_EXIT:
        return ASTRID_WASM_EXITED;
    default:
        return ASTRID_WASM_TRAP_OTHER;
    }
}

static int trap_error(astrid_wasm_instance *inst, int code, const char *where, astrid_err *err)
{
    astrid_errcode ec = (code == ASTRID_RT_TRAP_DEADLINE || code == WASM_RT_TRAP_EXHAUSTION ||
                         code == ASTRID_RT_TRAP_MEMORY_LIMIT || code == ASTRID_RT_TRAP_RESOURCE)
                            ? ASTRID_E_LIMIT
                            : ASTRID_E_INVALID;
    if (code == ASTRID_RT_TRAP_HOST && inst->host_why[0])
        return astrid_err_set(err, ec, "wasm trap in %s: %s: %s", where, astrid_rt_trap_name(code),
                              inst->host_why);
    return astrid_err_set(err, ec, "wasm trap in %s: %s", where, astrid_rt_trap_name(code));
}

static const astrid_wasm_limits *space_limits(const astrid_wasm_info *info, int kind,
                                              uint32_t index)
{
    if (index >= ASTRID_WASM_MAX_SPACES)
        return NULL;
    if (kind == ASTRID_WASM_EXT_MEMORY && index < info->nmemories)
        return &info->mem_limits[index];
    if (kind == ASTRID_WASM_EXT_TABLE && index < info->ntables)
        return &info->table_limits[index];
    return NULL;
}

/* Every import from linked module `mod` must name an export of the
 * provider with the same kind and type. */
static int link_check(const astrid_wasm_module *m, const char *mod,
                      const astrid_wasm_instance_config *cfg, astrid_err *err)
{
    const astrid_wasm_module *p = NULL;
    for (size_t j = 0; j < cfg->nlinks; j++)
        if (strcmp(cfg->links[j].module, mod) == 0 && cfg->links[j].provider)
            p = cfg->links[j].provider->m;
    for (size_t i = 0; p && i < m->info.nimports; i++) {
        const astrid_wasm_import *im = &m->info.imports[i];
        if (strcmp(im->module, mod) != 0)
            continue;
        const astrid_wasm_export *ex = NULL;
        for (size_t x = 0; x < p->info.nexports && !ex; x++)
            if (strcmp(p->info.exports[x].name, im->name) == 0)
                ex = &p->info.exports[x];
        int ok = ex && ex->kind == im->kind;
        if (ok && im->kind == ASTRID_WASM_EXT_FUNC) {
            const astrid_wasm_functype *a = &m->info.types[im->type_index];
            const astrid_wasm_functype *b = &p->info.types[ex->type_index];
            ok = strcmp(a->params, b->params) == 0 && strcmp(a->results, b->results) == 0;
        } else if (ok && im->kind == ASTRID_WASM_EXT_GLOBAL) {
            ok = ex->global_type == im->global_type;
        } else if (ok) {
            const astrid_wasm_limits *have = space_limits(&p->info, ex->kind, ex->index);
            ok = !have || limits_ok(&im->limits, have);
        }
        if (!ok)
            return astrid_err_set(err, ASTRID_E_NOTFOUND,
                                  "wasm: import '%s'.'%s' does not match an export of the linked "
                                  "module",
                                  mod, im->name);
    }
    return 0;
}

typedef struct inst_call {
    astrid_wasm_instance *inst;
    void **imports;
} inst_call;

static void run_instantiate(void *arg)
{
    inst_call *c = arg;
    c->inst->m->instantiate(c->inst->w2c, c->imports);
}

astrid_wasm_instance *astrid_wasm_instantiate(astrid_wasm_module *m,
                                              const astrid_wasm_instance_config *cfg,
                                              astrid_wasm_outcome *out, astrid_err *err)
{
    if (out)
        *out = (astrid_wasm_outcome){ASTRID_WASM_OK, 0};
    uint64_t cap =
        cfg && cfg->max_memory_bytes ? cfg->max_memory_bytes : ASTRID_WASM_DEFAULT_MAX_MEMORY;
    uint64_t cap_pages = cap / 65536;
    if (m->info.has_defined_memory && m->info.mem_initial_pages > cap_pages) {
        if (out)
            out->trap = ASTRID_WASM_TRAP_MEMORY_LIMIT;
        astrid_err_set(err, ASTRID_E_LIMIT,
                       "wasm: initial memory of %llu pages (%llu bytes) exceeds the instance "
                       "limit of %llu bytes",
                       (unsigned long long)m->info.mem_initial_pages,
                       (unsigned long long)m->info.mem_initial_pages * 65536,
                       (unsigned long long)cap);
        return NULL;
    }
    astrid_wasm_instance *inst = calloc(1, sizeof *inst);
    void **imports = calloc(m->nimport_modules + 1, sizeof *imports);
    if (inst)
        inst->w2c = aligned_alloc(64, (m->inst_size + 63) / 64 * 64);
    if (!inst || !imports || !inst->w2c) {
        if (inst)
            free(inst->w2c);
        free(inst);
        free(imports);
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        return NULL;
    }
    memset(inst->w2c, 0, m->inst_size);
    inst->m = m;
    inst->cap_pages = cap_pages;
    inst->host_ctx = cfg ? cfg->host_ctx : NULL;
    inst->wasi = cfg ? cfg->wasi : NULL;
    for (size_t k = 0; k < m->nimport_modules; k++) {
        if (m->import_is_host[k]) {
            imports[k] = inst;
            continue;
        }
        for (size_t j = 0; cfg && j < cfg->nlinks; j++)
            if (strcmp(cfg->links[j].module, m->import_modules[k]) == 0 && cfg->links[j].provider)
                imports[k] = cfg->links[j].provider->w2c;
        if (!imports[k] || link_check(m, m->import_modules[k], cfg, err) < 0) {
            if (!imports[k])
                astrid_err_set(err, ASTRID_E_NOTFOUND, "wasm: no instance linked for module '%s'",
                               m->import_modules[k]);
            free(imports);
            free(inst->w2c);
            free(inst);
            return NULL;
        }
    }
    astrid_watch w = {0};
    uint64_t timeout =
        cfg && cfg->start_timeout_ms ? cfg->start_timeout_ms : ASTRID_WASM_DEFAULT_TIMEOUT_MS;
    /* only a start function runs guest code here */
    if (m->info.has_start)
        astrid_watchdog_arm(m->e->wd, &w, timeout);
    inst_call c = {inst, imports};
    int code =
        astrid_rt_call(run_instantiate, &c, m->info.has_start ? &w.dl : NULL, cap_pages, err);
    if (m->info.has_start)
        astrid_watchdog_disarm(m->e->wd, &w);
    free(imports);
    if (code != 0) {
        if (out)
            out->trap = code < 0 ? ASTRID_WASM_TRAP_OTHER : kind_of(code);
        if (code > 0)
            trap_error(inst, code, "instantiation", err);
        m->free_inst(inst->w2c); /* frees whatever was allocated before the trap */
        free(inst->w2c);
        free(inst);
        return NULL;
    }
    return inst;
}

void astrid_wasm_instance_free(astrid_wasm_instance *inst)
{
    if (!inst)
        return;
    inst->m->free_inst(inst->w2c);
    free(inst->w2c);
    free(inst);
}

astrid_wasm_module *astrid_wasm_instance_module(const astrid_wasm_instance *inst)
{
    return inst->m;
}

int astrid_wasm_export_func_index(const astrid_wasm_module *m, const char *name, uint32_t *index)
{
    for (size_t x = 0; x < m->info.nexports; x++) {
        const astrid_wasm_export *ex = &m->info.exports[x];
        if (ex->kind == ASTRID_WASM_EXT_FUNC && strcmp(ex->name, name) == 0) {
            *index = ex->index;
            return 0;
        }
    }
    return -1;
}

void astrid_wasm_instance_interrupt(astrid_wasm_instance *inst)
{
    atomic_store(&inst->interrupted, 1);
    astrid_watchdog_expire_owner(inst->m->e->wd, inst);
}

int astrid_wasm_instance_interrupted(const astrid_wasm_instance *inst)
{
    return atomic_load(&inst->interrupted);
}

int astrid_wasm_export_sig(const astrid_wasm_module *m, const char *name, const char **params,
                           const char **results)
{
    for (size_t x = 0; x < m->info.nexports; x++) {
        const astrid_wasm_export *ex = &m->info.exports[x];
        if (ex->kind == ASTRID_WASM_EXT_FUNC && strcmp(ex->name, name) == 0) {
            *params = m->info.types[ex->type_index].params;
            *results = m->info.types[ex->type_index].results;
            return 0;
        }
    }
    return -1;
}

typedef struct fn_call {
    glue_call call;
    void *w2c;
    const uint64_t *args;
    uint64_t *results;
} fn_call;

static void run_fn(void *arg)
{
    fn_call *c = arg;
    c->call.tramp(c->call.fn, c->w2c, c->args, c->results);
}

int astrid_wasm_call(astrid_wasm_instance *inst, const char *name, const uint64_t *args,
                     size_t nargs, uint64_t *results, size_t nresults, uint64_t timeout_ms,
                     astrid_wasm_outcome *out, astrid_err *err)
{
    if (out)
        *out = (astrid_wasm_outcome){ASTRID_WASM_OK, 0};
    const astrid_wasm_module *m = inst->m;
    size_t slot = 0;
    const astrid_wasm_export *ex = NULL;
    for (size_t x = 0; x < m->info.nexports && !ex; x++) {
        if (m->info.exports[x].kind != ASTRID_WASM_EXT_FUNC)
            continue;
        if (strcmp(m->info.exports[x].name, name) == 0)
            ex = &m->info.exports[x];
        else
            slot++;
    }
    if (!ex)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "wasm: no exported function '%s'", name);
    const astrid_wasm_functype *t = &m->info.types[ex->type_index];
    if (!m->calls[slot].tramp)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "wasm: export '%s' has a signature the host cannot call "
                              "(v128 or funcref values)",
                              name);
    if (nargs != strlen(t->params) || nresults != strlen(t->results))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "wasm: export '%s' takes %zu arguments and returns %zu values", name,
                              strlen(t->params), strlen(t->results));
    uint64_t argbuf[ASTRID_WASM_MAX_SIG + 1] = {0}, resbuf[ASTRID_WASM_MAX_SIG + 1] = {0};
    if (nargs)
        memcpy(argbuf, args, nargs * sizeof *args);
    fn_call c = {m->calls[slot], inst->w2c, argbuf, resbuf};
    astrid_watch w = {.owner = inst};
    if (timeout_ms)
        astrid_watchdog_arm(m->e->wd, &w, timeout_ms);
    /* An interrupt that came before the watch was armed still stops it. */
    if (timeout_ms && atomic_load(&inst->interrupted))
        astrid_watchdog_expire_owner(m->e->wd, inst);
    inst->host_why[0] = 0;
    int code = astrid_rt_call(run_fn, &c, timeout_ms ? &w.dl : NULL, inst->cap_pages, err);
    if (timeout_ms)
        astrid_watchdog_disarm(m->e->wd, &w);
    if (code < 0)
        return -1;
    if (out)
        out->trap = kind_of(code);
    if (code == ASTRID_RT_TRAP_EXIT) {
        if (out)
            out->exit_code = inst->exit_code;
        return 0;
    }
    if (code != 0) {
        char where[300];
        snprintf(where, sizeof where, "export '%.200s'", name);
        return trap_error(inst, code, where, err);
    }
    if (nresults)
        memcpy(results, resbuf, nresults * sizeof *results);
    return 0;
}

int astrid_wasm_global_get(astrid_wasm_instance *inst, const char *name, uint64_t *bits, char *type)
{
    const astrid_wasm_module *m = inst->m;
    size_t k = 0;
    for (size_t x = 0; x < m->info.nexports; x++) {
        const astrid_wasm_export *ex = &m->info.exports[x];
        if (ex->kind != ASTRID_WASM_EXT_GLOBAL)
            continue;
        if (strcmp(ex->name, name) == 0) {
            void *p = m->globals[k](inst->w2c);
            *type = ex->global_type;
            *bits = 0;
            size_t sz = (ex->global_type == 'i' || ex->global_type == 'f') ? 4 : 8;
            memcpy(bits, p, sz);
            return 0;
        }
        k++;
    }
    return -1;
}

void *astrid_wasm_host_ctx(astrid_wasm_instance *inst)
{
    return inst->host_ctx;
}

struct astrid_wasi *astrid_wasm_instance_wasi(astrid_wasm_instance *inst)
{
    return inst->wasi;
}

uint8_t *astrid_wasm_mem(astrid_wasm_instance *inst, uint32_t ptr, uint32_t len)
{
    wasm_rt_memory_t *mem = inst->m->memory(inst->w2c);
    if (!mem || (uint64_t)ptr + len > mem->size)
        return NULL;
    return mem->data + ptr;
}

void astrid_wasm_host_enter(astrid_wasm_instance *inst)
{
    (void)inst;
    astrid_rt_host_enter();
}

void astrid_wasm_host_leave(astrid_wasm_instance *inst)
{
    (void)inst;
    astrid_rt_host_leave();
}

int astrid_wasm_deadline_expired(void)
{
    return astrid_rt_deadline_expired();
}

void astrid_wasm_host_trap(astrid_wasm_instance *inst, const char *why)
{
    snprintf(inst->host_why, sizeof inst->host_why, "%s", why ? why : "");
    astrid_rt_trap(ASTRID_RT_TRAP_HOST);
}

void astrid_wasm_host_exit(astrid_wasm_instance *inst, int code)
{
    inst->exit_code = code;
    astrid_rt_trap(ASTRID_RT_TRAP_EXIT);
}
