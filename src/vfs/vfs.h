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
 * so a symlink cannot lead out. Opening goes through astrid_vfs_open(), which
 * uses openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) so a race that swaps a
 * component for a symlink after the check still cannot escape.
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

#include "astrid/err.h"

typedef enum astrid_vfs_mount {
    ASTRID_VFS_HOME,
    ASTRID_VFS_TMP,
    ASTRID_VFS_WORKSPACE,
} astrid_vfs_mount;

/* Roots for one invocation. `principal_home` may be NULL when the invoking
 * principal has no home on disk: then home:// and /tmp are denied. */
typedef struct astrid_vfs_roots {
    const char *principal_home; /* $ASTRID_HOME/home/{p} */
    const char *workspace;      /* workspace root */
} astrid_vfs_roots;

typedef struct astrid_vfs_path {
    astrid_vfs_mount mount;
    char root[PATH_MAX];     /* canonical physical root of the mount */
    char rel[PATH_MAX];      /* normalised root-relative path ("" = the root) */
    char physical[PATH_MAX]; /* root + rel */
} astrid_vfs_path;

/* Resolve a guest path. Errors: ASTRID_E_INVALID for malformed paths,
 * ASTRID_E_PERM for escapes ("path escapes root boundary: ...") and for
 * home:// or /tmp without a principal home ("home:// scheme is not available
 * ..."). */
int astrid_vfs_resolve(const astrid_vfs_roots *roots, const char *guest, astrid_vfs_path *out,
                       astrid_err *err);

/* openat2 beneath the mount root; flags as for open(2) (O_CREAT needs mode).
 * Returns an fd or -1. */
int astrid_vfs_open(const astrid_vfs_path *p, int flags, int mode, astrid_err *err);

/* Manifest gate: does an entry of `entries` (fs_read or fs_write values:
 * "*", "cwd://X", "home://X", or a literal absolute prefix) allow the
 * resolved path? Component-wise prefix match ("/a/b" allows "/a/b/c", not
 * "/a/bc"). */
bool astrid_vfs_gate_allows(const astrid_vfs_roots *roots, const char *const *entries,
                            size_t n_entries, const astrid_vfs_path *p);

#endif
