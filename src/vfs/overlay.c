#include "vfs/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"

#define WHITEOUTS_MAX (16u << 20)

struct astrid_overlay {
    char principal[65];
    char dir[PATH_MAX];       /* home/{p}/.local/overlay */
    char upper[PATH_MAX];     /* dir/upper */
    char wh_file[PATH_MAX];   /* dir/whiteouts */
    char workspace[PATH_MAX]; /* canonical lower root */
    astrid_vfs_guard guard;   /* for commit: no own home, so all of $ASTRID_HOME is refused */
    /* op_lock guards the upper tree, the whiteouts file and wh/nwh: one
     * operation of this principal at a time, so a commit never races a
     * write of the same agent. */
    pthread_mutex_t op_lock;
    char **wh;
    size_t nwh;
    bool wh_loaded;
    /* under the registry's lock */
    unsigned refs;
    uint64_t last_used;
};

struct astrid_overlay_registry {
    /* lock guards entries/n/tick and every entry's refs and last_used */
    pthread_mutex_t lock;
    char home[PATH_MAX];
    char workspace[PATH_MAX];
    astrid_overlay **entries;
    size_t n, max;
    uint64_t tick; /* logical clock: "idlest" = smallest last_used */
};

/* ------------------------------------------------------------ helpers */

static long beneath(int dirfd, const char *rel, int flags, int mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY));
    how.mode = (flags & O_CREAT) ? (unsigned long long)mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof how);
}

static int sys_err(astrid_err *err, int e, const char *what, const char *rel)
{
    errno = e;
    astrid_err_sys(err, "%s cwd://%s", what, rel);
    if (err && e == ENOENT)
        err->code = ASTRID_E_NOTFOUND;
    if (err && (e == EXDEV || e == ELOOP))
        err->code = ASTRID_E_PERM;
    return -1;
}

/* Split rel into its parent (in dir) and last component (returned). */
static const char *split(const char *rel, char *dir, size_t n)
{
    snprintf(dir, n, "%s", rel);
    char *s = strrchr(dir, '/');
    if (!s) {
        dir[0] = '\0';
        return rel;
    }
    *s = '\0';
    return rel + (s - dir) + 1;
}

/* mkdir -p of `rel` beneath rootfd, no symlink followed; the directory's
 * O_PATH fd, or -1 with errno. */
static int mkdirs_at(int rootfd, const char *rel)
{
    int cur = (int)beneath(rootfd, "", O_PATH | O_DIRECTORY, 0);
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", rel);
    for (char *c = buf, *e; cur >= 0 && *c; c = e ? e + 1 : c + strlen(c)) {
        e = strchr(c, '/');
        if (e)
            *e = '\0';
        if (!*c)
            continue;
        if (mkdirat(cur, c, 0700) != 0 && errno != EEXIST) {
            int s = errno;
            close(cur);
            errno = s;
            return -1;
        }
        int next = (int)beneath(cur, c, O_PATH | O_DIRECTORY, 0);
        int s = errno;
        close(cur);
        errno = s;
        cur = next;
    }
    return cur;
}

