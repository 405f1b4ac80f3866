/* The one invocation path for capsules. See invoke.h.
 *
 * Every guest call made for the kernel or the installer goes through an
 * `instance` below: the per-invocation context, its WASI, the wasm
 * instance under the memory cap, `_initialize`. The export-side ABI
 * (lowering astrid-hook-trigger's arguments with the guest's cabi_realloc,
 * lifting the capsule-result it returns) lives here too; the import side
 * is src/capsule/host/. */
#include "capsule/invoke.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "capsule/wasm/wasi.h"

#define HOST_MODULES_MAX 16
/* Instances of one capsule an interrupt can reach; beyond, a running
 * invocation is not interruptible, only awaited. */
#define ACTIVE_MAX 64
/* cabi_realloc and post-return: the guest's own bookkeeping. */
#define CABI_TIMEOUT_MS 10000
/* A string lifted from a capsule-result (payload or reason). */
#define RESULT_STRING_MAX (5u << 20)
/* Idle instances kept per capsule for reuse by the same principal, and
 * how long one may wait unused. One per principal; POOL_DEFAULT slots,
 * ASTRID_INSTANCE_POOL up to POOL_MAX; the default stays at what the ASan
 * soak holds flat (16 and 64 grew it past its bound under CI's load). */
#define POOL_MAX 256
#define POOL_DEFAULT 4
#define POOL_IDLE_MS 60000
/* Pins (see "Unsaved state" below): instances whose guest holds state it
 * has not saved, kept beside the slots, at most PIN_MAX per capsule, each
 * for at most PIN_MS_MAX after its invocation. */
#define PIN_MAX 256
#define PIN_MS_MAX 3600000u
#define POOL_CAP (POOL_MAX + PIN_MAX)
#define EXPORT_UNSAVED "astrid-unsaved-ms"
#define EXPORT_SAVE "astrid-save"
/* A run loop's `_initialize` (its `run` has no deadline). */
#define RUN_INIT_TIMEOUT_MS 10000
/* The run thread's stack: the engine needs at least 1 MiB. */
#define RUN_STACK (8u << 20)

struct astrid_capsule_engine {
    astrid_wasm_engine *wasm;
    size_t pool_max; /* ASTRID_INSTANCE_POOL, read once: 0 = a fresh instance each time */
    astrid_wasm_host_module hosts[HOST_MODULES_MAX]; /* borrowed by `wasm` */
};

struct instance;

/* An idle instance and whom it may serve next: only the principal it ran
 * for, with the same memory cap. Pinned until `pinned_until_ms` (0: not
 * pinned): its guest's memory holds state not yet saved. */
typedef struct pooled {
    struct instance *x;
    char principal[65];
    uint64_t max_memory_bytes;
    uint64_t idle_since_ms;
    uint64_t seq; /* order of pooling: idle_since_ms ties within a millisecond */
    uint64_t pinned_until_ms;
} pooled;

struct astrid_capsule {
    astrid_installed inst;
    astrid_wasm_module *mod; /* NULL until prepared */
    bool run_loop;
    /* guards active, nactive, stopping, pool, npool, pins_promised */
    pthread_mutex_t active_lock;
    astrid_wasm_instance *active[ACTIVE_MAX];
    size_t nactive;
    bool stopping;
    pooled pool[POOL_CAP];
    size_t npool;
    size_t pins_promised; /* pins granted to instances not yet back in the pool */
    uint64_t pool_seq;    /* the last pooled's seq */
    size_t pool_max;      /* the engine's, set at prepare */
    bool saves_state;     /* exports astrid-unsaved-ms and astrid-save */
};

