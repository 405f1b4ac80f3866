/* The host side of the capsule ABI (docs/abi.md): one host module per WIT
 * interface, every function present (those of later issues answer an error
 * naming what is missing), and the per-invocation context they run under.
 *
 * Every host function receives the astrid_wasm_instance; its host ctx is
 * the astrid_invocation the caller (the kernel's capsule runtime) set up
 * for this one call: the invoking principal's KV namespace, home, log and
 * secrets. Nothing in here keeps state between invocations.
 *
 * Ownership: the env and manifest are borrowed for the invocation.
 */
#ifndef ASTRID_CAPSULE_HOST_H
#define ASTRID_CAPSULE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "capsule/manifest.h"
#include "capsule/wasm/engine.h"

struct astrid_kv;

/* What the runtime lends the host functions (thread-safe services). */
typedef struct astrid_host_env {
    const char *home;      /* $ASTRID_HOME */
    const char *workspace; /* cwd:// root; NULL = the principal's home */
    struct astrid_kv *kv;  /* var/state.db */
    /* Publish `payload` (JSON text) on `topic` as `principal` from `source_id`,
     * charged to the (source, principal) token bucket. */
    int (*publish)(void *ctx, const char *topic, const char *payload, size_t len,
                   const char *source_id, const char *principal, astrid_err *err);
    void *publish_ctx;
} astrid_host_env;

typedef struct astrid_invocation {
    const astrid_host_env *env;
    const astrid_manifest *manifest;
    const char *capsule;       /* manifest name (CapsuleId) */
    char source_id[37];        /* the capsule's runtime UUID */
    char principal[65];        /* the invoking principal */
    bool has_caller;           /* triggered by a message */
    char caller_principal[65]; /* "" when the message carried none */
    char caller_source[37];
    char caller_time[40]; /* RFC 3339 */
    char kv_ns[160];      /* "{principal}:capsule:{capsule}" */
} astrid_invocation;

/* Fill the principal-derived fields (kv namespace). */
void astrid_invocation_init(astrid_invocation *inv, const astrid_host_env *env,
                            const astrid_manifest *m, const char *source_id, const char *principal);

/* The host modules to give the engine (astrid:capsule/<iface>@0.1.0 x11). */
extern const astrid_wasm_host_module astrid_capsule_host_modules[];
extern const size_t astrid_capsule_host_nmodules;

/* Append a line to home/{principal}/.local/log/{capsule}/{YYYY-MM-DD}.log
 * ("{unix_secs.millis} {LEVEL} [{capsule}] {message}"). */
void astrid_capsule_log(const astrid_invocation *inv, const char *level, const char *msg,
                        size_t len);

#endif