static int upper_root(astrid_overlay *ov, bool create)
{
    if (create && astrid_mkdir_p(ov->upper, 0700, 0, NULL) != 0)
        return -1;
    return open(ov->upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* lstat of rel in the upper tree: 0, or -1 (errno ENOENT when absent). */
static int upper_lstat(astrid_overlay *ov, const char *rel, struct stat *st)
{
    int root = upper_root(ov, false);
    if (root < 0)
        return -1;
    int fd = (int)beneath(root, rel, O_PATH | O_NOFOLLOW, 0);
    int s = errno;
    close(root);
    if (fd < 0) {
        errno = s == ENOTDIR ? ENOENT : s;
        return -1;
    }
    int r = fstat(fd, st);
    close(fd);
    return r;
}

/* ------------------------------------------------------------ whiteouts */

static void wh_clear(astrid_overlay *ov)
{
    for (size_t i = 0; i < ov->nwh; i++)
        free(ov->wh[i]);
    free(ov->wh);
    ov->wh = NULL;
    ov->nwh = 0;
}

static int wh_push(astrid_overlay *ov, const char *rel, size_t len)
{
    char **nv = realloc(ov->wh, (ov->nwh + 1) * sizeof *nv);
    if (!nv)
        return -1;
    ov->wh = nv;
    if (!(ov->wh[ov->nwh] = strndup(rel, len)))
        return -1;
    ov->nwh++;
    return 0;
}

static int wh_load(astrid_overlay *ov, astrid_err *err)
{
    if (ov->wh_loaded)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    if (astrid_read_file(ov->wh_file, WHITEOUTS_MAX, &buf, &len, err) != 0) {
        if (err && err->code == ASTRID_E_NOTFOUND) {
            ov->wh_loaded = true;
            return 0;
        }
        if (err && err->code == ASTRID_E_IO && err->sys_errno == ENOENT) {
            ov->wh_loaded = true;
            return 0;
        }
        return -1;
    }
    for (char *c = buf; *c;) {
        char *e = strchr(c, '\n');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l && wh_push(ov, c, l) != 0) {
            free(buf);
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
        c += l + (e ? 1 : 0);
    }
    free(buf);
    ov->wh_loaded = true;
    return 0;
}

static int wh_save(astrid_overlay *ov, astrid_err *err)
{
    if (ov->nwh == 0) {
        if (unlink(ov->wh_file) != 0 && errno != ENOENT)
            return astrid_err_sys(err, "remove %s", ov->wh_file);
        return 0;
    }
    size_t len = 0;
    for (size_t i = 0; i < ov->nwh; i++)
        len += strlen(ov->wh[i]) + 1;
    char *buf = malloc(len + 1), *o = buf;
    if (!buf)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t i = 0; i < ov->nwh; i++)
        o += sprintf(o, "%s\n", ov->wh[i]);
    int rc = astrid_mkdir_p(ov->dir, 0700, 0, err) == 0 &&
                     astrid_atomic_write(ov->wh_file, buf, len, 0600, err) == 0
                 ? 0
                 : -1;
    free(buf);
    return rc;
}

static bool wh_has(const astrid_overlay *ov, const char *rel, size_t len)
{
    for (size_t i = 0; i < ov->nwh; i++)
        if (strlen(ov->wh[i]) == len && strncmp(ov->wh[i], rel, len) == 0)
            return true;
    return false;
}

/* rel or one of its ancestors was deleted in the overlay. */
static bool hidden(const astrid_overlay *ov, const char *rel)
{
    size_t n = strlen(rel);
    for (size_t i = 1; i <= n; i++)
        if ((i == n || rel[i] == '/') && wh_has(ov, rel, i))
            return true;
    return false;
}

/* ------------------------------------------------------------ registry */

int astrid_overlay_max_from_env(size_t *out, astrid_err *err)
{
    const char *v = getenv("ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS");
    *out = ASTRID_OVERLAY_DEFAULT_MAX;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < 1 || n > 1000000 || v[0] == '-')
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS must be an integer from 1 "
                              "to 1000000, not '%s'",
                              v);
    *out = (size_t)n;
    return 0;
}

astrid_overlay_registry *astrid_overlay_registry_new(const char *home, const char *workspace,
                                                     size_t max, astrid_err *err)
{
    astrid_overlay_registry *r = calloc(1, sizeof *r);
    if (!r) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!realpath(home, r->home) || !realpath(workspace, r->workspace)) {
        astrid_err_sys(err, "overlay roots %s, %s", home, workspace);
        free(r);
        return NULL;
    }
    r->max = max ? max : 1;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void overlay_free(astrid_overlay *ov)
{
    wh_clear(ov);
    pthread_mutex_destroy(&ov->op_lock);
    free(ov);
}

