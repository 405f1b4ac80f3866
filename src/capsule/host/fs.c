/* interface fs: files through the invoking principal's VFS (home://,
 * /tmp/, cwd://), gated by the manifest's fs_read / fs_write. Every call
 * goes through src/vfs, which keeps the kernel's own state out of reach
 * (astrid_vfs_guard_check) for the path and for the object actually
 * opened, created or removed. Writes are charged to the principal's
 * storage quota. A cwd:// path of the workspace goes through the invoking
 * principal's overlay (vfs/overlay.h) when the runtime lends one: writes
 * and deletes stay there until the operator commits them. Lifting and lowering are the generated
 * glue's (host_glue.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "host_glue.h"
#include "vfs/overlay.h"
#include "vfs/vfs.h"

#define PATH_ARG_MAX 4096
#define FILE_MAX (10u << 20)
#define READDIR_MAX 4096

/* Resolve and gate a guest path; 0, or -1 with the call failed. */
static int resolve(astrid_host_call *c, const astrid_str *guest, bool write, astrid_vfs_path *out)
{
    const astrid_invocation *inv = c->inv;
    if (guest->len > PATH_ARG_MAX)
        return astrid_host_fail(c, "%s: path over %d bytes", c->fn->name, PATH_ARG_MAX);
    char home[4200];
    /* "" when it cannot be built: the VFS then reaches nothing in the home */
    astrid_principal_home(home, sizeof home, inv->env->home, inv->principal, NULL);
    astrid_vfs_roots roots = {.principal_home = home,
                              .workspace = inv->env->workspace ? inv->env->workspace : home,
                              .astrid_home = inv->env->home};
    astrid_err err;
    const astrid_strv *gate = write ? &inv->manifest->fs_write : &inv->manifest->fs_read;
    if (astrid_vfs_resolve(&roots, guest->ptr, out, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    if (!astrid_vfs_gate_allows(&roots, (const char *const *)gate->v, gate->n, out))
        return astrid_host_fail(c, "capsule %s may not %s %s (not in its %s)", inv->capsule,
                                write ? "write" : "read", guest->ptr,
                                write ? "fs_write" : "fs_read");
    return 0;
}

/* The overlay p goes through: *ov NULL when none applies; -1 with the
 * call failed when one applies and cannot be had (fail closed: never
 * straight to the workspace instead). Release with ov_done. */
static int ov_get(astrid_host_call *c, const astrid_vfs_path *p, astrid_overlay **ov)
{
    astrid_overlay_registry *r = c->inv->env->overlays;
    *ov = NULL;
    if (!astrid_overlay_applies(r, p))
        return 0;
    astrid_err err;
    *ov = astrid_overlay_acquire(r, c->inv->principal, &err);
    return *ov ? 0 : astrid_host_fail(c, "%s", err.msg);
}

static void ov_done(astrid_host_call *c, astrid_overlay *ov)
{
    if (ov)
        astrid_overlay_release(c->inv->env->overlays, ov);
}

static int v_lstat(astrid_overlay *ov, const astrid_vfs_path *p, struct stat *st, astrid_err *err)
{
    return ov ? astrid_overlay_lstat(ov, p, st, err) : astrid_vfs_lstat(p, st, err);
}

static int v_open(astrid_overlay *ov, const astrid_vfs_path *p, int flags, int mode,
                  astrid_err *err)
{
    return ov ? astrid_overlay_open(ov, p, flags, mode, err) : astrid_vfs_open(p, flags, mode, err);
}

/* The size a regular file at p holds now (0: none, or not a file). */
static int64_t file_size(const astrid_vfs_path *p)
{
    struct stat st;
    return astrid_vfs_lstat(p, &st, NULL) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

int astrid_host_fs_read_file(astrid_host_call *c, const astrid_str *path, astrid_bytes *out)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    if (resolve(c, path, false, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    int fd = v_open(ov, &p, O_RDONLY | O_CLOEXEC, 0, &err);
    ov_done(c, ov);
    if (fd < 0)
        return astrid_host_fail(c, "%s", err.msg);
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        astrid_host_fail(c, "%s is not a regular file", p.rel);
    } else if ((uint64_t)st.st_size > FILE_MAX) {
        astrid_host_fail(c, "file larger than 10 MiB");
    } else {
        /* the buffer becomes the result (the glue frees it) */
        out->ptr = malloc((size_t)st.st_size + 1);
        ssize_t n = out->ptr ? read(fd, out->ptr, (size_t)st.st_size) : -1;
        if (n < 0)
            astrid_host_fail(c, "read %s: %s", p.rel, strerror(errno));
        else
            out->len = (size_t)n;
        rc = n < 0 ? -1 : 0;
    }
    close(fd);
    return rc;
}

int astrid_host_fs_write_file(astrid_host_call *c, const astrid_str *path,
                              const astrid_bytes *content)
{
    astrid_invocation *inv = c->inv;
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    if (content->len > FILE_MAX)
        return astrid_host_fail(c, "content larger than 10 MiB");
    if (resolve(c, path, true, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    /* charged before the open truncates: a refused write leaves the file
     * as it was (and creates none). In the overlay the copy is what the
     * principal stores (the workspace's file is not theirs). */
    int64_t old = ov ? astrid_overlay_own_size(ov, &p) : file_size(&p);
    int64_t cn = (int64_t)content->len;
    if (astrid_invocation_charge(inv, cn - old, &err) != 0) {
        ov_done(c, ov);
        return astrid_host_fail(c, "write %s: %s", p.rel, err.msg);
    }
    int fd = v_open(ov, &p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, &err);
    ov_done(c, ov);
    if (fd < 0) {
        astrid_invocation_charge(inv, old - cn, NULL);
        return astrid_host_fail(c, "%s", err.msg);
    }
    int rc = 0;
    if (write(fd, content->ptr, content->len) != (ssize_t)content->len) {
        rc = astrid_host_fail(c, "write %s: %s", p.rel, strerror(errno));
        /* charged for the content: correct to what the file holds now */
        struct stat st;
        int64_t now = fstat(fd, &st) == 0 ? st.st_size : 0;
        astrid_invocation_charge(inv, now - cn, NULL);
    }
    close(fd);
    return rc;
}

int astrid_host_fs_exists(astrid_host_call *c, const astrid_str *path, bool *out)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    struct stat st;
    if (resolve(c, path, false, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    int r = v_lstat(ov, &p, &st, &err);
    ov_done(c, ov);
    if (r != 0 && err.code != ASTRID_E_NOTFOUND)
        return astrid_host_fail(c, "%s", err.msg);
    *out = r == 0;
    return 0;
}

int astrid_host_fs_mkdir(astrid_host_call *c, const astrid_str *path)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    if (resolve(c, path, true, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    int r = ov ? astrid_overlay_mkdir(ov, &p, &err) : astrid_vfs_mkdir(&p, &err);
    ov_done(c, ov);
    if (r != 0)
        return astrid_host_fail(c, "%s", err.msg);
    return 0;
}

int astrid_host_fs_unlink(astrid_host_call *c, const astrid_str *path)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    if (resolve(c, path, true, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    /* in the overlay only the principal's own copy is freed */
    int64_t size = ov ? astrid_overlay_own_size(ov, &p) : file_size(&p);
    int r = ov ? astrid_overlay_unlink(ov, &p, &err) : astrid_vfs_unlink(&p, &err);
    ov_done(c, ov);
    if (r != 0)
        return astrid_host_fail(c, "%s", err.msg);
    astrid_invocation_charge(c->inv, -size, NULL); /* freed */
    return 0;
}

int astrid_host_fs_stat(astrid_host_call *c, const astrid_str *path, wit_file_stat *out)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    struct stat st;
    if (resolve(c, path, false, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    int r = v_lstat(ov, &p, &st, &err);
    ov_done(c, ov);
    if (r != 0)
        return astrid_host_fail(c, "%s", err.msg);
    out->size = (uint64_t)st.st_size;
    out->is_dir = S_ISDIR(st.st_mode);
    out->mtime.has = true;
    out->mtime.val = (uint64_t)st.st_mtime;
    return 0;
}

/* Entry names in the filesystem's order (the overlay's first), at most
 * READDIR_MAX. */
int astrid_host_fs_readdir(astrid_host_call *c, const astrid_str *path, wit_list_string *out)
{
    astrid_vfs_path p;
    astrid_overlay *ov;
    astrid_err err;
    if (resolve(c, path, false, &p) != 0 || ov_get(c, &p, &ov) != 0)
        return -1;
    char **names = NULL;
    size_t n = 0;
    if (ov) {
        int r = astrid_overlay_readdir(ov, &p, &names, &n, READDIR_MAX, &err);
        ov_done(c, ov);
        if (r != 0)
            return astrid_host_fail(c, "%s", err.msg);
    } else {
        int fd = astrid_vfs_open(&p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &err);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            if (fd >= 0)
                close(fd);
            return astrid_host_fail(c, "%s", fd < 0 ? err.msg : "not a directory");
        }
        struct dirent *de;
        while ((de = readdir(d)) && n < READDIR_MAX) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char **nv = realloc(names, (n + 1) * sizeof *nv);
            if (!nv)
                break;
            names = nv;
            if ((names[n] = strdup(de->d_name)))
                n++;
        }
        closedir(d);
    }
    out->v = astrid_host_take_strs(c, names, n);
    out->n = out->v ? n : 0;
    free(names);
    return out->v ? 0 : -1;
}
