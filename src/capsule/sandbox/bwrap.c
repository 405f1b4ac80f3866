/* The bubblewrap command line. The layout is one table (`layout` below,
 * mirrored in docs/sandbox.md): system directories read-only, a minimal
 * /etc, fresh /proc, /dev and /tmp, then tmpfs over $HOME and $ASTRID_HOME,
 * and only then the binds of the capsule dir and the allowed paths, so the
 * binds punch through the tmpfs layers instead of being hidden by them
 * (upstream's mount-order bug, seed "bwrap mount ordering"). Nothing of the
 * host root is bound wholesale: what is not in the table does not exist. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capsule/sandbox/sandbox.h"
#include "capsule/sandbox/sandbox_int.h"

typedef enum {
    L_SYS,   /* a top-level system dir: --symlink when the host has a symlink, else --ro-bind-try */
    L_RO,    /* --ro-bind-try path path */
    L_PROC,  /* --proc */
    L_DEV,   /* --dev (null zero full random urandom tty, pts, shm) */
    L_TMPFS, /* --tmpfs */
} layout_op;

static const struct {
    layout_op op;
    const char *path;
} layout[] = {
    {L_RO, "/usr"},
    {L_SYS, "/bin"},
    {L_SYS, "/sbin"},
    {L_SYS, "/lib"},
    {L_SYS, "/lib64"},
    {L_SYS, "/lib32"},
    {L_SYS, "/libx32"},
    /* /etc minimal: the loader, name resolution, users (for getpwuid), TLS
     * roots, time zone, Debian alternatives (node, python3 are symlinks
     * through it). Not shadow, sudoers, ssh, machine-id or the rest. */
    {L_RO, "/etc/ld.so.cache"},
    {L_RO, "/etc/ld.so.conf"},
    {L_RO, "/etc/ld.so.conf.d"},
    {L_RO, "/etc/alternatives"},
    {L_RO, "/etc/passwd"},
    {L_RO, "/etc/group"},
    {L_RO, "/etc/nsswitch.conf"},
    {L_RO, "/etc/host.conf"},
    {L_RO, "/etc/hosts"},
    {L_RO, "/etc/resolv.conf"},
    {L_RO, "/etc/gai.conf"},
    {L_RO, "/etc/ssl"},
    {L_RO, "/etc/ca-certificates"},
    {L_RO, "/etc/localtime"},
    {L_RO, "/etc/timezone"},
    {L_RO, "/etc/os-release"},
    {L_RO, "/etc/mime.types"},
    {L_PROC, "/proc"},
    {L_DEV, "/dev"},
    {L_TMPFS, "/tmp"},
    {L_TMPFS, "/var/tmp"},
};

/* Directories the program may come from besides the binds. */
static const char *const system_roots[] = {"/usr",   "/bin",   "/sbin",  "/lib",
                                           "/lib64", "/lib32", "/libx32"};

typedef struct vec {
    char **v;
    size_t n, cap;
    bool oom;
} vec;

static void push(vec *a, const char *s)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **nv = realloc(a->v, cap * sizeof *nv);
        if (!nv) {
            a->oom = true;
            return;
        }
        a->v = nv;
        a->cap = cap;
    }
    char *d = strdup(s);
    if (!d) {
        a->oom = true;
        return;
    }
    a->v[a->n++] = d;
    a->v[a->n] = NULL;
}

static void push3(vec *a, const char *x, const char *y, const char *z)
{
    push(a, x);
    push(a, y);
    if (z)
        push(a, z);
}

bool astrid_sandbox_path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return true;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* realpath of an optional home-like directory, else the text itself. */
static void resolve_soft(const char *p, char out[PATH_MAX])
{
    out[0] = '\0';
    if (!p || p[0] != '/')
        return;
    if (!realpath(p, out))
        snprintf(out, PATH_MAX, "%s", p);
}

int astrid_sandbox_check_bind(const char *path, const char *home, const char *astrid_home,
                              char out[PATH_MAX], astrid_err *err)
{
    if (!path || path[0] != '/')
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "sandbox path \"%.200s\": must be an absolute path",
                              path ? path : "(null)");
    if (!realpath(path, out))
        return astrid_err_set(err, errno == ENOENT ? ASTRID_E_NOTFOUND : ASTRID_E_IO,
                              "sandbox path %.200s: %s", path, strerror(errno));
    char h[PATH_MAX], ah[PATH_MAX];
    resolve_soft(home, h);
    resolve_soft(astrid_home, ah);
    /* A bind of / or of an ancestor of $HOME or $ASTRID_HOME would undo
     * the tmpfs layers (~/.ssh, keys/runtime.key); a symlink pointing there
     * is caught because the resolved path is checked. */
    const char *exposes = strcmp(out, "/") == 0                          ? "the host root"
                          : h[0] && astrid_sandbox_path_within(h, out)   ? "$HOME"
                          : ah[0] && astrid_sandbox_path_within(ah, out) ? "$ASTRID_HOME"
                                                                         : NULL;
    if (exposes)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "sandbox path %.200s (%.200s): binding it would expose %s", path, out,
                              exposes);
    return 0;
}