void astrid_overlay_registry_free(astrid_overlay_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        overlay_free(r->entries[i]);
    free(r->entries);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static astrid_overlay *overlay_new(astrid_overlay_registry *r, const char *principal,
                                   astrid_err *err)
{
    astrid_overlay *ov = calloc(1, sizeof *ov);
    if (!ov) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    char ph[PATH_MAX], base[PATH_MAX], key[2 * ASTRID_BLAKE3_OUT_LEN + 1];
    /* one overlay per (principal, workspace): a daemon started on another
     * workspace must never commit these changes there */
    astrid_blake3_hex(r->workspace, strlen(r->workspace), key);
    key[16] = '\0';
    astrid_vfs_roots roots = {.workspace = r->workspace, .astrid_home = r->home};
    if (strlen(principal) >= sizeof ov->principal ||
        astrid_principal_home(ph, sizeof ph, r->home, principal, err) != 0 ||
        astrid_path_join(base, sizeof base, ph, ASTRID_OVERLAY_DIR, err) != 0 ||
        astrid_path_join(ov->dir, sizeof ov->dir, base, key, err) != 0 ||
        astrid_path_join(ov->upper, sizeof ov->upper, ov->dir, "upper", err) != 0 ||
        astrid_path_join(ov->wh_file, sizeof ov->wh_file, ov->dir, "whiteouts", err) != 0 ||
        astrid_vfs_guard_init(&ov->guard, &roots, err) != 0) {
        if (strlen(principal) >= sizeof ov->principal)
            astrid_err_set(err, ASTRID_E_INVALID, "principal name too long");
        free(ov);
        return NULL;
    }
    snprintf(ov->principal, sizeof ov->principal, "%s", principal);
    snprintf(ov->workspace, sizeof ov->workspace, "%s", r->workspace);
    pthread_mutex_init(&ov->op_lock, NULL);
    return ov;
}

astrid_overlay *astrid_overlay_acquire(astrid_overlay_registry *r, const char *principal,
                                       astrid_err *err)
{
    pthread_mutex_lock(&r->lock);
    astrid_overlay *ov = NULL;
    for (size_t i = 0; i < r->n && !ov; i++)
        if (strcmp(r->entries[i]->principal, principal) == 0)
            ov = r->entries[i];
    if (!ov) {
        if (r->n >= r->max) {
            size_t victim = SIZE_MAX;
            for (size_t i = 0; i < r->n; i++)
                if (r->entries[i]->refs == 0 &&
                    (victim == SIZE_MAX ||
                     r->entries[i]->last_used < r->entries[victim]->last_used))
                    victim = i;
            if (victim == SIZE_MAX) {
                pthread_mutex_unlock(&r->lock);
                astrid_err_set(err, ASTRID_E_LIMIT,
                               "overlay registry full: all %zu handles are in use", r->max);
                return NULL;
            }
            /* memory only: the victim's pending changes stay on disk */
            overlay_free(r->entries[victim]);
            r->entries[victim] = r->entries[--r->n];
        } else {
            astrid_overlay **nv = realloc(r->entries, (r->n + 1) * sizeof(void *));
            if (!nv) {
                pthread_mutex_unlock(&r->lock);
                astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
                return NULL;
            }
            r->entries = nv;
        }
        ov = overlay_new(r, principal, err);
        if (!ov) {
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        r->entries[r->n++] = ov;
    }
    ov->refs++;
    ov->last_used = ++r->tick;
    pthread_mutex_unlock(&r->lock);
    return ov;
}

void astrid_overlay_release(astrid_overlay_registry *r, astrid_overlay *ov)
{
    if (!ov)
        return;
    pthread_mutex_lock(&r->lock);
    ov->refs--;
    pthread_mutex_unlock(&r->lock);
}

size_t astrid_overlay_registry_count(astrid_overlay_registry *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool astrid_overlay_registry_holds(astrid_overlay_registry *r, const char *principal)
{
    pthread_mutex_lock(&r->lock);
    bool found = false;
    for (size_t i = 0; i < r->n && !found; i++)
        found = strcmp(r->entries[i]->principal, principal) == 0;
    pthread_mutex_unlock(&r->lock);
    return found;
}

static bool under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool astrid_overlay_applies(const astrid_overlay_registry *r, const astrid_vfs_path *p)
{
    return r && p->mount == ASTRID_VFS_WORKSPACE && strcmp(p->root, r->workspace) == 0 &&
           !under(p->physical, r->home);
}

/* ------------------------------------------------------------ the view */

static int lstat_locked(astrid_overlay *ov, const astrid_vfs_path *p, struct stat *st,
                        astrid_err *err)
{
    if (upper_lstat(ov, p->rel, st) == 0)
        return 0;
    if (errno != ENOENT)
        return sys_err(err, errno, "stat", p->rel);
    if (hidden(ov, p->rel))
        return sys_err(err, ENOENT, "stat", p->rel);
    return astrid_vfs_lstat(p, st, err);
}

int astrid_overlay_lstat(astrid_overlay *ov, const astrid_vfs_path *p, struct stat *st,
                         astrid_err *err)
{
    pthread_mutex_lock(&ov->op_lock);
    int rc = wh_load(ov, err) == 0 ? lstat_locked(ov, p, st, err) : -1;
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}

int64_t astrid_overlay_own_size(astrid_overlay *ov, const astrid_vfs_path *p)
{
    struct stat st;
    pthread_mutex_lock(&ov->op_lock);
    int64_t n = upper_lstat(ov, p->rel, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
    pthread_mutex_unlock(&ov->op_lock);
    return n;
}

static int open_locked(astrid_overlay *ov, const astrid_vfs_path *p, int flags, int mode,
                       astrid_err *err)
{
    bool writing = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
    struct stat st;
    if (!writing) {
        int root = upper_root(ov, false);
        if (root >= 0) {
            int fd = (int)beneath(root, p->rel, flags & ~O_NOFOLLOW, 0);
            int s = errno;
            close(root);
            if (fd >= 0)
                return fd;
            if (s != ENOENT && s != ENOTDIR)
                return sys_err(err, s, "open", p->rel);
        }
        if (hidden(ov, p->rel))
            return sys_err(err, ENOENT, "open", p->rel);
        return astrid_vfs_open(p, flags, mode, err);
    }
    if ((flags & (O_CREAT | O_TRUNC)) != (O_CREAT | O_TRUNC))
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "overlay: a write replaces the whole file (O_CREAT|O_TRUNC)");
    if (!p->rel[0])
        return astrid_err_set(err, ASTRID_E_PERM, "cannot write the workspace root itself");
    if (lstat_locked(ov, p, &st, NULL) == 0 && S_ISDIR(st.st_mode))
        return sys_err(err, EISDIR, "write", p->rel);
    char dir[PATH_MAX];
    const char *base = split(p->rel, dir, sizeof dir);
    int root = upper_root(ov, true);
    if (root < 0)
        return astrid_err_sys(err, "overlay of %s", ov->principal);
    int pfd = mkdirs_at(root, dir);
    int s = errno;
    close(root);
    if (pfd < 0)
        return sys_err(err, s, "write", p->rel);
    int dfd = (int)beneath(pfd, "", O_RDONLY | O_DIRECTORY, 0);
    close(pfd);
    if (dfd < 0)
        return sys_err(err, errno, "write", p->rel);
    int fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    s = errno;
    close(dfd);
    return fd >= 0 ? fd : sys_err(err, s, "write", p->rel);
}

int astrid_overlay_open(astrid_overlay *ov, const astrid_vfs_path *p, int flags, int mode,
                        astrid_err *err)
{
    pthread_mutex_lock(&ov->op_lock);
    int rc = wh_load(ov, err) == 0 ? open_locked(ov, p, flags, mode, err) : -1;
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}

int astrid_overlay_mkdir(astrid_overlay *ov, const astrid_vfs_path *p, astrid_err *err)
{
    pthread_mutex_lock(&ov->op_lock);
    struct stat st;
    int rc = -1;
    if (wh_load(ov, err) != 0) {
    } else if (lstat_locked(ov, p, &st, NULL) == 0 && !S_ISDIR(st.st_mode)) {
        astrid_err_set(err, ASTRID_E_EXISTS, "cwd://%s: exists and is not a directory", p->rel);
    } else {
        int root = upper_root(ov, true);
        int fd = root >= 0 ? mkdirs_at(root, p->rel) : -1;
        int s = errno;
        if (root >= 0)
            close(root);
        if (fd >= 0) {
            close(fd);
            rc = 0;
        } else {
            sys_err(err, s, "mkdir", p->rel);
        }
    }
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}

/* Append the names of the directory fd (consumed) not yet in the list. */
static int add_names(int fd, char ***names, size_t *n, size_t max, const astrid_overlay *ov,
                     const char *rel, bool lower)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    char child[PATH_MAX];
    while ((de = readdir(d)) && *n < max) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        bool dup = false;
        for (size_t i = 0; i < *n && !dup; i++)
            dup = strcmp((*names)[i], de->d_name) == 0;
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        if (dup || (lower && wh_has(ov, child, strlen(child))))
            continue;
        char **nv = realloc(*names, (*n + 1) * sizeof *nv);
        if (!nv)
            break;
        *names = nv;
        if (((*names)[*n] = strdup(de->d_name)))
            (*n)++;
    }
    closedir(d);
    return 0;
}

static int readdir_locked(astrid_overlay *ov, const astrid_vfs_path *p, char ***names, size_t *n,
                          size_t max, astrid_err *err)
{
    bool found = false;
    int root = upper_root(ov, false);
    if (root >= 0) {
        int fd = (int)beneath(root, p->rel, O_RDONLY | O_DIRECTORY, 0);
        close(root);
        if (fd >= 0) {
            found = true;
            add_names(fd, names, n, max, ov, p->rel, false);
        }
    }
    if (!hidden(ov, p->rel)) {
        astrid_err e2;
        int fd = astrid_vfs_open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &e2);
        if (fd >= 0) {
            found = true;
            add_names(fd, names, n, max, ov, p->rel, true);
        } else if (!found) {
            if (err)
                *err = e2;
            return -1;
        }
    }
    if (!found)
        return sys_err(err, ENOENT, "readdir", p->rel);
    return 0;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int astrid_overlay_readdir(astrid_overlay *ov, const astrid_vfs_path *p, char ***names, size_t *n,
                           size_t max, astrid_err *err)
{
    *names = NULL;
    *n = 0;
    pthread_mutex_lock(&ov->op_lock);
    int rc = wh_load(ov, err) == 0 ? readdir_locked(ov, p, names, n, max, err) : -1;
    pthread_mutex_unlock(&ov->op_lock);
    if (rc != 0) {
        names_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

static int unlink_locked(astrid_overlay *ov, const astrid_vfs_path *p, astrid_err *err)
{
    if (!p->rel[0])
        return astrid_err_set(err, ASTRID_E_PERM, "refusing to remove a mount root: cwd://");
    if (strchr(p->rel, '\n'))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "overlay: a name with a newline cannot be deleted");
    struct stat st;
    if (lstat_locked(ov, p, &st, err) != 0)
        return -1;
    if (S_ISDIR(st.st_mode)) {
        char **names = NULL;
        size_t n = 0;
        int r = readdir_locked(ov, p, &names, &n, 1, err);
        names_free(names, n);
        if (r != 0)
            return -1;
        if (n)
            return sys_err(err, ENOTEMPTY, "unlink", p->rel);
    }
    struct stat ust;
    if (upper_lstat(ov, p->rel, &ust) == 0) {
        char dir[PATH_MAX];
        const char *base = split(p->rel, dir, sizeof dir);
        int root = upper_root(ov, false);
        int pfd = root >= 0 ? (int)beneath(root, dir, O_PATH | O_DIRECTORY, 0) : -1;
        if (root >= 0)
            close(root);
        int r = pfd >= 0 ? unlinkat(pfd, base, S_ISDIR(ust.st_mode) ? AT_REMOVEDIR : 0) : -1;
        int s = errno;
        if (pfd >= 0)
            close(pfd);
        if (r != 0)
            return sys_err(err, s, "unlink", p->rel);
    }
    struct stat lst;
    if (!hidden(ov, p->rel) && astrid_vfs_lstat(p, &lst, NULL) == 0) {
        if (wh_push(ov, p->rel, strlen(p->rel)) != 0)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        if (wh_save(ov, err) != 0) {
            free(ov->wh[--ov->nwh]);
            return -1;
        }
    }
    return 0;
}

int astrid_overlay_unlink(astrid_overlay *ov, const astrid_vfs_path *p, astrid_err *err)
{
    pthread_mutex_lock(&ov->op_lock);
    int rc = wh_load(ov, err) == 0 ? unlink_locked(ov, p, err) : -1;
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}

/* ------------------------------------------------------------ diff, commit */

typedef struct upper_entry {
    char *rel;
    bool is_dir;
} upper_entry;

typedef struct entry_list {
    upper_entry *v;
    size_t n;
} entry_list;

/* Every entry of the upper tree below `rel` (dirfd open on it), parents
 * before children. Symlinks and other odd types are skipped (the kernel
 * never creates them there). */
static int collect(int dirfd, const char *rel, entry_list *out, int depth)
{
    if (depth > 256)
        return -1;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
            continue;
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        upper_entry *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
        if (!nv || !(nv[out->n].rel = strdup(child))) {
            if (nv)
                out->v = nv;
            rc = -1;
            break;
        }
        out->v = nv;
        nv[out->n].is_dir = S_ISDIR(st.st_mode);
        out->n++;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub >= 0 ? collect(sub, child, out, depth + 1) : -1;
        }
    }
    closedir(d);
    return rc;
}

