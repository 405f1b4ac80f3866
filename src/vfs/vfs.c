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
#include "astrid/home.h"

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

/* The part of `path` after `root` (which it is under), without leading '/'. */
static const char *rest_of(const char *path, const char *root)
{
    const char *r = path + strlen(root);
    while (*r == '/')
        r++;
    return r;
}

/* ------------------------------------------------------------ the rule */

int astrid_vfs_guard_init(astrid_vfs_guard *g, const astrid_vfs_roots *roots, astrid_err *err)
{
    g->astrid_home[0] = g->own_home[0] = g->ws_state[0] = '\0';
    if (!roots->astrid_home)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "no ASTRID_HOME is known, so the kernel's state cannot be kept out "
                              "of reach: every path is refused");
    if (!realpath(roots->astrid_home, g->astrid_home))
        return astrid_err_sys(err, "ASTRID_HOME %s", roots->astrid_home);
    /* A home that does not resolve leaves nothing under $ASTRID_HOME
     * reachable, which is the safe side. */
    if (roots->principal_home && !realpath(roots->principal_home, g->own_home))
        g->own_home[0] = '\0';
    char ws[PATH_MAX], state[PATH_MAX];
    if (roots->workspace && realpath(roots->workspace, ws) &&
        astrid_path_join(state, sizeof state, ws, ".astrid", NULL) == 0 &&
        !realpath(state, g->ws_state))
        memcpy(g->ws_state, state, strlen(state) + 1); /* not there yet: guard the name */
    return 0;
}

int astrid_vfs_guard_check(const astrid_vfs_guard *g, const char *canon, const char *shown,
                           astrid_err *err)
{
    if (!g->astrid_home[0])
        return astrid_err_set(err, ASTRID_E_PERM, "path refused, no ASTRID_HOME known: %s", shown);
    if (g->own_home[0] && under(canon, g->own_home)) {
        /* The invoking principal's own files, except what the kernel keeps
         * in the same tree: all of .local but tmp (audit, capsules, tokens,
         * kv, log) and all of .config (env, legacy profile.toml). */
        const char *r = rest_of(canon, g->own_home);
        bool local = under(r, ASTRID_PHOME_LOCAL) && !under(r, ASTRID_PHOME_TMP);
        if (local || under(r, ASTRID_PHOME_CONFIG)) {
            const char *end = strchr(r, '/');
            if (end)
                end = strchr(end + 1, '/');
            int n = end ? (int)(end - r) : (int)strlen(r);
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "path is kernel-owned state of the invoking principal (%.*s): %s",
                                  n, r, shown);
        }
        return 0;
    }
    if (under(canon, g->astrid_home)) {
        const char *r = rest_of(canon, g->astrid_home);
        if (under(r, "home") && r[4] == '/')
            return astrid_err_set(err, ASTRID_E_PERM, "path is another principal's home: %s",
                                  shown);
        return astrid_err_set(err, ASTRID_E_PERM, "path is kernel-owned state: %s", shown);
    }
    if (g->ws_state[0] && under(canon, g->ws_state))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "path is the workspace's kernel state (.astrid): %s", shown);
    return 0;
}

/* Where an fd really leads. Fails closed when /proc cannot say. */
static int fd_real(int fd, char *out, size_t n, const char *shown, astrid_err *err)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, out, n - 1);
    if (len < 0 || (size_t)len >= n - 1 || out[0] != '/')
        return astrid_err_set(err, ASTRID_E_PERM,
                              "cannot verify where %s leads (/proc/self/fd unreadable): refused",
                              shown);
    out[len] = '\0';
    return 0;
}

int astrid_vfs_guard_check_fd(const astrid_vfs_guard *g, int fd, const char *shown, astrid_err *err)
{
    char real[PATH_MAX];
    if (fd_real(fd, real, sizeof real, shown, err) != 0)
        return -1;
    return astrid_vfs_guard_check(g, real, shown, err);
}

void astrid_vfs_shown(const astrid_vfs_path *p, char *out, size_t n)
{
    switch (p->mount) {
    case ASTRID_VFS_HOME:
        snprintf(out, n, "home://%s", p->rel);
        break;
    case ASTRID_VFS_TMP:
        snprintf(out, n, "/tmp%s%s", p->rel[0] ? "/" : "", p->rel);
        break;
    default:
        snprintf(out, n, "cwd://%s", p->rel);
        break;
    }
}

/* ------------------------------------------------------------ resolve */

/* A tail with an empty, '.' or '..' component (only a symlink target can
 * bring one in: guest paths are normalised) cannot be judged lexically. */
static bool tail_is_clean(const char *tail)
{
    for (const char *c = tail; *c;) {
        while (*c == '/')
            c++;
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.') || (e && e[1] == '/'))
            return false;
        c += l;
    }
    return true;
}

/* Canonicalise the deepest existing ancestor of `phys` and re-append the
 * missing tail, so symlinks in the existing part are resolved. A dangling
 * symlink is followed by hand, so the path names where a create through it
 * would land (and the guard can refuse it by that name). */
