/* The WebAssembly engine: ahead-of-time compilation through wasm2c and the
 * system C compiler, cached shared objects, instances with a memory cap,
 * per-call wall-clock deadlines, and traps reported as errors.
 *
 * Lifecycle and ownership:
 *   astrid_wasm_engine_new()    -> caller owns; astrid_wasm_engine_free()
 *                                  after every module loaded from it is freed.
 *   astrid_wasm_module_load()   -> caller owns; astrid_wasm_module_free()
 *                                  after every instance of it is freed.
 *   astrid_wasm_instantiate()   -> caller owns; astrid_wasm_instance_free().
 * The engine copies the config strings it keeps. Modules are immutable and
 * may be instantiated from any thread concurrently; one instance is used by
 * one thread at a time (give each invocation its own instance: they are
 * cheap, and no state can leak between principals that way).
 *
 * Threads: the engine owns one watchdog thread (started with the engine)
 * that signals a guest thread whose deadline passed. Guests run on the
 * caller's thread, which needs at least 1 MiB of stack.
 *
 * Host functions: a module's imports must name functions listed in the
 * host modules given in the engine config (see astrid_wasm_host_module);
 * each is a C function exported from the executable (binaries link with
 * -rdynamic) under wasm2c's mangled name, e.g. `Z_wasi_snapshot_preview1Z_fd_write`,
 * and receives the `astrid_wasm_instance *` as its first argument.
 */
#ifndef ASTRID_CAPSULE_WASM_ENGINE_H
#define ASTRID_CAPSULE_WASM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_WASM_DEFAULT_MAX_MEMORY (64ull << 20)
#define ASTRID_WASM_DEFAULT_TIMEOUT_MS 300000ull   /* interceptors */
#define ASTRID_WASM_LIFECYCLE_TIMEOUT_MS 600000ull /* install/upgrade hooks */

typedef struct astrid_wasm_engine astrid_wasm_engine;
typedef struct astrid_wasm_module astrid_wasm_module;
typedef struct astrid_wasm_instance astrid_wasm_instance;

/* One host item: a function (kind 0) with signature letters i=i32 I=i64
 * f=f32 F=f64; or, for kind 1 table / 2 memory / 3 global, an accessor
 * (wasm2c's `wasm_rt_memory_t *Z_modZ_name(void *)` etc.) with, for a
 * global, its type letter in `params`, for a table or memory its limits
 * ("min max" or "min") in `params`. */
typedef struct astrid_wasm_host_func {
    const char *name;
    const char *params;
    const char *results;
    int kind;
} astrid_wasm_host_func;

/* A module name whose items the host provides. `allow_other` must be set
 * for tables, memories and globals to be importable at all. */
typedef struct astrid_wasm_host_module {
    const char *name;
    const astrid_wasm_host_func *funcs;
    size_t nfuncs;
    int allow_other;
} astrid_wasm_host_module;

typedef enum astrid_wasm_stage {
    ASTRID_WASM_STAGE_VALIDATE,
    ASTRID_WASM_STAGE_TRANSLATE, /* wasm2c */
    ASTRID_WASM_STAGE_COMPILE,   /* cc */
    ASTRID_WASM_STAGE_CACHED,    /* written to (or found in) the cache */
} astrid_wasm_stage;

typedef void (*astrid_wasm_progress_fn)(void *user, astrid_wasm_stage stage, const char *what);

typedef struct astrid_wasm_engine_config {
    const char *cache_dir;       /* required, e.g. $ASTRID_HOME/bin/aot (created 0700) */
    const char *cc;              /* C compiler; NULL = "cc" */
    const char *wasm2c;          /* NULL = "wasm2c" */
    int opt_level;               /* -O level for guests, 0..3; negative = 2 */
    uint64_t compile_timeout_ms; /* per compiler run; 0 = 10 minutes */
    size_t max_module_bytes;     /* 0 = 64 MiB */
    /* A large module's C is split into translation units compiled in
     * parallel (w2c_split.h). aot_parts: 0 = by size (at most aot_jobs),
     * 1 = never split, n = n parts (tests, benchmarks); aot_jobs: compilers
     * at once per module, 0 = the online cores. Neither changes cache keys. */
    int aot_parts;
    int aot_jobs;
    const astrid_wasm_host_module *host_modules; /* borrowed for the engine's life */
    size_t nhost_modules;
} astrid_wasm_engine_config;