typedef struct bind {
    char path[PATH_MAX];
    const char *given; /* the caller's text, for the symlink walk and messages */
    bool rw;
} bind;

/* A symlink among the components of a bind path is refused when it lies
 * inside one of this spec's writable binds: a sandboxed program could have
 * planted it there (work/link -> ~/.ssh) to have the next spawn bind what it
 * points at. Walks the path as the kernel would, component by component. */
static int check_planted(const char *path, const bind *binds, size_t nb, astrid_err *err)
{
    char cur[PATH_MAX] = "", cand[PATH_MAX], real[PATH_MAX], buf[PATH_MAX];
    struct stat st;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            char *slash = strrchr(cur, '/');
            if (slash)
                *slash = '\0';
            continue;
        }
        if ((size_t)snprintf(cand, sizeof cand, "%s/%s", cur, c) >= sizeof cand)
            return astrid_err_set(err, ASTRID_E_LIMIT, "sandbox path %.200s: too long", path);
        if (lstat(cand, &st) < 0 || !S_ISLNK(st.st_mode)) {
            snprintf(cur, sizeof cur, "%s", cand);
            continue;
        }
        for (size_t i = 0; i < nb; i++)
            if (binds[i].rw && astrid_sandbox_path_within(cand, binds[i].path))
                return astrid_err_set(err, ASTRID_E_PERM,
                                      "sandbox path %.200s: %.200s is a symlink inside the "
                                      "writable path %.200s (a sandboxed program could have "
                                      "planted it)",
                                      path, cand, binds[i].path);
        if (!realpath(cand, real))
            return astrid_err_set(err, ASTRID_E_NOTFOUND, "sandbox path %.200s: %s", path,
                                  strerror(errno));
        snprintf(cur, sizeof cur, "%s", strcmp(real, "/") ? real : "");
    }
    return 0;
}

static int bind_cmp(const void *a, const void *b)
{
    const bind *x = a, *y = b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    /* Parents before children (a parent is shorter), so a nested bind
     * stays visible; on the same path read-only comes last and wins. */
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return (int)y->rw - (int)x->rw;
}

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

char **astrid_sandbox_bwrap_argv(const char *bwrap_path, const astrid_sandbox_spec *spec,
                                 const char *home, const char *program, int seccomp_fd,
                                 astrid_err *err)
{
    return astrid_sandbox_bwrap_argv_fds(bwrap_path, spec, home, program, seccomp_fd, -1, NULL,
                                         NULL, err);
}

/* Opens a checked bind source and proves the descriptor is that very path:
 * a component swapped for a symlink between the check and the open would
 * make /proc/self/fd name another object. */
static int open_bind(const char *path, astrid_err *err)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return astrid_err_set(err, ASTRID_E_IO, "sandbox path %.200s: %s", path, strerror(errno));
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n < 0 || (real[n] = '\0', strcmp(real, path) != 0)) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_PERM,
                              "sandbox path %.200s changed while it was being bound", path);
    }
    return fd;
}