static int canonical_with_tail(const char *phys, char *out, size_t n, astrid_err *err)
{
    char cur[PATH_MAX], probe[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", phys);
    for (int hops = 0;; hops++) {
        snprintf(probe, sizeof probe, "%s", cur);
        size_t len = strlen(probe);
        for (;;) { /* until `probe` is a dangling symlink */
            char real[PATH_MAX];
            if (realpath(probe, real)) {
                const char *tail = cur + len;
                if (!tail_is_clean(tail))
                    return astrid_err_set(err, ASTRID_E_PERM,
                                          "path escapes root boundary: a symlink leads through "
                                          "a missing directory with '.' or '..': %s",
                                          phys);
                int w = snprintf(out, n, "%s%s", strcmp(real, "/") == 0 && *tail ? "" : real, tail);
                if (w < 0 || (size_t)w >= n)
                    return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
                return 0;
            }
            if (errno != ENOENT && errno != ENOTDIR)
                return astrid_err_sys(err, "resolve %s", probe);
            struct stat st;
            if (lstat(probe, &st) == 0 && S_ISLNK(st.st_mode))
                break;
            char *slash = strrchr(probe, '/');
            if (!slash || slash == probe)
                return astrid_err_set(err, ASTRID_E_NOTFOUND, "no existing ancestor of %s", phys);
            *slash = '\0';
            len = (size_t)(slash - probe);
        }
        if (hops >= 40)
            return astrid_err_set(err, ASTRID_E_PERM, "too many levels of symbolic links: %s",
                                  phys);
        char target[PATH_MAX], next[PATH_MAX];
        ssize_t tl = readlink(probe, target, sizeof target - 1);
        if (tl < 0)
            return astrid_err_sys(err, "resolve %s", probe);
        target[tl] = '\0';
        const char *tail = cur + len;
        int w;
        if (target[0] == '/') {
            w = snprintf(next, sizeof next, "%s%s", target, tail);
        } else {
            *strrchr(probe, '/') = '\0'; /* probe is absolute: a '/' exists */
            w = snprintf(next, sizeof next, "%s/%s%s", probe, target, tail);
        }
        if (w < 0 || (size_t)w >= sizeof next)
            return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
        memcpy(cur, next, (size_t)w + 1);
    }
}

int astrid_vfs_resolve(const astrid_vfs_roots *roots, const char *guest, astrid_vfs_path *out,
                       astrid_err *err)
{
    const char *rel;
    const char *root;
    if (astrid_vfs_guard_init(&out->guard, roots, err) != 0)
        return -1;
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
        if (astrid_path_join(rootbuf, sizeof rootbuf, roots->principal_home, ASTRID_PHOME_TMP, err))
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
    if (astrid_vfs_guard_check(&out->guard, out->physical, guest, err) != 0)
        return -1;
    snprintf(out->rel, sizeof out->rel, "%s", rest_of(out->physical, out->root));
    return 0;
}

/* ------------------------------------------------------ guarded access */

static long openat2_beneath(int dirfd, const char *path, int flags, int mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    /* openat2 rejects O_PATH with any flag O_PATH ignores. */
    how.flags = (unsigned long long)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY));
    how.mode = (flags & O_CREAT) ? (unsigned long long)mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static int open_err(const char *what, const char *shown, int e, astrid_err *err)
{
    if (e == EXDEV)
        return astrid_err_set(err, ASTRID_E_PERM, "path escapes root boundary: %s", shown);
    errno = e;
    astrid_err_sys(err, "%s %s", what, shown);
    if (err && e == ENOENT)
        err->code = ASTRID_E_NOTFOUND;
    return -1;
}

int astrid_vfs_pin_at(const astrid_vfs_guard *g, int rootfd, const char *rel, char *base, size_t bn,
                      const char *shown, astrid_err *err)
{
    char dir[PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof dir)
        return astrid_err_set(err, ASTRID_E_LIMIT, "path too long: %s", shown);
    memcpy(dir, rel, n + 1);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    const char *b = slash ? slash + 1 : dir;
    if (slash == dir)
        return astrid_err_set(err, ASTRID_E_PERM, "path escapes root boundary: %s", shown);
    if (strcmp(b, "..") == 0)
        return astrid_err_set(err, ASTRID_E_PERM, "'..' as the last component is refused: %s",
                              shown);
    snprintf(base, bn, "%s", *b ? b : ".");
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    long pfd = openat2_beneath(rootfd, dir, O_PATH | O_DIRECTORY, 0);
    if (pfd < 0)
        return open_err("open", shown, errno, err);
    char real[PATH_MAX], child[PATH_MAX];
    if (fd_real((int)pfd, real, sizeof real, shown, err) != 0 ||
        astrid_vfs_guard_check(g, real, shown, err) != 0 ||
        (strcmp(base, ".") != 0 && (astrid_path_join(child, sizeof child, real, base, err) != 0 ||
                                    astrid_vfs_guard_check(g, child, shown, err) != 0))) {
        close((int)pfd);
        return -1;
    }
    return (int)pfd;
}