static void entries_free(entry_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].rel);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int collect_upper(astrid_overlay *ov, entry_list *out, astrid_err *err)
{
    int root = upper_root(ov, false);
    if (root < 0)
        return errno == ENOENT ? 0 : astrid_err_sys(err, "overlay of %s", ov->principal);
    int fd = (int)beneath(root, "", O_RDONLY | O_DIRECTORY, 0);
    close(root);
    if (fd < 0 || collect(fd, "", out, 0) != 0) {
        entries_free(out);
        return astrid_err_set(err, ASTRID_E_IO, "cannot list the overlay of %s", ov->principal);
    }
    return 0;
}

/* Does rel exist in the workspace itself (no symlink followed)? */
static bool lower_has(const astrid_overlay *ov, const char *rel, struct stat *st)
{
    int root = open(ov->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return false;
    int fd = (int)beneath(root, rel, O_PATH | O_NOFOLLOW, 0);
    close(root);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, st) == 0;
    close(fd);
    return ok;
}

static int change_cmp(const void *a, const void *b)
{
    return strcmp(((const astrid_overlay_change *)a)->path,
                  ((const astrid_overlay_change *)b)->path);
}

void astrid_overlay_changes_free(astrid_overlay_change *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        free(c[i].path);
    free(c);
}

static int push_change(astrid_overlay_change **v, size_t *n, const char *rel, bool dir,
                       const char *what)
{
    astrid_overlay_change *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    size_t l = strlen(rel);
    char *s = malloc(l + 2);
    if (!s)
        return -1;
    memcpy(s, rel, l);
    s[l] = dir ? '/' : '\0';
    s[l + 1] = '\0';
    (*v)[*n].path = s;
    (*v)[*n].change = what;
    (*n)++;
    return 0;
}

