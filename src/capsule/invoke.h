/* One invocation API for capsules (docs/capsules.md "An invocation").
 *
 * The kernel decides who and what: which capsule runs for which message,
 * Layer 3 admission, the private/shared owner rule, the quotas it reads
 * from the principal's profile, counters, dispatch lanes and failure
 * reports. This layer does how: loading an installed capsule (validated
 * manifest + verified wasm -> AOT module), making an instance under the
 * principal's memory cap and deadline, the per-invocation context the host
 * functions run under (astrid_invocation: principal, KV namespace, home,
 * log, secrets, caller; WASI with the storage charge), `_initialize`, the
 * canonical-ABI lowering of astrid-hook-trigger's arguments and the
 * decoding of its capsule-result, and run-loop threads. Nothing above
 * src/capsule/ sees a wasm instance or a guest address.
 *
 * Ownership:
 *   astrid_capsule_engine_new() -> caller owns; astrid_capsule_engine_free()
 *     after every capsule prepared with it is freed.
 *   astrid_capsule_open()       -> caller owns; astrid_capsule_free() once no
 *     invocation runs and its run loop (if any) is stopped.
 *   astrid_capsule_result       -> the caller owns `data`
 *     (astrid_capsule_result_clear).
 *   astrid_principal_ctx        -> borrowed for the call; its env must
 *     outlive the invocation (astrid_capsule_run_start copies the env).
 *
 * Instances: an invocation runs in an instance of its own — no two
 * invocations share one at the same time. When it returns cleanly the
 * instance is kept (one per principal, at most 4 idle per capsule by default, 60 s) and handed to the
 * next invocation of the *same principal* with the same memory cap, its
 * `_initialize` not run again: the guest's globals and heap carry over
 * between that principal's invocations (as upstream's one instance per
 * capsule, but never across principals), its host context — caller,
 * subscriptions, HTTP streams, sockets — does not. A trap or an
 * interrupt frees the instance. State that must survive belongs in KV.
 * A guest that keeps state in memory ahead of KV exports
 * `astrid-unsaved-ms` () -> i32 and `astrid-save` () (both or neither,
 * else prepare refuses it): after each clean invocation, still under its
 * context, an instance with unsaved state is pinned for the ms it names
 * (beside the slots, at most 256 per capsule, at most an hour; taken first
 * by its principal) or, when no pin can be had, asked to save
 * (invoke.c, "Unsaved state").
 *
 * Threads: a prepared capsule may be invoked from any number of threads at
 * once (each taking its own instance; `active_lock` guards the pool). astrid_capsule_interrupt may
 * be called from any thread. A run loop runs on a thread this layer starts ("capsule run thread":
 * nothing but that guest's `run`), joined by astrid_capsule_run_stop. */
#ifndef ASTRID_CAPSULE_INVOKE_H
#define ASTRID_CAPSULE_INVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "capsule/host/host.h"
#include "lib/manifest/installed.h"
#include "lib/manifest/manifest.h"

struct astrid_msg;

/* The AOT engine with the capsule ABI and WASI host modules, caching
 * compiled modules in {home}/bin/aot. Thread-safe. */
typedef struct astrid_capsule_engine astrid_capsule_engine;
astrid_capsule_engine *astrid_capsule_engine_new(const char *home, astrid_err *err);
void astrid_capsule_engine_free(astrid_capsule_engine *e);
/* The wasm engine inside, borrowed: for the installer, which compiles a
 * module before it is installed (with progress reports). */
astrid_wasm_engine *astrid_capsule_engine_wasm(astrid_capsule_engine *e);

/* A loaded capsule: its installed record (manifest, owner, dir, verified
 * wasm) and, once prepared, its compiled module. */
typedef struct astrid_capsule astrid_capsule;

/* Read and verify the capsule installed in `dir` for `owner`
 * (astrid_installed_load: manifest, meta.json, wasm integrity). Nothing is
 * compiled yet, so the caller can apply its policy first. */
int astrid_capsule_open(const char *home, const char *owner, const char *dir, astrid_capsule **out,
                        astrid_err *err);
/* Compile (or find in the cache) and check the exports: a capsule whose
 * `run` is a real loop is a run loop; any other capsule declaring
 * interceptors must export astrid-hook-trigger. */
int astrid_capsule_prepare(astrid_capsule *c, astrid_capsule_engine *e, astrid_err *err);
/* Borrowed for the capsule's life. */
const astrid_installed *astrid_capsule_installed(const astrid_capsule *c);
/* After prepare: is the module's `run` a real loop (not an alias of
 * astrid-install/astrid-upgrade)? */