int astrid_vfs_openat(const astrid_vfs_guard *g, int rootfd, const char *rel, int flags, int mode,
                      const char *shown, astrid_err *err)
{
    char base[PATH_MAX];
    int pfd = astrid_vfs_pin_at(g, rootfd, rel, base, sizeof base, shown, err);
    if (pfd < 0)
        return -1;
    bool trunc_after = false;
    int fd = openat(pfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    int saved = errno;
    close(pfd);
    struct stat st;
    /* O_PATH|O_NOFOLLOW opens a symlink itself instead of failing. */
    bool link =
        fd < 0 ? saved == ELOOP : (flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
    if (link && !(flags & (O_EXCL | O_NOFOLLOW))) {
        if (fd >= 0)
            close(fd);
        /* The last component is a symlink: follow it beneath the root, but
         * only to an object that exists (nothing is created or truncated
         * through a link before the target is checked below). */
        fd = (int)openat2_beneath(rootfd, *rel ? rel : ".", flags & ~(O_CREAT | O_TRUNC), 0);
        saved = errno;
        trunc_after = (flags & O_TRUNC) != 0;
    }
    if (fd < 0)
        return open_err("open", shown, saved, err);
    if (astrid_vfs_guard_check_fd(g, fd, shown, err) != 0) {
        close(fd);
        return -1;
    }
    if (trunc_after && ftruncate(fd, 0) != 0) {
        astrid_err_sys(err, "truncate %s", shown);
        close(fd);
        return -1;
    }
    return fd;
}

/* astrid_vfs_pin_at for the first `rel_len` bytes of p->rel. */
static int pin_parent(const astrid_vfs_path *p, size_t rel_len, char *base, size_t bn,
                      astrid_err *err)
{
    char shown[PATH_MAX + 16], rel[PATH_MAX];
    astrid_vfs_shown(p, shown, sizeof shown);
    memcpy(rel, p->rel, rel_len);
    rel[rel_len] = '\0';
    int rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return astrid_err_sys(err, "open mount root of %s", shown);
    int pfd = astrid_vfs_pin_at(&p->guard, rootfd, rel, base, bn, shown, err);
    close(rootfd);
    return pfd;
}

int astrid_vfs_open(const astrid_vfs_path *p, int flags, int mode, astrid_err *err)
{
    char shown[PATH_MAX + 16];
    astrid_vfs_shown(p, shown, sizeof shown);
    int rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return astrid_err_sys(err, "open mount root of %s", shown);
    int fd = astrid_vfs_openat(&p->guard, rootfd, p->rel, flags, mode, shown, err);
    close(rootfd);
    return fd;
}

int astrid_vfs_lstat(const astrid_vfs_path *p, struct stat *st, astrid_err *err)
{
    char base[PATH_MAX], shown[PATH_MAX + 16];
    astrid_vfs_shown(p, shown, sizeof shown);
    int pfd = pin_parent(p, strlen(p->rel), base, sizeof base, err);
    if (pfd < 0)
        return -1;
    int r = strcmp(base, ".") == 0 ? fstatat(pfd, "", st, AT_EMPTY_PATH)
                                   : fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW);
    int saved = errno;
    close(pfd);
    return r == 0 ? 0 : open_err("stat", shown, saved, err);
}

int astrid_vfs_mkdir(const astrid_vfs_path *p, astrid_err *err)
{
    char base[PATH_MAX], shown[PATH_MAX + 16];
    astrid_vfs_shown(p, shown, sizeof shown);
    size_t n = strlen(p->rel);
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p->rel[i] != '/')
            continue;
        int pfd = pin_parent(p, i, base, sizeof base, err);
        if (pfd < 0)
            return -1;
        struct stat st;
        int r = strcmp(base, ".") == 0 ? 0 : mkdirat(pfd, base, 0700);
        int saved = errno;
        if (r != 0 && saved == EEXIST)
            r = fstatat(pfd, base, &st, 0) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
        close(pfd);
        if (r != 0)
            return saved == EEXIST ? astrid_err_set(err, ASTRID_E_EXISTS,
                                                    "%s: a component exists and is not a "
                                                    "directory",
                                                    shown)
                                   : open_err("mkdir", shown, saved, err);
    }
    return 0;
}

int astrid_vfs_unlink(const astrid_vfs_path *p, astrid_err *err)
{
    char base[PATH_MAX], shown[PATH_MAX + 16];
    astrid_vfs_shown(p, shown, sizeof shown);
    if (!p->rel[0])
        return astrid_err_set(err, ASTRID_E_PERM, "refusing to remove a mount root: %s", shown);
    int pfd = pin_parent(p, strlen(p->rel), base, sizeof base, err);
    if (pfd < 0)
        return -1;
    struct stat st;
    int r = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW);
    if (r == 0)
        r = unlinkat(pfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
    int saved = errno;
    close(pfd);
    return r == 0 ? 0 : open_err("unlink", shown, saved, err);
}

/* ---------------------------------------------------------- the gate */
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