astrid_capsule_engine *astrid_capsule_engine_new(const char *home, astrid_err *err)
{
    size_t n = astrid_capsule_host_nmodules;
    if (n + 1 > HOST_MODULES_MAX) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "host module table too small");
        return NULL;
    }
    astrid_capsule_engine *e = calloc(1, sizeof *e);
    if (!e) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(e->hosts, astrid_capsule_host_modules, n * sizeof *e->hosts);
    /* 0 turns reuse off (measurements, or a capsule that cannot bear it) */
    const char *pool = getenv("ASTRID_INSTANCE_POOL");
    unsigned long want = pool && *pool ? strtoul(pool, NULL, 10) : POOL_DEFAULT;
    e->pool_max = want < POOL_MAX ? (size_t)want : POOL_MAX;
    e->hosts[n] = astrid_wasi_host_module;
    char cache[4200];
    if (astrid_home_aot_dir(cache, sizeof cache, home, err) != 0) {
        free(e);
        return NULL;
    }
    /* Capsules are compiled for a quick first run: -O0 (as they always
     * were here), and by clang when it is installed: on wasm2c's output of
     * our capsules clang -O0 needs about a third of gcc -O0's CPU, which is
     * most of a cold `astrid init`. bench_wasm prints what -O0 costs at run
     * time; the compiler and level are in every cache key. */
    char clang[4096];
    astrid_wasm_engine_config cfg = {
        .cache_dir = cache,
        .cc = astrid_find_program("clang", clang, sizeof clang) == 0 ? clang : NULL,
        .opt_level = 0,
        .host_modules = e->hosts,
        .nhost_modules = n + 1};
    if (!(e->wasm = astrid_wasm_engine_new(&cfg, err))) {
        free(e);
        return NULL;
    }
    return e;
}

void astrid_capsule_engine_free(astrid_capsule_engine *e)
{
    if (!e)
        return;
    astrid_wasm_engine_free(e->wasm);
    free(e);
}

astrid_wasm_engine *astrid_capsule_engine_wasm(astrid_capsule_engine *e)
{
    return e->wasm;
}

int astrid_capsule_open(const char *home, const char *owner, const char *dir, astrid_capsule **out,
                        astrid_err *err)
{
    *out = NULL;
    astrid_capsule *c = calloc(1, sizeof *c);
    if (!c)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (astrid_installed_load(home, owner, dir, &c->inst, err) != 0) {
        free(c);
        return -1;
    }
    pthread_mutex_init(&c->active_lock, NULL);
    *out = c;
    return 0;
}

const astrid_installed *astrid_capsule_installed(const astrid_capsule *c)
{
    return &c->inst;
}

/* A `run` that merely aliases astrid-install/astrid-upgrade (the same
 * function) is a stub: the capsule is a plain interceptor capsule. */
static bool module_is_run_loop(const astrid_wasm_module *mod)
{
    uint32_t run, other;
    const char *params, *results;
    if (astrid_wasm_export_func_index(mod, "run", &run) != 0 ||
        astrid_wasm_export_sig(mod, "run", &params, &results) != 0 || *params || *results)
        return false;
    static const char *const hooks[] = {"astrid-install", "astrid-upgrade"};
    for (size_t i = 0; i < 2; i++)
        if (astrid_wasm_export_func_index(mod, hooks[i], &other) == 0 && other == run)
            return false;
    return true;
}

int astrid_capsule_prepare(astrid_capsule *c, astrid_capsule_engine *e, astrid_err *err)
{
    c->pool_max = e->pool_max;
    if (!c->inst.wasm) /* MCP servers only: nothing to compile, never invoked */
        return 0;
    if (!(c->mod =
              astrid_wasm_module_load(e->wasm, c->inst.wasm, c->inst.wasm_len, NULL, NULL, err)))
        return -1;
    c->run_loop = module_is_run_loop(c->mod);
    const char *params, *results;
    /* the unsaved-state protocol takes both exports with their signatures:
     * half of it would pin for ever or promise a save nobody makes */
    bool has_unsaved = astrid_wasm_export_sig(c->mod, EXPORT_UNSAVED, &params, &results) == 0;
    bool unsaved_ok = has_unsaved && !*params && !strcmp(results, "i");
    bool has_save = astrid_wasm_export_sig(c->mod, EXPORT_SAVE, &params, &results) == 0;
    bool save_ok = has_save && !*params && !*results;
    if ((has_unsaved || has_save) && !(unsaved_ok && save_ok))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "capsule %s: " EXPORT_UNSAVED " () -> i32 and " EXPORT_SAVE
                              " () come together (exports: %s%s)",
                              c->inst.manifest->name, has_unsaved ? EXPORT_UNSAVED " " : "",
                              has_save ? EXPORT_SAVE : "");
    c->saves_state = unsaved_ok && save_ok;
    if (!c->run_loop &&
        astrid_wasm_export_sig(c->mod, "astrid-hook-trigger", &params, &results) != 0 &&
        c->inst.manifest->ninterceptors > 0)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "capsule %s declares interceptors but exports no astrid-hook-trigger",
                              c->inst.manifest->name);
    return 0;
}