astrid_wasm_engine *astrid_wasm_engine_new(const astrid_wasm_engine_config *cfg, astrid_err *err);
void astrid_wasm_engine_free(astrid_wasm_engine *e);

typedef struct astrid_wasm_load_opts {
    /* Module name wasm2c uses for symbols; needed only when another module
     * imports this one by name (linking). NULL = "m". */
    const char *link_name;
    /* Names of guest modules this module may import from (provided as
     * instances in astrid_wasm_instance_config.links). */
    const char *const *link_modules;
    size_t nlink_modules;
    astrid_wasm_progress_fn progress;
    void *progress_user;
} astrid_wasm_load_opts;

/* Validate, compile (or find in the cache) and load a module. `opts` may be
 * NULL. Errors: ASTRID_E_PARSE/ASTRID_E_INVALID for a malformed or invalid
 * module, ASTRID_E_NOTFOUND for an import the host does not provide,
 * ASTRID_E_LIMIT for size, ASTRID_E_IO/ASTRID_E_INTERNAL for toolchain or
 * cache failures. Never fatal. `*cache_hit` (optional) tells whether the
 * compiled object came from the cache. */
astrid_wasm_module *astrid_wasm_module_load(astrid_wasm_engine *e, const uint8_t *wasm, size_t len,
                                            const astrid_wasm_load_opts *opts, int *cache_hit,
                                            astrid_err *err);
void astrid_wasm_module_free(astrid_wasm_module *m);

/* Hex cache key of the module (BLAKE3 over wasm, engine version, compiler
 * identity and flags), borrowed. */
const char *astrid_wasm_module_key(const astrid_wasm_module *m);

typedef struct astrid_wasm_link {
    const char *module;             /* import module name */
    astrid_wasm_instance *provider; /* instance loaded with that link_name */
} astrid_wasm_link;

typedef struct astrid_wasm_instance_config {
    uint64_t max_memory_bytes; /* 0 = 64 MiB; rounded down to 64 KiB pages */
    void *host_ctx;            /* for host functions (astrid_wasm_host_ctx) */
    struct astrid_wasi *wasi;  /* WASI context (wasi.h), borrowed; NULL = none */
    const astrid_wasm_link *links;
    size_t nlinks;
    uint64_t start_timeout_ms; /* deadline for the start function; 0 = default */
} astrid_wasm_instance_config;

/* Trap kinds, as reported by astrid_wasm_outcome. */
typedef enum astrid_wasm_trap_kind {
    ASTRID_WASM_OK = 0,
    ASTRID_WASM_TRAP_OOB,
    ASTRID_WASM_TRAP_INT_OVERFLOW,
    ASTRID_WASM_TRAP_DIV_BY_ZERO,
    ASTRID_WASM_TRAP_INVALID_CONVERSION,
    ASTRID_WASM_TRAP_UNREACHABLE,
    ASTRID_WASM_TRAP_CALL_INDIRECT,
    ASTRID_WASM_TRAP_EXHAUSTION,
    ASTRID_WASM_TRAP_DEADLINE,
    ASTRID_WASM_TRAP_MEMORY_LIMIT,
    ASTRID_WASM_TRAP_RESOURCE,
    ASTRID_WASM_TRAP_HOST,
    ASTRID_WASM_EXITED, /* WASI proc_exit: not an error; exit_code set */
    ASTRID_WASM_TRAP_OTHER,
} astrid_wasm_trap_kind;

