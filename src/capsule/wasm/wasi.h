/* WASI preview 1 (`wasi_snapshot_preview1`) for wasi-libc guests.
 *
 * Nothing reaches the host except through this context: stdout/stderr go to
 * a log callback, stdin reads as empty, files only under the preopened
 * directories the caller maps (resolved with openat2(RESOLVE_BENEATH), so
 * neither `..` nor a symlink can leave them; without openat2 every path
 * call fails with ENOTCAPABLE), args/environ only as given. Preopens need
 * the VFS guard (src/vfs): every path call goes through
 * astrid_vfs_pin_at/astrid_vfs_openat, so the kernel's own state stays out
 * of reach even when a preopen contains it (refusals are ENOTCAPABLE). Calls not
 * listed in wasi.c's table return ENOSYS.
 *
 * Ownership: astrid_wasi_new() copies everything from the config; the
 * caller owns the result and frees it with astrid_wasi_free() after the
 * instance using it is freed. One context per instance (it holds the
 * guest's fd table).
 */
#ifndef ASTRID_CAPSULE_WASM_WASI_H
#define ASTRID_CAPSULE_WASM_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "capsule/wasm/engine.h"

/* `fd` is 1 (stdout) or 2 (stderr); data is not NUL-terminated. */
typedef void (*astrid_wasi_log_fn)(void *user, int fd, const char *data, size_t len);

typedef struct astrid_wasi_preopen {
    const char *guest_path; /* e.g. "/home" */
    const char *host_dir;   /* an existing host directory */
} astrid_wasi_preopen;

struct astrid_vfs_guard;

typedef struct astrid_wasi_config {
    const char *const *argv;
    size_t argc;
    const char *const *env; /* "KEY=value"; only non-secret manifest env */
    size_t nenv;
    const astrid_wasi_preopen *preopens;
    size_t npreopens;
    astrid_wasi_log_fn log;
    void *log_user;
    /* Storage accounting for file writes under the preopens (NULL: none):
     * growth (delta > 0) is charged before a write and a non-zero return
     * refuses it (the call fails with EDQUOT, nothing written); truncation,
     * unlink and a rename over a file credit (delta < 0). */
    int (*charge)(void *user, int64_t delta);
    void *charge_user;
    /* Required when npreopens > 0 (copied); see astrid_vfs_guard_init. */
    const struct astrid_vfs_guard *guard;
} astrid_wasi_config;

typedef struct astrid_wasi astrid_wasi;

astrid_wasi *astrid_wasi_new(const astrid_wasi_config *cfg, astrid_err *err);
void astrid_wasi_free(astrid_wasi *w);

/* The host module descriptor to list in astrid_wasm_engine_config. */
extern const astrid_wasm_host_module astrid_wasi_host_module;

#endif