bool astrid_capsule_is_run_loop(const astrid_capsule *c)
{
    return c->run_loop;
}

static void pool_drain(astrid_capsule *c);

void astrid_capsule_free(astrid_capsule *c)
{
    if (!c)
        return;
    pool_drain(c); /* before the module its instances run */
    astrid_wasm_module_free(c->mod);
    astrid_installed_free(&c->inst);
    pthread_mutex_destroy(&c->active_lock);
    free(c);
}

void astrid_capsule_result_clear(astrid_capsule_result *r)
{
    free(r->data);
    *r = (astrid_capsule_result){0};
}

/* ---- one instance with its invocation context */

typedef struct instance {
    astrid_invocation inv; /* the instance's host ctx: must not move */
    astrid_wasi *wasi;
    astrid_wasm_instance *wasm;
} instance;

static void wasi_log(void *user, int fd, const char *data, size_t len)
{
    astrid_capsule_log(user, fd == 2 ? "WARN" : "INFO", data,
                       len && data[len - 1] == '\n' ? len - 1 : len);
}

/* The context of `pc` for a capsule owned by `owner` (the principal an
 * empty run-loop drain falls back to), its WASI (stdout/stderr to the
 * capsule log, file growth charged to the principal) and the instance. */
static int instance_new(instance *x, astrid_wasm_module *mod, const astrid_manifest *m,
                        const char *owner, const astrid_principal_ctx *pc, astrid_err *err)
{
    x->wasi = NULL;
    x->wasm = NULL;
    astrid_invocation_init(&x->inv, pc->env, m, pc->source_id, pc->principal);
    snprintf(x->inv.owner, sizeof x->inv.owner, "%s", owner);
    if (pc->caller) /* the triggering message is the caller (as a run loop's recv) */
        astrid_invocation_switch(&x->inv, pc->principal, pc->caller);
    astrid_wasi_config wc = {.log = wasi_log,
                             .log_user = &x->inv,
                             .charge = astrid_invocation_wasi_charge,
                             .charge_user = &x->inv};
    if (!(x->wasi = astrid_wasi_new(&wc, err)))
        return -1;
    astrid_wasm_instance_config ic = {
        .max_memory_bytes = pc->max_memory_bytes, .host_ctx = &x->inv, .wasi = x->wasi};
    if (!(x->wasm = astrid_wasm_instantiate(mod, &ic, NULL, err)))
        return -1;
    return 0;
}

static int instance_initialize(instance *x, uint64_t timeout_ms, astrid_err *err)
{
    const char *params, *results;
    if (astrid_wasm_export_sig(astrid_wasm_instance_module(x->wasm), "_initialize", &params,
                               &results) != 0)
        return 0;
    return astrid_wasm_call(x->wasm, "_initialize", NULL, 0, NULL, 0, timeout_ms, NULL, err);
}

static void instance_free(instance *x)
{
    astrid_invocation_release(&x->inv);
    astrid_wasm_instance_free(x->wasm);
    astrid_wasi_free(x->wasi);
    x->wasm = NULL;
    x->wasi = NULL;
}