typedef struct astrid_wasm_outcome {
    astrid_wasm_trap_kind trap;
    int exit_code;
} astrid_wasm_outcome;

/* Instantiate (runs the start function, if any, under a deadline). A trap
 * there, an initial memory above the cap, or a missing link fails with an
 * error naming the cause; `out` (optional) gets the trap kind. */
astrid_wasm_instance *astrid_wasm_instantiate(astrid_wasm_module *m,
                                              const astrid_wasm_instance_config *cfg,
                                              astrid_wasm_outcome *out, astrid_err *err);
void astrid_wasm_instance_free(astrid_wasm_instance *inst);
/* The module an instance was made from (borrowed). */
astrid_wasm_module *astrid_wasm_instance_module(const astrid_wasm_instance *inst);

/* Call export `name`. Arguments and results are raw bit patterns in
 * uint64_t (i32 zero-extended, f32/f64 as their IEEE bits, externref as a
 * pointer). `timeout_ms` 0 = no deadline (run loops). Returns 0 when the
 * call returned or the guest called proc_exit (out->trap == EXITED), -1 on
 * a trap (err names it; out->trap says which) or a bad call. */
int astrid_wasm_call(astrid_wasm_instance *inst, const char *name, const uint64_t *args,
                     size_t nargs, uint64_t *results, size_t nresults, uint64_t timeout_ms,
                     astrid_wasm_outcome *out, astrid_err *err);

/* Export signature ("ii" / "i"): 0 if found. Strings borrowed. */
int astrid_wasm_export_sig(const astrid_wasm_module *m, const char *name, const char **params,
                           const char **results);
/* The function index an export names (two exports naming the same index
 * are aliases): 0 if found. */
int astrid_wasm_export_func_index(const astrid_wasm_module *m, const char *name, uint32_t *index);
/* timeout_ms for a call with no deadline that astrid_wasm_instance_interrupt
 * can still stop (run loops). */
#define ASTRID_WASM_FOREVER UINT64_MAX
/* Stop the instance's current (or next) call with a deadline trap, from
 * any thread: a guest computing is signalled; one in a host function traps
 * when it returns (host functions that block should poll
 * astrid_wasm_instance_interrupted). Permanent for the instance. */
void astrid_wasm_instance_interrupt(astrid_wasm_instance *inst);
int astrid_wasm_instance_interrupted(const astrid_wasm_instance *inst);
/* Exported global's value bits and type letter; -1 if no such global. */
int astrid_wasm_global_get(astrid_wasm_instance *inst, const char *name, uint64_t *bits,
                           char *type);

/* ---- for host functions (called with the instance as first argument) */
void *astrid_wasm_host_ctx(astrid_wasm_instance *inst);
struct astrid_wasi *astrid_wasm_instance_wasi(astrid_wasm_instance *inst);
/* Guest memory [ptr, ptr+len) of the instance's exported "memory" (or its
 * first memory), or NULL when out of bounds or there is none. Valid until
 * the guest runs again (memory.grow may not move it, but be strict). */
uint8_t *astrid_wasm_mem(astrid_wasm_instance *inst, uint32_t ptr, uint32_t len);
/* Bracket every host function body: enter traps on deadline/too little
 * stack, leave traps when the deadline passed during the call. A blocking
 * host call is interrupted by a signal (EINTR) at the deadline and should
 * check astrid_wasm_deadline_expired(). */
void astrid_wasm_host_enter(astrid_wasm_instance *inst);
void astrid_wasm_host_leave(astrid_wasm_instance *inst);
int astrid_wasm_deadline_expired(void);
/* Abort the guest call with a trap (HOST) or a clean exit (EXITED). Never
 * returns; hold no locks or heap memory when calling. */
_Noreturn void astrid_wasm_host_trap(astrid_wasm_instance *inst, const char *why);
_Noreturn void astrid_wasm_host_exit(astrid_wasm_instance *inst, int code);

#ifdef __cplusplus
}
#endif
#endif