bool astrid_capsule_is_run_loop(const astrid_capsule *c);
void astrid_capsule_free(astrid_capsule *c);

/* Who an invocation runs for, as the kernel decided it. */
typedef struct astrid_principal_ctx {
    const char *principal;           /* the invoking principal, already admitted */
    uint64_t max_memory_bytes;       /* the instance's memory cap (quota) */
    uint64_t timeout_ms;             /* deadline of each guest call (quota) */
    const char *source_id;           /* the capsule's runtime UUID */
    const struct astrid_msg *caller; /* the triggering message (get-caller); NULL: none */
    const astrid_host_env *env;      /* the services and callbacks lent to host functions */
} astrid_principal_ctx;

typedef enum astrid_capsule_action {
    ASTRID_CAPSULE_CONTINUE,
    ASTRID_CAPSULE_FINAL,
    ASTRID_CAPSULE_DENY,
} astrid_capsule_action;

/* A decoded capsule-result: action "deny" and "final" map to their cases,
 * anything else continues. `data` (malloc'd, NUL-terminated, `len` bytes
 * up to the first NUL) is the replacement payload or the deny reason;
 * NULL when the capsule gave none. */
typedef struct astrid_capsule_result {
    astrid_capsule_action action;
    char *data;
    size_t len;
} astrid_capsule_result;
void astrid_capsule_result_clear(astrid_capsule_result *r);

/* One interceptor invocation: an idle instance of pc->principal or a
 * fresh one (then `_initialize`, if exported), astrid-hook-trigger(action,
 * payload) under `pc`, the result decoded into *out, the instance pooled
 * (clean return) or freed. 0, or -1 with err (a trap, a deadline,
 * an out-of-bounds result, an interrupt). */
int astrid_capsule_invoke(astrid_capsule *c, const astrid_principal_ctx *pc, const char *action,
                          const uint8_t *payload, size_t len, astrid_capsule_result *out,
                          astrid_err *err);

/* Interrupt every invocation of `c` running now and every one started
 * later (unload: nobody waits out a guest's deadline). Returns how many
 * were running. Any thread; permanent for the capsule. Run loops are
 * stopped by astrid_capsule_run_stop. */
size_t astrid_capsule_interrupt(astrid_capsule *c);

/* A run loop: one long-lived instance of a run-loop capsule under its
 * owner, its [[interceptor]]s subscribed as runtime-owned handles, `run`
 * called on a thread of its own without a deadline. */
typedef struct astrid_capsule_run astrid_capsule_run;
/* Called on the run thread when `run` returned or trapped: rc 0 returned
 * (or proc_exit), -1 trapped (`why` says how); `interrupted` when
 * astrid_capsule_run_stop caused it. */
typedef void (*astrid_capsule_run_exit_fn)(void *user, int rc, bool interrupted, const char *why);
/* Instantiate, `_initialize`, subscribe, start the thread. pc->principal is
 * the owner; pc->timeout_ms is not used (`run` has no deadline). On error
 * nothing is left running. */
int astrid_capsule_run_start(astrid_capsule *c, const astrid_principal_ctx *pc,
                             astrid_capsule_run_exit_fn on_exit, void *user,
                             astrid_capsule_run **out, astrid_err *err);
/* Interrupt the guest (one computing is signalled, one blocked in
 * ipc-recv notices within 100 ms), join the thread, free the instance.
 * NULL: nothing. */
void astrid_capsule_run_stop(astrid_capsule_run *r);

/* A lifecycle export (`astrid-install`, `astrid-upgrade`) of a bare module
 * (the installer's, not yet installed) under `pc`, which names the owner:
 * instance, `_initialize`, the hook, each with pc->timeout_ms. *ran tells
 * whether the hook itself was reached. A proc_exit with a non-zero status
 * fails. */
int astrid_capsule_call_lifecycle(astrid_wasm_module *mod, const astrid_manifest *m,
                                  const astrid_principal_ctx *pc, const char *hook, bool *ran,
                                  astrid_err *err);

/* capsule-result {action: string, data: option<string>} in guest memory
 * (canonical ABI of wit/astrid.wit, docs/abi.md; test_witgen checks these
 * against the WIT): a string is (ptr u32, len u32), an option's
 * discriminant is a u8 followed by its payload at string alignment. */
#define ASTRID_CAPSULE_RESULT_SIZE 20u
#define ASTRID_CAPSULE_RESULT_ACTION 0u
#define ASTRID_CAPSULE_RESULT_DATA_TAG 8u
#define ASTRID_CAPSULE_RESULT_DATA 12u

#endif