/* ---- the pool of idle instances (see invoke.h, "Instances")
 *
 * An idle instance keeps its linear memory (the guest's globals and heap)
 * and its WASI state, nothing else: its invocation context was released
 * when its invocation ended (subscriptions, HTTP streams, sockets) and is
 * made afresh for the next one. It is handed only to the principal it
 * ran for — memory is never shared between principals — and only with the
 * same memory cap. An instance that trapped or was interrupted is never
 * pooled (its memory may be mid-update).
 *
 * Unsaved state. A guest may keep state in memory ahead of KV (react: a
 * streaming turn's deltas, written to KV at most every 250 ms). Evicting
 * such an instance would lose it silently — with more agents active than
 * slots, issue #18's load run ended chat turns with empty answers. So a
 * capsule may export `astrid-unsaved-ms` () -> i32 and `astrid-save` ().
 * After each clean invocation, under that invocation's context, the first
 * says for how many ms the guest's memory holds state it has not saved
 * (0: none). Such an instance is pinned for that long (at most PIN_MS_MAX):
 * no slot pressure evicts it and its principal's next invocation takes it
 * before any other idle one. When no pin can be had (PIN_MAX pinned,
 * ASTRID_INSTANCE_POOL=0, the capsule stopping) the guest is asked to save
 * at once (`astrid-save`, same context) before the instance may go. Either
 * way, state leaves an instance only through the guest's own save; an
 * expired pin is the guest's deadline (react's is its LLM timeout, after
 * which the turn ends with an error rather than go on from an old copy). */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool is_pinned(const pooled *p, uint64_t now)
{
    return p->pinned_until_ms > now;
}

/* Under active_lock: moves to `out` the unpinned idle instances past
 * POOL_IDLE_MS, then the longest idle unpinned ones until at most `keep`
 * unpinned remain (an expired pin counts as unpinned). Pinned ones stay. */
static size_t pool_trim(astrid_capsule *c, uint64_t now, size_t keep, instance **out)
{
    size_t n = 0, unpinned = 0;
    for (size_t i = 0; i < c->npool;) {
        pooled *p = &c->pool[i];
        if (!is_pinned(p, now) && now - p->idle_since_ms > POOL_IDLE_MS) {
            out[n++] = p->x;
            *p = c->pool[--c->npool];
        } else {
            unpinned += !is_pinned(p, now);
            i++;
        }
    }
    for (; unpinned > keep; unpinned--) {
        size_t old = c->npool;
        for (size_t i = 0; i < c->npool; i++)
            if (!is_pinned(&c->pool[i], now) &&
                (old == c->npool || c->pool[i].seq < c->pool[old].seq))
                old = i;
        out[n++] = c->pool[old].x;
        c->pool[old] = c->pool[--c->npool];
    }
    return n;
}

static void drop_instances(instance **xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        astrid_wasm_instance_free(xs[i]->wasm);
        astrid_wasi_free(xs[i]->wasi);
        free(xs[i]);
    }
}

/* An idle instance of `principal` with `max_mem`, taken out of the pool;
 * NULL when there is none. A pinned one first (its memory is ahead of
 * KV), else the most recently used. */
static instance *pool_take(astrid_capsule *c, const char *principal, uint64_t max_mem)
{
    instance *gone[POOL_CAP], *x = NULL;
    uint64_t now = mono_ms();
    pthread_mutex_lock(&c->active_lock);
    size_t ngone = pool_trim(c, now, c->pool_max, gone);
    size_t best = c->npool;
    for (size_t i = 0; i < c->npool && !c->stopping; i++) {
        const pooled *p = &c->pool[i];
        if (p->max_memory_bytes != max_mem || strcmp(p->principal, principal) != 0)
            continue;
        if (best == c->npool || is_pinned(p, now) > is_pinned(&c->pool[best], now) ||
            (is_pinned(p, now) == is_pinned(&c->pool[best], now) && p->seq > c->pool[best].seq))
            best = i;
    }
    if (best < c->npool) {
        x = c->pool[best].x;
        c->pool[best] = c->pool[--c->npool];
    }
    pthread_mutex_unlock(&c->active_lock);
    drop_instances(gone, ngone);
    return x;
}

