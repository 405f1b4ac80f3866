/* Guest path schemes and confinement (reference §12.5) for the host `fs`
 * functions and WASI preopens.
 *
 *   home://<rel>        -> the invoking principal's home/{p}/
 *   /tmp or /tmp/<rel>  -> home/{p}/.local/tmp/
 *   cwd://<rel>         -> the workspace root
 *   anything else       -> the workspace root (leading '/' stripped)
 *
 * Resolution is lexical first (no '..' component, no NUL, never absolute
 * after the scheme), then physical: the deepest existing ancestor is
 * canonicalised (symlinks resolved) and must stay under the canonical root,
 * so a symlink cannot lead out.
 *
 * The one rule (astrid_vfs_guard_check), whatever the scheme: no path
 * reaches the kernel's own state. Denied, by canonical path:
 *   - everything under $ASTRID_HOME (etc, keys, run, var, log, bin, wit,
 *     secrets, other principals' homes, anything added later) except
 *   - the invoking principal's own home/{p}, minus its kernel-owned parts:
 *     all of .local/ except .local/tmp/ (audit, capsules, tokens, kv, log)
 *     and all of .config/ (env, the legacy profile.toml);
 *   - {workspace}/.astrid (workspace capsules the kernel loads as default).
 * A workspace may contain $ASTRID_HOME (the `~` layout); the daemon refuses
 * one that is or lies inside it (astrid_kernel_check_workspace).
 *
 * Every operation below re-checks the physical object it acts on, so a
 * component swapped for a symlink after resolution cannot escape: the parent
 * directory is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS)
 * beneath the mount root, its real path (/proc/self/fd) is checked, and the
 * last component is acted on relative to that pinned directory without
 * following a symlink; an opened file's real path is checked again.
 *
 * The manifest gate (astrid_vfs_gate_allows) then decides read/write access
 * from the capsule's fs_read/fs_write entries.
 * All buffers are caller-owned; nothing here allocates.
 */
#ifndef ASTRID_VFS_H
#define ASTRID_VFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "astrid/err.h"

typedef enum astrid_vfs_mount {
    ASTRID_VFS_HOME,
    ASTRID_VFS_TMP,
    ASTRID_VFS_WORKSPACE,
} astrid_vfs_mount;

/* Roots for one invocation. `principal_home` may be NULL when the invoking
 * principal has no home on disk: then home:// and /tmp are denied.
 * `astrid_home` is required: without it nothing resolves (fail closed). */
typedef struct astrid_vfs_roots {
    const char *principal_home; /* $ASTRID_HOME/home/{p} */
    const char *workspace;      /* workspace root */
    const char *astrid_home;    /* $ASTRID_HOME */
} astrid_vfs_roots;

/* The denied set of one invocation, as canonical paths. */
typedef struct astrid_vfs_guard {
    char astrid_home[PATH_MAX]; /* never "" once initialised */
    char own_home[PATH_MAX];    /* "" = the principal has no home */
    char ws_state[PATH_MAX];    /* {workspace}/.astrid; "" = no workspace */
} astrid_vfs_guard;

typedef struct astrid_vfs_path {
    astrid_vfs_mount mount;
    char root[PATH_MAX];     /* canonical physical root of the mount */
    char rel[PATH_MAX];      /* normalised root-relative path ("" = the root) */
    char physical[PATH_MAX]; /* root + rel */
    astrid_vfs_guard guard;  /* what no operation on this path may reach */
} astrid_vfs_path;

/* Canonicalise the roots into a guard. Errors: ASTRID_E_PERM when
 * astrid_home is NULL, ASTRID_E_IO when it does not resolve. */
int astrid_vfs_guard_init(astrid_vfs_guard *g, const astrid_vfs_roots *roots, astrid_err *err);

/* The one rule: 0 if the canonical path `canon` is reachable, else -1 with
 * ASTRID_E_PERM and a message naming `shown` (the guest's name for it) and
 * the reason ("path is kernel-owned state: ..."). */
int astrid_vfs_guard_check(const astrid_vfs_guard *g, const char *canon, const char *shown,
                           astrid_err *err);

/* The same for an open fd, by its real path (/proc/self/fd). Fails closed
 * when the real path cannot be read. */
int astrid_vfs_guard_check_fd(const astrid_vfs_guard *g, int fd, const char *shown,
                              astrid_err *err);

/* Resolve a guest path. Errors: ASTRID_E_INVALID for malformed paths,
 * ASTRID_E_PERM for escapes ("path escapes root boundary: ..."), for
 * kernel-owned state (the guard) and for home:// or /tmp without a
 * principal home ("home:// scheme is not available ..."). */
int astrid_vfs_resolve(const astrid_vfs_roots *roots, const char *guest, astrid_vfs_path *out,
                       astrid_err *err);

/* Open beneath the mount root, guarded; flags as for open(2) (O_CREAT needs
 * mode). A last component that is a symlink is followed only to an existing
 * object (never created through), and the object reached is checked.
 * Returns an fd or -1 (ASTRID_E_NOTFOUND for ENOENT, ASTRID_E_PERM for a
 * refusal). */
int astrid_vfs_open(const astrid_vfs_path *p, int flags, int mode, astrid_err *err);

/* The same two steps relative to an open root directory fd (WASI preopens
 * use these): astrid_vfs_pin_at opens (O_PATH) the directory holding `rel`
 * beneath `rootfd`, checks it and the entry named by the last component
 * (copied to `base`, "." for the root itself) and returns the pinned fd;
 * astrid_vfs_openat opens `rel` as astrid_vfs_open does. `shown` names the
 * path in errors. Both return an fd the caller closes, or -1. */
int astrid_vfs_pin_at(const astrid_vfs_guard *g, int rootfd, const char *rel, char *base, size_t bn,
                      const char *shown, astrid_err *err);
int astrid_vfs_openat(const astrid_vfs_guard *g, int rootfd, const char *rel, int flags, int mode,
                      const char *shown, astrid_err *err);

/* lstat of the resolved path (a symlink itself is not followed). */
int astrid_vfs_lstat(const astrid_vfs_path *p, struct stat *st, astrid_err *err);

/* mkdir -p (0700), each level created in a guarded, pinned parent. */
int astrid_vfs_mkdir(const astrid_vfs_path *p, astrid_err *err);

/* Remove a file, a symlink (not its target) or an empty directory; the
 * mount root itself is refused. */
int astrid_vfs_unlink(const astrid_vfs_path *p, astrid_err *err);

/* The guest's name for a resolved path ("cwd://a/b", "home://x", "/tmp/y"). */
void astrid_vfs_shown(const astrid_vfs_path *p, char *out, size_t n);

/* Manifest gate: does an entry of `entries` (fs_read or fs_write values:
 * "*", "cwd://X", "home://X", or a literal absolute prefix) allow the
 * resolved path? Component-wise prefix match ("/a/b" allows "/a/b/c", not
 * "/a/bc"). */
bool astrid_vfs_gate_allows(const astrid_vfs_roots *roots, const char *const *entries,
                            size_t n_entries, const astrid_vfs_path *p);

#endif
