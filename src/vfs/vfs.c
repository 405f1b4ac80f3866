#include "vfs/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "astrid/fs.h"

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Component-wise: `path` equals `root` or continues with '/'. */
static bool under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Canonicalise the deepest existing ancestor of `phys` and re-append the
 * missing tail, so symlinks in the existing part are resolved. */
static int canonical_with_tail(const char *phys, char *out, size_t n, astrid_err *err)
{
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s", phys);
    size_t len = strlen(probe);
    for (;;) {
        char real[PATH_MAX];
        if (realpath(probe, real)) {
            const char *tail = phys + len;
            int w = snprintf(out, n, "%s%s", strcmp(real, "/") == 0 && *tail ? "" : real, tail);
            if (w < 0 || (size_t)w >= n)
                return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
            return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
            return astrid_err_sys(err, "resolve %s", probe);
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe)
            return astrid_err_set(err, ASTRID_E_NOTFOUND, "no existing ancestor of %s", phys);
        *slash = '\0';
        len = (size_t)(slash - probe);
    }
}

int astrid_vfs_resolve(const astrid_vfs_roots *roots, const char *guest, astrid_vfs_path *out,
                       astrid_err *err)
{
    const char *rel;
    const char *root;
    if (starts_with(guest, "home://")) {
        out->mount = ASTRID_VFS_HOME;
        rel = guest + 7;
        root = roots->principal_home;
        if (!root)
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "home:// scheme is not available: the invoking principal has "
                                  "no home directory");
    } else if (strcmp(guest, "/tmp") == 0 || starts_with(guest, "/tmp/")) {
        out->mount = ASTRID_VFS_TMP;
        rel = guest + 4;
        while (*rel == '/')
            rel++;
        if (!roots->principal_home)
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "/tmp is not available: the invoking principal has no home "
                                  "directory");
        root = NULL;
    } else {
        out->mount = ASTRID_VFS_WORKSPACE;
        rel = starts_with(guest, "cwd://") ? guest + 6 : guest;
        while (*rel == '/')
            rel++;
        root = roots->workspace;
        if (!root)
            return astrid_err_set(err, ASTRID_E_PERM, "no workspace is mounted");
    }
    char rootbuf[PATH_MAX];
    if (out->mount == ASTRID_VFS_TMP) {
        if (astrid_path_join(rootbuf, sizeof rootbuf, roots->principal_home, ".local/tmp", err))
            return -1;
        root = rootbuf;
    }
    if (!realpath(root, out->root))
        return astrid_err_sys(err, "mount root %s", root);
    /* Lexical check: rejects '..', NUL, absolute remainder. */
    char joined[PATH_MAX];
    if (astrid_path_join(joined, sizeof joined, out->root, rel, err) != 0) {
        if (err)
            err->code = err->code == ASTRID_E_LIMIT ? ASTRID_E_LIMIT : ASTRID_E_PERM;
        return -1;
    }
    if (canonical_with_tail(joined, out->physical, sizeof out->physical, err) != 0)
        return -1;
    if (!under(out->physical, out->root))
        return astrid_err_set(err, ASTRID_E_PERM, "path escapes root boundary: %s", guest);
    const char *r = out->physical + strlen(out->root);
    while (*r == '/')
        r++;
    snprintf(out->rel, sizeof out->rel, "%s", r);
    return 0;
}

int astrid_vfs_open(const astrid_vfs_path *p, int flags, int mode, astrid_err *err)
{
    int dirfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return astrid_err_sys(err, "open mount root %s", p->root);
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOCTTY);
    how.mode = (flags & O_CREAT) ? (unsigned long long)mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const char *rel = p->rel[0] ? p->rel : ".";
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    int saved = errno;
    close(dirfd);
    if (fd < 0) {
        errno = saved;
        if (saved == EXDEV)
            return astrid_err_set(err, ASTRID_E_PERM, "path escapes root boundary: %s",
                                  p->physical);
        astrid_err_sys(err, "open %s", p->physical);
        if (err && saved == ENOENT)
            err->code = ASTRID_E_NOTFOUND;
        return -1;
    }
    return (int)fd;
}

bool astrid_vfs_gate_allows(const astrid_vfs_roots *roots, const char *const *entries,
                            size_t n_entries, const astrid_vfs_path *p)
{
    for (size_t i = 0; i < n_entries; i++) {
        const char *e = entries[i];
        char prefix[PATH_MAX];
        char canon[PATH_MAX];
        if (strcmp(e, "*") == 0) {
            if (roots->workspace && realpath(roots->workspace, canon) && under(p->physical, canon))
                return true;
            continue;
        }
        const char *base;
        const char *suffix;
        if (starts_with(e, "cwd://")) {
            base = roots->workspace;
            suffix = e + 6;
        } else if (starts_with(e, "home://")) {
            base = roots->principal_home;
            suffix = e + 7;
        } else if (e[0] == '/') {
            base = "/";
            suffix = e + 1;
        } else {
            continue; /* unknown forms never grant */
        }
        if (!base || !realpath(base, canon))
            continue;
        if (astrid_path_join(prefix, sizeof prefix, canon, suffix, NULL) != 0)
            continue; /* an entry with '..' grants nothing */
        if (under(p->physical, prefix))
            return true;
    }
    return false;
}