/* A pin for an instance about to be pooled, promised now (while its
 * invocation's context still allows a save instead): false when PIN_MAX
 * instances are pinned or promised, reuse is off, or the capsule stops. */
static bool pin_promise(astrid_capsule *c)
{
    uint64_t now = mono_ms();
    pthread_mutex_lock(&c->active_lock);
    size_t pinned = c->pins_promised;
    for (size_t i = 0; i < c->npool; i++)
        pinned += is_pinned(&c->pool[i], now);
    bool ok = !c->stopping && c->pool_max > 0 && pinned < PIN_MAX;
    if (ok)
        c->pins_promised++;
    pthread_mutex_unlock(&c->active_lock);
    return ok;
}

/* Keep `x` (its context released) for `principal`'s next invocation,
 * pinned until `pin_until` (0: not pinned; non-zero only with a promise
 * from pin_promise). One idle instance per principal (and memory cap), so
 * the pool grows with the agents that use the capsule, not with how many
 * invocations of one agent ran at once (the soak's eight clients of four
 * agents grew it by 33 MiB): an older unpinned one of the same principal
 * goes — a pinned one stays, its unsaved state is its own — and past the
 * slots the longest idle unpinned one makes room. Freed instead once the
 * capsule stops. */
static void pool_put(astrid_capsule *c, instance *x, const char *principal, uint64_t max_mem,
                     uint64_t pin_until)
{
    instance *gone[POOL_CAP + 1];
    size_t ngone = 0;
    uint64_t now = mono_ms();
    pthread_mutex_lock(&c->active_lock);
    if (pin_until)
        c->pins_promised--;
    if (c->stopping || (!pin_until && !c->pool_max)) {
        gone[ngone++] = x;
    } else {
        for (size_t i = 0; i < c->npool;) {
            pooled *p = &c->pool[i];
            if (!is_pinned(p, now) && p->max_memory_bytes == max_mem &&
                strcmp(p->principal, principal) == 0) {
                gone[ngone++] = p->x;
                *p = c->pool[--c->npool];
            } else {
                i++;
            }
        }
        ngone += pool_trim(c, now, pin_until ? c->pool_max : c->pool_max - 1, gone + ngone);
        if (c->npool >= POOL_CAP) { /* cannot happen: pins <= PIN_MAX, the rest <= pool_max */
            gone[ngone++] = x;
        } else {
            pooled *p = &c->pool[c->npool++];
            p->x = x;
            snprintf(p->principal, sizeof p->principal, "%s", principal);
            p->max_memory_bytes = max_mem;
            p->idle_since_ms = now;
            p->seq = ++c->pool_seq;
            p->pinned_until_ms = pin_until;
        }
    }
    pthread_mutex_unlock(&c->active_lock);
    drop_instances(gone, ngone);
}

static void pool_drain(astrid_capsule *c)
{
    instance *gone[POOL_CAP];
    pthread_mutex_lock(&c->active_lock);
    size_t n = c->npool;
    for (size_t i = 0; i < n; i++)
        gone[i] = c->pool[i].x;
    c->npool = 0;
    pthread_mutex_unlock(&c->active_lock);
    drop_instances(gone, n);
}

/* After a clean invocation, before its context is released: the guest's
 * unsaved state pinned (*pin_until set, a promise taken) or saved by the
 * guest now. false: the instance must not be pooled (an export trapped;
 * whatever it held unsaved is lost with it, as with a trap in the hook). */