int astrid_overlay_diff(astrid_overlay *ov, astrid_overlay_change **out, size_t *n, astrid_err *err)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&ov->op_lock);
    entry_list l = {0};
    int rc = wh_load(ov, err) == 0 && collect_upper(ov, &l, err) == 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        struct stat st;
        bool in_lower = lower_has(ov, l.v[i].rel, &st) && !hidden(ov, l.v[i].rel);
        bool replaced =
            wh_has(ov, l.v[i].rel, strlen(l.v[i].rel)) && lower_has(ov, l.v[i].rel, &st);
        if (l.v[i].is_dir && in_lower)
            continue; /* an existing directory: its files speak for it */
        const char *what = in_lower || replaced ? "modified" : "added";
        if (push_change(out, n, l.v[i].rel, l.v[i].is_dir, what) != 0)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < ov->nwh; i++) {
        struct stat st;
        if (upper_lstat(ov, ov->wh[i], &st) == 0)
            continue; /* replaced: listed above */
        bool dir = lower_has(ov, ov->wh[i], &st) && S_ISDIR(st.st_mode);
        if (push_change(out, n, ov->wh[i], dir, "deleted") != 0)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    entries_free(&l);
    pthread_mutex_unlock(&ov->op_lock);
    if (rc != 0) {
        astrid_overlay_changes_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, change_cmp);
    return 0;
}