char **astrid_sandbox_bwrap_argv_fds(const char *bwrap_path, const astrid_sandbox_spec *spec,
                                     const char *home, const char *program, int seccomp_fd,
                                     int fd_base, int *fds, size_t *nfds, astrid_err *err)
{
    if (nfds)
        *nfds = 0;
    size_t nb = (spec->capsule_dir ? 1 : 0) + count(spec->rw_paths) + count(spec->ro_paths);
    bind *binds = calloc(nb ? nb : 1, sizeof *binds);
    vec a = {0};
    char buf[PATH_MAX], h[PATH_MAX], ah[PATH_MAX];
    struct stat st;
    if (!binds)
        goto nomem;
    size_t k = 0;
    if (spec->capsule_dir) {
        if (astrid_sandbox_check_bind(spec->capsule_dir, home, spec->astrid_home, binds[k].path,
                                      err) < 0)
            goto fail;
        binds[k++].given = spec->capsule_dir;
    }
    for (size_t i = 0; i < count(spec->rw_paths); i++, k++) {
        if (astrid_sandbox_check_bind(spec->rw_paths[i], home, spec->astrid_home, binds[k].path,
                                      err) < 0)
            goto fail;
        binds[k].rw = true;
        binds[k].given = spec->rw_paths[i];
    }
    for (size_t i = 0; i < count(spec->ro_paths); i++, k++) {
        if (astrid_sandbox_check_bind(spec->ro_paths[i], home, spec->astrid_home, binds[k].path,
                                      err) < 0)
            goto fail;
        binds[k].given = spec->ro_paths[i];
    }
    for (size_t i = 0; i < nb; i++)
        if (check_planted(binds[i].given, binds, nb, err) < 0)
            goto fail;
    qsort(binds, nb, sizeof *binds, bind_cmp);

    /* The program must be visible inside: under a system root or a bind. */
    char prog_real[PATH_MAX];
    if (!realpath(program, prog_real)) {
        astrid_err_set(err, ASTRID_E_NOTFOUND, "program %.200s: %s", program, strerror(errno));
        goto fail;
    }
    bool visible = false;
    for (size_t i = 0; i < sizeof system_roots / sizeof *system_roots && !visible; i++)
        visible = astrid_sandbox_path_within(prog_real, system_roots[i]);
    for (size_t i = 0; i < nb && !visible; i++)
        visible = astrid_sandbox_path_within(prog_real, binds[i].path);
    if (!visible) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "program %.200s (%.200s) is outside the sandbox: neither under a system "
                       "directory nor under the capsule dir or an allowed path",
                       program, prog_real);
        goto fail;
    }

    /* cwd: given, else the capsule dir, else the private /tmp. */
    char cwd[PATH_MAX] = "/tmp";
    const char *want = spec->cwd ? spec->cwd : spec->capsule_dir;
    if (want) {
        if (want[0] != '/' || !realpath(want, cwd)) {
            astrid_err_set(err, ASTRID_E_INVALID, "sandbox cwd \"%.200s\": %s", want,
                           want[0] != '/' ? "must be an absolute path" : strerror(errno));
            goto fail;
        }
        bool inside = false;
        for (size_t i = 0; i < nb && !inside; i++)
            inside = astrid_sandbox_path_within(cwd, binds[i].path);
        if (!inside) {
            astrid_err_set(err, ASTRID_E_INVALID,
                           "sandbox cwd %.200s is not under the capsule dir or an allowed path",
                           cwd);
            goto fail;
        }
    }

    push(&a, bwrap_path);
    for (size_t i = 0; i < sizeof layout / sizeof *layout; i++) {
        const char *p = layout[i].path;
        switch (layout[i].op) {
        case L_SYS:
            if (lstat(p, &st) < 0)
                break;
            if (S_ISLNK(st.st_mode)) {
                ssize_t len = readlink(p, buf, sizeof buf - 1);
                if (len <= 0)
                    break;
                buf[len] = '\0';
                push3(&a, "--symlink", buf, p);
            } else if (S_ISDIR(st.st_mode)) {
                push3(&a, "--ro-bind", p, p);
            }
            break;
        case L_RO:
            push3(&a, "--ro-bind-try", p, p);
            break;
        case L_PROC:
            push3(&a, "--proc", p, NULL);
            break;
        case L_DEV:
            push3(&a, "--dev", p, NULL);
            break;
        case L_TMPFS:
            push3(&a, "--tmpfs", p, NULL);
            break;
        }
    }
    resolve_soft(home, h);
    resolve_soft(spec->astrid_home, ah);
    if (h[0] && strcmp(h, "/") != 0)
        push3(&a, "--tmpfs", h, NULL);
    if (ah[0] && strcmp(ah, "/") != 0 && strcmp(ah, h) != 0)
        push3(&a, "--tmpfs", ah, NULL);
    if (fds && nb > ASTRID_SANDBOX_MAX_BINDS) {
        astrid_err_set(err, ASTRID_E_LIMIT, "sandbox: %zu binds, at most %d", nb,
                       ASTRID_SANDBOX_MAX_BINDS);
        goto fail;
    }
    for (size_t i = 0; i < nb; i++) {
        if (!fds) {
            push3(&a, binds[i].rw ? "--bind" : "--ro-bind", binds[i].path, binds[i].path);
            continue;
        }
        int fd = open_bind(binds[i].path, err);
        if (fd < 0)
            goto fail;
        fds[(*nfds)++] = fd;
        snprintf(buf, sizeof buf, "%d", fd_base + (int)i);
        push3(&a, binds[i].rw ? "--bind-fd" : "--ro-bind-fd", buf, binds[i].path);
    }
    /* The tmpfs layers turn read-only once the binds' mount points exist
     * on them: writing ~/.bashrc fails (EROFS) instead of succeeding into a
     * throw-away file; the binds below keep their own modes. */
    if (h[0] && strcmp(h, "/") != 0)
        push3(&a, "--remount-ro", h, NULL);
    if (ah[0] && strcmp(ah, "/") != 0 && strcmp(ah, h) != 0)
        push3(&a, "--remount-ro", ah, NULL);
    push(&a, "--unshare-all");
    if (spec->net)
        push(&a, "--share-net");
    push(&a, "--die-with-parent");
    push(&a, "--new-session");
    push3(&a, "--cap-drop", "ALL", NULL);
    push3(&a, "--chdir", cwd, NULL);
    if (seccomp_fd >= 0) {
        snprintf(buf, sizeof buf, "%d", seccomp_fd);
        push3(&a, "--seccomp", buf, NULL);
    }
    push(&a, "--");
    push(&a, program);
    for (size_t i = 1; spec->argv[i]; i++)
        push(&a, spec->argv[i]);
    if (a.oom)
        goto nomem;
    free(binds);
    return a.v;
nomem:
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory building the bwrap command line");
fail:
    free(binds);
    for (size_t i = 0; fds && nfds && i < *nfds; i++)
        close(fds[i]);
    if (nfds)
        *nfds = 0;
    if (a.v)
        astrid_sandbox_argv_free(a.v);
    return NULL;
}