static bool settle_unsaved(astrid_capsule *c, instance *x, uint64_t timeout_ms, uint64_t *pin_until)
{
    *pin_until = 0;
    if (!c->saves_state)
        return true;
    uint64_t r[1] = {0};
    astrid_err e;
    if (astrid_wasm_call(x->wasm, EXPORT_UNSAVED, NULL, 0, r, 1, CABI_TIMEOUT_MS, NULL, &e) != 0)
        return false;
    uint32_t ms = (uint32_t)r[0];
    if (ms == 0)
        return true;
    if (pin_promise(c)) {
        *pin_until = mono_ms() + (ms < PIN_MS_MAX ? ms : PIN_MS_MAX);
        return true;
    }
    return astrid_wasm_call(x->wasm, EXPORT_SAVE, NULL, 0, NULL, 0, timeout_ms, NULL, &e) == 0 &&
           !astrid_wasm_instance_interrupted(x->wasm);
}

/* ---- interrupts */

static void active_add(astrid_capsule *c, astrid_wasm_instance *inst)
{
    pthread_mutex_lock(&c->active_lock);
    if (c->nactive < ACTIVE_MAX)
        c->active[c->nactive++] = inst;
    /* started after an interrupt: stop at once */
    if (c->stopping)
        astrid_wasm_instance_interrupt(inst);
    pthread_mutex_unlock(&c->active_lock);
}

static void active_remove(astrid_capsule *c, astrid_wasm_instance *inst)
{
    pthread_mutex_lock(&c->active_lock);
    for (size_t i = 0; i < c->nactive; i++)
        if (c->active[i] == inst) {
            c->active[i] = c->active[--c->nactive];
            break;
        }
    pthread_mutex_unlock(&c->active_lock);
}

size_t astrid_capsule_interrupt(astrid_capsule *c)
{
    pthread_mutex_lock(&c->active_lock);
    c->stopping = true;
    size_t n = c->nactive;
    for (size_t i = 0; i < n; i++)
        astrid_wasm_instance_interrupt(c->active[i]);
    pthread_mutex_unlock(&c->active_lock);
    return n;
}

/* ---- export-side ABI (docs/abi.md "Guest export astrid-hook-trigger") */

/* Allocate `len` bytes in the guest (cabi_realloc) and copy `data` there. */
static int lower_bytes(astrid_wasm_instance *inst, const void *data, size_t len, uint32_t *ptr,
                       astrid_err *err)
{
    if (len > UINT32_MAX)
        return astrid_err_set(err, ASTRID_E_LIMIT, "argument too large for the guest");
    uint64_t a[4] = {0, 0, 1, len}, r[1] = {0};
    if (astrid_wasm_call(inst, "cabi_realloc", a, 4, r, 1, CABI_TIMEOUT_MS, NULL, err) != 0)
        return -1;
    *ptr = (uint32_t)r[0];
    if (!len)
        return 0;
    uint8_t *g = *ptr ? astrid_wasm_mem(inst, *ptr, (uint32_t)len) : NULL;
    if (!g)
        return astrid_err_set(err, ASTRID_E_INVALID, "cabi_realloc returned an invalid pointer");
    memcpy(g, data, len);
    return 0;
}

/* A copy of the string whose (ptr u32, len u32) is at `slot`; NULL when
 * out of bounds or larger than RESULT_STRING_MAX. */
static char *lift_string(astrid_wasm_instance *inst, const uint8_t *slot)
{
    uint32_t p, n;
    memcpy(&p, slot, 4);
    memcpy(&n, slot + 4, 4);
    const uint8_t *g = n ? astrid_wasm_mem(inst, p, n) : (const uint8_t *)"";
    if (!g || n > RESULT_STRING_MAX)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, g, n);
        s[n] = '\0';
    }
    return s;
}

/* Lift the capsule-result at `retptr`, then let the guest free it
 * (cabi_post_astrid-hook-trigger). A data string out of bounds reads as
 * no data; an action out of bounds fails the invocation. */
