/* Per-principal copy-on-write overlay of the workspace (reference §12.3,
 * §12.4; issue #17 point 5).
 *
 * A capsule's cwd:// writes never touch the workspace: they land in the
 * invoking principal's upper tree, $ASTRID_HOME/home/{p}/.local/overlay/
 * {W}/upper/<rel> ({W} = the first 16 hex digits of the BLAKE3 of the
 * canonical workspace path: one overlay per principal and workspace), and
 * its deletes become whiteouts (one workspace-relative path a line in
 * .local/overlay/{W}/whiteouts, rewritten atomically). Reads see
 * the upper tree first, then the workspace unless a whiteout hides the
 * path or one of its ancestors. Both trees sit under .local, which the VFS
 * guard refuses to guests, so a capsule reaches them only through these
 * calls. Agent A's upper tree is never consulted for agent B.
 *
 * The guard of src/vfs/vfs.h still decides first: callers resolve the
 * guest path with astrid_vfs_resolve (lexical '..' refusal, symlinks
 * canonicalised, kernel state refused) and pass the resolved path; its
 * `rel` (symlink-free, root-relative) names the entry in the upper tree.
 * The upper tree is walked with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, the
 * workspace at commit time too, so a symlink planted later leads nowhere.
 *
 * Registry: at most `max` principals have an in-memory handle (default
 * 1024, ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS, min 1). A handle is taken
 * for one operation (acquire/release); at capacity the least recently
 * used handle nobody holds is dropped. Dropping frees memory only: the
 * pending changes stay on disk and the next acquire sees them.
 *
 * Upstream never commits an overlay (§12.3: changes vanish with the
 * capsule). Ours are kept until the operator decides: commit applies them
 * to the workspace one file at a time (temp file + fsync + rename),
 * discard removes them. Both run under the kernel's admin authority and
 * are audited by the request pipeline; no capsule can call them.
 *
 * Ownership: the registry owns its handles; an acquired handle stays valid
 * until released. Strings passed in are copied.
 */
#ifndef ASTRID_VFS_OVERLAY_H
#define ASTRID_VFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "astrid/err.h"
#include "astrid/home.h"
#include "vfs/vfs.h"

#define ASTRID_OVERLAY_DEFAULT_MAX 1024
#define ASTRID_OVERLAY_DIR ASTRID_PHOME_OVERLAY
#define ASTRID_OVERLAY_MAX_FILE (50u << 20) /* copied at commit, as upstream */

typedef struct astrid_overlay astrid_overlay;
typedef struct astrid_overlay_registry astrid_overlay_registry;

/* ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS or the default; 0 and garbage are
 * refused (-1 with the variable named). */
int astrid_overlay_max_from_env(size_t *out, astrid_err *err);

/* `home` = $ASTRID_HOME, `workspace` = the lower layer (both must exist). */
astrid_overlay_registry *astrid_overlay_registry_new(const char *home, const char *workspace,
                                                     size_t max, astrid_err *err);
void astrid_overlay_registry_free(astrid_overlay_registry *r);

/* The handle of `principal` (created, evicting the idlest unheld one at
 * capacity). NULL with ASTRID_E_LIMIT when every handle is held. */
astrid_overlay *astrid_overlay_acquire(astrid_overlay_registry *r, const char *principal,
                                       astrid_err *err);
void astrid_overlay_release(astrid_overlay_registry *r, astrid_overlay *ov);

/* Introspection for tests and `workspace` requests. */
size_t astrid_overlay_registry_count(astrid_overlay_registry *r);
bool astrid_overlay_registry_holds(astrid_overlay_registry *r, const char *principal);

/* Does the overlay apply to this resolved path? Workspace mount, and not
 * inside $ASTRID_HOME (a `~` workspace reaches the principal's own home
 * through cwd://, which is the home, not the workspace). */
bool astrid_overlay_applies(const astrid_overlay_registry *r, const astrid_vfs_path *p);

/* The merged view; `p` resolved by astrid_vfs_resolve on the workspace.
 * open: read-only flags read through; a write needs O_CREAT|O_TRUNC (the
 * whole file is replaced, nothing to copy up). Errors as in vfs.h. */
int astrid_overlay_open(astrid_overlay *ov, const astrid_vfs_path *p, int flags, int mode,
                        astrid_err *err);
int astrid_overlay_lstat(astrid_overlay *ov, const astrid_vfs_path *p, struct stat *st,
                         astrid_err *err);
int astrid_overlay_mkdir(astrid_overlay *ov, const astrid_vfs_path *p, astrid_err *err);
int astrid_overlay_unlink(astrid_overlay *ov, const astrid_vfs_path *p, astrid_err *err);
/* Bytes of the principal's own copy of p in the upper tree (0: none):
 * what its storage quota is charged for. */
int64_t astrid_overlay_own_size(astrid_overlay *ov, const astrid_vfs_path *p);
/* Merged names (malloc'd array of malloc'd strings, caller frees all). */
int astrid_overlay_readdir(astrid_overlay *ov, const astrid_vfs_path *p, char ***names, size_t *n,
                           size_t max, astrid_err *err);

/* One pending change. */
typedef struct astrid_overlay_change {
    char *path;         /* workspace-relative; a directory ends with '/' */
    const char *change; /* "added", "modified", "deleted" */
} astrid_overlay_change;

/* Sorted by path; free with astrid_overlay_changes_free. */
int astrid_overlay_diff(astrid_overlay *ov, astrid_overlay_change **out, size_t *n,
                        astrid_err *err);
void astrid_overlay_changes_free(astrid_overlay_change *c, size_t n);

/* Apply every change to the workspace (deletions deepest first, then each
 * file atomically), removing each from the overlay as it lands; on an
 * error what is not applied stays pending. *applied counts the changes. */
int astrid_overlay_commit(astrid_overlay *ov, size_t *applied, astrid_err *err);
/* Drop every pending change. */
int astrid_overlay_discard(astrid_overlay *ov, astrid_err *err);

#endif