/* The workspace directory `dir` (created), pinned and guarded. */
static int lower_dir(astrid_overlay *ov, const char *dir, bool create, astrid_err *err)
{
    int root = open(ov->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return astrid_err_sys(err, "workspace %s", ov->workspace);
    int fd = create ? mkdirs_at(root, dir) : (int)beneath(root, dir, O_PATH | O_DIRECTORY, 0);
    int s = errno;
    close(root);
    if (fd < 0)
        return sys_err(err, s, "commit into", dir);
    char shown[PATH_MAX + 8];
    snprintf(shown, sizeof shown, "cwd://%s", dir);
    if (astrid_vfs_guard_check_fd(&ov->guard, fd, shown, err) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int depth_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t dx = 0, dy = 0;
    for (; *x; x++)
        dx += *x == '/';
    for (; *y; y++)
        dy += *y == '/';
    return dx < dy ? 1 : dx > dy ? -1 : 0;
}

static int commit_delete(astrid_overlay *ov, const char *rel, astrid_err *err)
{
    char dir[PATH_MAX], shown[PATH_MAX + 8];
    const char *base = split(rel, dir, sizeof dir);
    int pfd = lower_dir(ov, dir, false, err);
    if (pfd < 0)
        return err && err->code == ASTRID_E_NOTFOUND ? 0 : -1; /* already gone */
    snprintf(shown, sizeof shown, "cwd://%s", rel);
    struct stat st;
    int r = 0;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        r = unlinkat(pfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
    int s = errno;
    close(pfd);
    return r == 0 ? 0 : sys_err(err, s, "delete", rel);
}

static int commit_file(astrid_overlay *ov, const char *rel, astrid_err *err)
{
    char dir[PATH_MAX], shown[PATH_MAX + 8], tmp[64];
    const char *base = split(rel, dir, sizeof dir);
    snprintf(shown, sizeof shown, "cwd://%s", rel);
    int root = upper_root(ov, false);
    int src = root >= 0 ? (int)beneath(root, rel, O_RDONLY | O_NOFOLLOW, 0) : -1;
    if (root >= 0)
        close(root);
    struct stat st;
    if (src < 0 || fstat(src, &st) != 0) {
        if (src >= 0)
            close(src);
        return sys_err(err, errno, "overlay copy of", rel);
    }
    if ((uint64_t)st.st_size > ASTRID_OVERLAY_MAX_FILE) {
        close(src);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s: larger than 50 MiB, not committed", shown);
    }
    int dfd = lower_dir(ov, dir, true, err);
    if (dfd < 0) {
        close(src);
        return -1;
    }
    int wd = (int)beneath(dfd, "", O_RDONLY | O_DIRECTORY, 0);
    close(dfd);
    if (wd < 0) {
        close(src);
        return sys_err(err, errno, "commit into", dir);
    }
    struct stat old;
    mode_t mode = fstatat(wd, base, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode)
                      ? (old.st_mode & 07777)
                      : 0600;
    snprintf(tmp, sizeof tmp, ".astrid-commit.%ld", (long)getpid());
    int out = openat(wd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = out < 0 ? sys_err(err, errno, "commit", rel) : 0;
    char buf[65536];
    ssize_t got;
    while (rc == 0 && (got = read(src, buf, sizeof buf)) != 0) {
        if (got < 0 || write(out, buf, (size_t)got) != got)
            rc = sys_err(err, errno ? errno : EIO, "commit", rel);
    }
    if (rc == 0 && (fchmod(out, mode) != 0 || fsync(out) != 0))
        rc = sys_err(err, errno, "commit", rel);
    if (out >= 0)
        close(out);
    if (rc == 0 && renameat(wd, tmp, wd, base) != 0)
        rc = sys_err(err, errno, "commit", rel);
    if (rc != 0 && out >= 0)
        unlinkat(wd, tmp, 0);
    if (rc == 0)
        fsync(wd);
    close(wd);
    close(src);
    return rc;
}

static int upper_remove(astrid_overlay *ov, const char *rel, bool dir)
{
    char d[PATH_MAX];
    const char *base = split(rel, d, sizeof d);
    int root = upper_root(ov, false);
    int pfd = root >= 0 ? (int)beneath(root, d, O_PATH | O_DIRECTORY, 0) : -1;
    if (root >= 0)
        close(root);
    int r = pfd >= 0 ? unlinkat(pfd, base, dir ? AT_REMOVEDIR : 0) : -1;
    if (pfd >= 0)
        close(pfd);
    return r;
}

int astrid_overlay_commit(astrid_overlay *ov, size_t *applied, astrid_err *err)
{
    *applied = 0;
    pthread_mutex_lock(&ov->op_lock);
    entry_list l = {0};
    int rc = wh_load(ov, err) == 0 && collect_upper(ov, &l, err) == 0 ? 0 : -1;
    if (rc == 0 && ov->nwh)
        qsort(ov->wh, ov->nwh, sizeof *ov->wh, depth_cmp);
    while (rc == 0 && ov->nwh) {
        if (commit_delete(ov, ov->wh[0], err) != 0) {
            rc = -1;
            break;
        }
        struct stat st;
        if (upper_lstat(ov, ov->wh[0], &st) != 0)
            (*applied)++; /* a replaced file counts once, below */
        free(ov->wh[0]);
        memmove(ov->wh, ov->wh + 1, (ov->nwh - 1) * sizeof *ov->wh);
        ov->nwh--;
        rc = wh_save(ov, err);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (l.v[i].is_dir) {
            struct stat st;
            bool existed = lower_has(ov, l.v[i].rel, &st);
            int fd = lower_dir(ov, l.v[i].rel, true, err);
            if (fd < 0) {
                rc = -1;
                break;
            }
            close(fd);
            *applied += existed ? 0 : 1;
            continue;
        }
        if (commit_file(ov, l.v[i].rel, err) != 0) {
            rc = -1;
            break;
        }
        upper_remove(ov, l.v[i].rel, false);
        (*applied)++;
    }
    /* the emptied directories, deepest first */
    for (size_t i = l.n; rc == 0 && i-- > 0;)
        if (l.v[i].is_dir)
            upper_remove(ov, l.v[i].rel, true);
    entries_free(&l);
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int astrid_overlay_discard(astrid_overlay *ov, astrid_err *err)
{
    pthread_mutex_lock(&ov->op_lock);
    int rc = 0;
    struct stat st;
    if (lstat(ov->dir, &st) == 0 && nftw(ov->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        rc = astrid_err_sys(err, "discard the overlay of %s", ov->principal);
    wh_clear(ov);
    ov->wh_loaded = false;
    pthread_mutex_unlock(&ov->op_lock);
    return rc;
}