static int decode_result(astrid_wasm_instance *inst, uint32_t retptr, astrid_capsule_result *out,
                         astrid_err *err)
{
    const uint8_t *g = astrid_wasm_mem(inst, retptr, ASTRID_CAPSULE_RESULT_SIZE);
    if (!g)
        return astrid_err_set(err, ASTRID_E_INVALID, "capsule-result out of bounds");
    uint8_t cr[ASTRID_CAPSULE_RESULT_SIZE];
    memcpy(cr, g, sizeof cr);
    char *act = lift_string(inst, cr + ASTRID_CAPSULE_RESULT_ACTION);
    char *data = cr[ASTRID_CAPSULE_RESULT_DATA_TAG] != 0
                     ? lift_string(inst, cr + ASTRID_CAPSULE_RESULT_DATA)
                     : NULL;
    const char *params, *results;
    if (astrid_wasm_export_sig(astrid_wasm_instance_module(inst), "cabi_post_astrid-hook-trigger",
                               &params, &results) == 0) {
        uint64_t post[1] = {retptr};
        astrid_err perr; /* the result is already read: a failing free is the guest's loss */
        astrid_wasm_call(inst, "cabi_post_astrid-hook-trigger", post, 1, NULL, 0, CABI_TIMEOUT_MS,
                         NULL, &perr);
    }
    if (!act) {
        free(data);
        return astrid_err_set(err, ASTRID_E_INVALID, "capsule-result action out of bounds");
    }
    out->action = strcmp(act, "deny") == 0    ? ASTRID_CAPSULE_DENY
                  : strcmp(act, "final") == 0 ? ASTRID_CAPSULE_FINAL
                                              : ASTRID_CAPSULE_CONTINUE;
    out->data = data;
    out->len = data ? strlen(data) : 0;
    free(act);
    return 0;
}

int astrid_capsule_invoke(astrid_capsule *c, const astrid_principal_ctx *pc, const char *action,
                          const uint8_t *payload, size_t len, astrid_capsule_result *out,
                          astrid_err *err)
{
    *out = (astrid_capsule_result){0};
    if (!c->mod)
        return astrid_err_set(err, ASTRID_E_INVALID, "capsule %s has no wasm component to invoke",
                              c->inst.manifest->name);
    int rc = -1;
    instance *x = pool_take(c, pc->principal, pc->max_memory_bytes);
    bool fresh = !x;
    if (x) {
        /* the same memory, a new context: this invocation's caller, env
         * and handles (the last one's were released) */
        astrid_invocation_init(&x->inv, pc->env, c->inst.manifest, pc->source_id, pc->principal);
        snprintf(x->inv.owner, sizeof x->inv.owner, "%s", c->inst.owner);
        if (pc->caller)
            astrid_invocation_switch(&x->inv, pc->principal, pc->caller);
    } else if (!(x = calloc(1, sizeof *x))) {
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    } else if (instance_new(x, c->mod, c->inst.manifest, c->inst.owner, pc, err) != 0) {
        goto done;
    }
    active_add(c, x->wasm);
    if (fresh && instance_initialize(x, pc->timeout_ms, err) != 0)
        goto done;
    size_t alen = strlen(action);
    uint32_t aptr, pptr = 0;
    if (lower_bytes(x->wasm, action, alen, &aptr, err) != 0 ||
        (len && lower_bytes(x->wasm, payload, len, &pptr, err) != 0))
        goto done;
    uint64_t a[4] = {aptr, alen, pptr, len}, r[1] = {0};
    if (astrid_wasm_call(x->wasm, "astrid-hook-trigger", a, 4, r, 1, pc->timeout_ms, NULL, err) !=
        0)
        goto done;
    rc = decode_result(x->wasm, (uint32_t)r[0], out, err);
done:
    if (rc == 0 && !astrid_wasm_instance_interrupted(x->wasm)) {
        uint64_t pin_until;
        bool keep = settle_unsaved(c, x, pc->timeout_ms, &pin_until);
        active_remove(c, x->wasm);
        if (keep) {
            astrid_invocation_release(&x->inv); /* while pc->env is still alive */
            pool_put(c, x, pc->principal, pc->max_memory_bytes, pin_until);
            return rc;
        }
    } else if (x->wasm) {
        active_remove(c, x->wasm);
    }
    instance_free(x);
    free(x);
    return rc;
}

/* ---- run loops */

struct astrid_capsule_run {
    astrid_host_env env; /* the invocation's, copied: outlives the caller's */
    instance x;
    pthread_t thread;
    bool started;
    astrid_capsule_run_exit_fn on_exit;
    void *user;
};

/* The capsule run thread: the guest's `run` and nothing else. */
static void *run_main(void *arg)
{
    astrid_capsule_run *r = arg;
    astrid_wasm_outcome out = {0};
    astrid_err err;
    int rc = astrid_wasm_call(r->x.wasm, "run", NULL, 0, NULL, 0, ASTRID_WASM_FOREVER, &out, &err);
    bool interrupted = astrid_wasm_instance_interrupted(r->x.wasm) != 0;
    if (r->on_exit)
        r->on_exit(r->user, rc, interrupted, rc ? err.msg : "");
    return NULL;
}

int astrid_capsule_run_start(astrid_capsule *c, const astrid_principal_ctx *pc,
                             astrid_capsule_run_exit_fn on_exit, void *user,
                             astrid_capsule_run **out, astrid_err *err)
{
    *out = NULL;
    const astrid_manifest *m = c->inst.manifest;
    if (m->ninterceptors > ASTRID_MAX_INTERCEPTOR_HANDLES)
        return astrid_err_set(err, ASTRID_E_LIMIT,
                              "run-loop capsule %s declares %zu interceptors (at most %d)", m->name,
                              m->ninterceptors, ASTRID_MAX_INTERCEPTOR_HANDLES);
    astrid_capsule_run *r = calloc(1, sizeof *r);
    if (!r)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    r->env = *pc->env;
    r->on_exit = on_exit;
    r->user = user;
    astrid_principal_ctx rpc = *pc;
    rpc.env = &r->env;
    rpc.caller = NULL;
    if (instance_new(&r->x, c->mod, m, c->inst.owner, &rpc, err) != 0 ||
        instance_initialize(&r->x, RUN_INIT_TIMEOUT_MS, err) != 0)
        goto fail;
    for (size_t i = 0; i < m->ninterceptors; i++) {
        uint64_t h;
        if (astrid_invocation_subscribe(&r->x.inv, m->interceptors[i].event,
                                        m->interceptors[i].action, true, &h, err) != 0)
            goto fail;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RUN_STACK);
    int rc = pthread_create(&r->thread, &attr, run_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        astrid_err_set(err, ASTRID_E_IO, "cannot start the run thread of %s", m->name);
        goto fail;
    }
    r->started = true;
    *out = r;
    return 0;
fail:
    instance_free(&r->x);
    free(r);
    return -1;
}

void astrid_capsule_run_stop(astrid_capsule_run *r)
{
    if (!r)
        return;
    if (r->started) {
        astrid_wasm_instance_interrupt(r->x.wasm);
        pthread_join(r->thread, NULL);
    }
    instance_free(&r->x);
    free(r);
}

/* ---- lifecycle hooks */

int astrid_capsule_call_lifecycle(astrid_wasm_module *mod, const astrid_manifest *m,
                                  const astrid_principal_ctx *pc, const char *hook, bool *ran,
                                  astrid_err *err)
{
    if (ran)
        *ran = false;
    instance x;
    int rc = -1;
    if (instance_new(&x, mod, m, pc->principal, pc, err) != 0 ||
        instance_initialize(&x, pc->timeout_ms, err) != 0)
        goto out;
    if (ran)
        *ran = true;
    astrid_wasm_outcome o = {0};
    if (astrid_wasm_call(x.wasm, hook, NULL, 0, NULL, 0, pc->timeout_ms, &o, err) != 0)
        goto out;
    if (o.trap == ASTRID_WASM_EXITED && o.exit_code != 0) {
        astrid_err_set(err, ASTRID_E_INVALID, "exited with status %d", o.exit_code);
        goto out;
    }
    rc = 0;
out:
    instance_free(&x);
    return rc;
}
