/* WASI preview 1 host functions (see wasi.h). Each is exported under
 * wasm2c's mangled name and receives the guest instance. */
#include "capsule/wasm/wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "capsule/wasm/wasi_internal.h"
#include "vfs/vfs.h"

#define MAX_FDS 128
#define MAX_IOVS 64
#define MAX_PATH 4096

/* WASI errno values (W_NOSYS is in wasi_internal.h) */
enum {
    W_SUCCESS = 0,
    W_2BIG = 1,
    W_ACCES = 2,
    W_BADF = 8,
    W_DQUOT = 19,
    W_EXIST = 20,
    W_FAULT = 21,
    W_INVAL = 28,
    W_IO = 29,
    W_ISDIR = 31,
    W_LOOP = 32,
    W_MFILE = 33,
    W_NAMETOOLONG = 37,
    W_NOENT = 44,
    W_NOSPC = 51,
    W_NOTDIR = 54,
    W_NOTEMPTY = 55,
    W_PERM = 63,
    W_SPIPE = 70,
    W_XDEV = 75,
    W_NOTCAPABLE = 76
};

enum { FT_UNKNOWN = 0, FT_CHAR = 2, FT_DIR = 3, FT_REG = 4, FT_SYMLINK = 7 };

typedef struct wfd {
    int used;
    int host;  /* host fd, -1 for stdio */
    int stdio; /* 0, 1, 2 or -1 */
    int is_dir;
    char *preopen; /* guest path of a preopened directory */
} wfd;

struct astrid_wasi {
    char **argv, **env;
    size_t argc, nenv;
    wfd fds[MAX_FDS];
    astrid_wasi_log_fn log;
    void *log_user;
    int (*charge)(void *user, int64_t delta);
    void *charge_user;
    astrid_vfs_guard guard; /* what no path call may reach */
};

/* Report a storage change; 0 when accepted (or nothing is charged). */
static int charge(astrid_wasi *w, int64_t delta)
{
    return w->charge && delta ? w->charge(w->charge_user, delta) : 0;
}

/* Size of the regular file `base` in dfd (0 for anything else). */
static int64_t file_size_at(int dfd, const char *base)
{
    struct stat st;
    return fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) ? st.st_size
                                                                                    : 0;
}

static void wasi_clear(astrid_wasi *w)
{
    for (size_t i = 0; i < w->argc; i++)
        free(w->argv[i]);
    for (size_t i = 0; i < w->nenv; i++)
        free(w->env[i]);
    free(w->argv);
    free(w->env);
    for (int i = 0; i < MAX_FDS; i++) {
        if (w->fds[i].used && w->fds[i].host >= 0)
            close(w->fds[i].host);
        free(w->fds[i].preopen);
    }
}

void astrid_wasi_free(astrid_wasi *w)
{
    if (!w)
        return;
    wasi_clear(w);
    free(w);
}

static char **copy_list(const char *const *in, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(in[i]))) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    return out;
}

astrid_wasi *astrid_wasi_new(const astrid_wasi_config *cfg, astrid_err *err)
{
    astrid_wasi *w = calloc(1, sizeof *w);
    if (!w) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasi: out of memory");
        return NULL;
    }
    w->argv = copy_list(cfg->argv, cfg->argc);
    w->env = copy_list(cfg->env, cfg->nenv);
    if (!w->argv || !w->env) {
        free(w->argv);
        free(w->env);
        free(w);
        astrid_err_set(err, ASTRID_E_NOMEM, "wasi: out of memory");
        return NULL;
    }
    w->argc = cfg->argc;
    w->nenv = cfg->nenv;
    w->log = cfg->log;
    w->log_user = cfg->log_user;
    w->charge = cfg->charge;
    w->charge_user = cfg->charge_user;
    for (int i = 0; i < 3; i++)
        w->fds[i] = (wfd){1, -1, i, 0, NULL};
    if (cfg->npreopens > MAX_FDS - 3) {
        astrid_wasi_free(w);
        astrid_err_set(err, ASTRID_E_LIMIT, "wasi: too many preopened directories");
        return NULL;
    }
    if (cfg->npreopens && !cfg->guard) {
        astrid_wasi_free(w);
        astrid_err_set(err, ASTRID_E_PERM,
                       "wasi: preopened directories need the VFS guard (the kernel's state "
                       "must stay out of reach)");
        return NULL;
    }
    if (cfg->guard)
        w->guard = *cfg->guard;
    for (size_t i = 0; i < cfg->npreopens; i++) {
        int fd = open(cfg->preopens[i].host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            astrid_err_sys(err, "wasi: preopen %s", cfg->preopens[i].host_dir);
            astrid_wasi_free(w);
            return NULL;
        }
        if (astrid_vfs_guard_check_fd(&w->guard, fd, cfg->preopens[i].guest_path, err) != 0) {
            close(fd);
            astrid_wasi_free(w);
            return NULL;
        }
        w->fds[3 + i] = (wfd){1, fd, -1, 1, strdup(cfg->preopens[i].guest_path)};
    }
    return w;
}

static int werrno(int e)
{
    switch (e) {
    case 0:
        return W_SUCCESS;
    case E2BIG:
        return W_2BIG;
    case EACCES:
        return W_ACCES;
    case EBADF:
        return W_BADF;
    case EEXIST:
        return W_EXIST;
    case EFAULT:
        return W_FAULT;
    case EINVAL:
        return W_INVAL;
    case EISDIR:
        return W_ISDIR;
    case ELOOP:
        return W_LOOP;
    case EMFILE:
        return W_MFILE;
    case ENAMETOOLONG:
        return W_NAMETOOLONG;
    case ENOENT:
        return W_NOENT;
    case ENOSPC:
        return W_NOSPC;
    case ENOSYS:
        return W_NOSYS;
    case ENOTDIR:
        return W_NOTDIR;
    case ENOTEMPTY:
        return W_NOTEMPTY;
    case EPERM:
        return W_PERM;
    case ESPIPE:
        return W_SPIPE;
    case EXDEV:
        return W_XDEV;
    default:
        return W_IO;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static wfd *getfd(astrid_wasi *w, uint32_t fd)
{
    return (w && fd < MAX_FDS && w->fds[fd].used) ? &w->fds[fd] : NULL;
}

/* Copy a guest path into `out`; rejects NULs and oversize. */
static int guest_path(void *inst, uint32_t ptr, uint32_t len, char *out)
{
    if (len >= MAX_PATH)
        return W_NAMETOOLONG;
    uint8_t *p = astrid_wasm_mem(inst, ptr, len);
    if (!p)
        return W_FAULT;
    if (memchr(p, 0, len))
        return W_INVAL;
    memcpy(out, p, len);
    out[len] = 0;
    return 0;
}

/* openat2 confined beneath dir `dirfd`: no absolute paths, no `..` above
 * the root, no symlink leaving it, no /proc magic links. */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0 && errno == EXDEV)
        errno = EPERM; /* an escape attempt */
    return (int)fd;
}

/* A VFS refusal or failure as a WASI errno. */
static int verr(const astrid_err *e)
{
    switch (e->code) {
    case ASTRID_E_PERM:
        return W_NOTCAPABLE;
    case ASTRID_E_NOTFOUND:
        return W_NOENT;
    case ASTRID_E_LIMIT:
        return W_NAMETOOLONG;
    case ASTRID_E_IO:
        return werrno(e->sys_errno);
    default:
        return W_IO;
    }
}

/* The parent of `path` beneath `dirfd`, pinned and checked by the VFS
 * guard (it and the entry); `base` receives the last component, which must
 * be a plain name. Returns an O_PATH fd or -1 with *werr set. */
static int open_parent(astrid_wasi *w, int dirfd, const char *path, char *base, size_t bn,
                       int *werr)
{
    astrid_err e;
    int fd = astrid_vfs_pin_at(&w->guard, dirfd, path, base, bn, path, &e);
    if (fd < 0) {
        *werr = verr(&e);
        return -1;
    }
    if (strcmp(base, ".") == 0) {
        close(fd);
        *werr = W_PERM;
        return -1;
    }
    return fd;
}

#define ENTER(inst)                                                                                \
    astrid_wasm_host_enter(inst);                                                                  \
    astrid_wasi *w = astrid_wasm_instance_wasi(inst);                                              \
    uint32_t rc = W_SUCCESS;                                                                       \
    if (!w) {                                                                                      \
        rc = W_NOSYS;                                                                              \
        goto out;                                                                                  \
    }
#define LEAVE(inst)                                                                                \
    out:                                                                                           \
    astrid_wasm_host_leave(inst);                                                                  \
    return rc

#define FAIL(code)                                                                                 \
    do {                                                                                           \
        rc = (code);                                                                               \
        goto out;                                                                                  \
    } while (0)

static uint32_t list_sizes(void *inst, char **list, size_t n, uint32_t count_ptr, uint32_t size_ptr)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(list[i]) + 1;
    uint8_t *c = astrid_wasm_mem(inst, count_ptr, 4), *s = astrid_wasm_mem(inst, size_ptr, 4);
    if (!c || !s)
        return W_FAULT;
    put32(c, (uint32_t)n);
    put32(s, (uint32_t)total);
    return 0;
}

static uint32_t list_get(void *inst, char **list, size_t n, uint32_t ptrs, uint32_t buf)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]) + 1;
        uint8_t *p = astrid_wasm_mem(inst, ptrs + (uint32_t)(4 * i), 4);
        uint8_t *d = astrid_wasm_mem(inst, buf, (uint32_t)len);
        if (!p || !d)
            return W_FAULT;
        put32(p, buf);
        memcpy(d, list[i], len);
        buf += (uint32_t)len;
    }
    return 0;
}

/* ---------------------------------------------------------------- calls */
P(uint32_t, args_sizes_get, uint32_t a, uint32_t b);
P(uint32_t, args_get, uint32_t a, uint32_t b);
P(uint32_t, environ_sizes_get, uint32_t a, uint32_t b);
P(uint32_t, environ_get, uint32_t a, uint32_t b);
P(uint32_t, clock_res_get, uint32_t id, uint32_t out);
P(uint32_t, clock_time_get, uint32_t id, uint64_t prec, uint32_t out);
P(uint32_t, random_get, uint32_t buf, uint32_t len);
P(void, proc_exit, uint32_t code);
P(uint32_t, sched_yield);
P(uint32_t, fd_write, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
P(uint32_t, fd_read, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
P(uint32_t, fd_close, uint32_t fd);
P(uint32_t, fd_seek, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out);
P(uint32_t, fd_fdstat_get, uint32_t fd, uint32_t out);
P(uint32_t, fd_filestat_get, uint32_t fd, uint32_t out);
P(uint32_t, fd_prestat_get, uint32_t fd, uint32_t out);
P(uint32_t, fd_prestat_dir_name, uint32_t fd, uint32_t buf, uint32_t len);
P(uint32_t, fd_readdir, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out);
P(uint32_t, path_open, uint32_t fd, uint32_t lookup, uint32_t path, uint32_t plen, uint32_t oflags,
  uint64_t rights, uint64_t inherit, uint32_t fdflags, uint32_t out);
P(uint32_t, path_filestat_get, uint32_t fd, uint32_t lookup, uint32_t path, uint32_t plen,
  uint32_t out);
P(uint32_t, path_create_directory, uint32_t fd, uint32_t path, uint32_t plen);
P(uint32_t, path_remove_directory, uint32_t fd, uint32_t path, uint32_t plen);
P(uint32_t, path_unlink_file, uint32_t fd, uint32_t path, uint32_t plen);
P(uint32_t, path_rename, uint32_t fd, uint32_t path, uint32_t plen, uint32_t fd2, uint32_t path2,
  uint32_t plen2);
P(uint32_t, fd_fdstat_set_flags, uint32_t fd, uint32_t flags);
P(uint32_t, fd_sync, uint32_t fd);
P(uint32_t, fd_tell, uint32_t fd, uint32_t out);
P(uint32_t, poll_oneoff, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

P(uint32_t, args_sizes_get, uint32_t a, uint32_t b)
{
    ENTER(inst);
    rc = list_sizes(inst, w->argv, w->argc, a, b);
    LEAVE(inst);
}

P(uint32_t, args_get, uint32_t a, uint32_t b)
{
    ENTER(inst);
    rc = list_get(inst, w->argv, w->argc, a, b);
    LEAVE(inst);
}

P(uint32_t, environ_sizes_get, uint32_t a, uint32_t b)
{
    ENTER(inst);
    rc = list_sizes(inst, w->env, w->nenv, a, b);
    LEAVE(inst);
}

P(uint32_t, environ_get, uint32_t a, uint32_t b)
{
    ENTER(inst);
    rc = list_get(inst, w->env, w->nenv, a, b);
    LEAVE(inst);
}

static clockid_t clock_of(uint32_t id)
{
    return id == 0   ? CLOCK_REALTIME
           : id == 1 ? CLOCK_MONOTONIC
           : id == 2 ? CLOCK_PROCESS_CPUTIME_ID
                     : CLOCK_THREAD_CPUTIME_ID;
}

P(uint32_t, clock_res_get, uint32_t id, uint32_t out)
{
    ENTER(inst);
    struct timespec ts;
    uint8_t *o = astrid_wasm_mem(inst, out, 8);
    if (id > 3)
        FAIL(W_INVAL);
    if (!o)
        FAIL(W_FAULT);
    clock_getres(clock_of(id), &ts);
    put64(o, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    LEAVE(inst);
}

P(uint32_t, clock_time_get, uint32_t id, uint64_t prec, uint32_t out)
{
    (void)prec;
    ENTER(inst);
    struct timespec ts;
    uint8_t *o = astrid_wasm_mem(inst, out, 8);
    if (id > 3)
        FAIL(W_INVAL);
    if (!o)
        FAIL(W_FAULT);
    clock_gettime(clock_of(id), &ts);
    put64(o, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    LEAVE(inst);
}

P(uint32_t, random_get, uint32_t buf, uint32_t len)
{
    ENTER(inst);
    uint8_t *o = astrid_wasm_mem(inst, buf, len);
    if (!o)
        FAIL(W_FAULT);
    astrid_random_bytes(o, len);
    LEAVE(inst);
}

P(void, proc_exit, uint32_t code)
{
    astrid_wasm_host_exit(inst, (int)code);
}

P(uint32_t, sched_yield)
{
    ENTER(inst);
    sched_yield();
    LEAVE(inst);
}

P(uint32_t, poll_oneoff, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    ENTER(inst);
    rc = W_NOSYS;
    LEAVE(inst);
}

/* Gather guest iovecs into host iovecs; -1 on a bad pointer. */
static int iovecs(void *inst, uint32_t iovs, uint32_t n, struct iovec *out)
{
    if (n > MAX_IOVS)
        return -1;
    uint8_t *v = astrid_wasm_mem(inst, iovs, n * 8);
    if (!v && n)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = get32(v + 8 * i), l = get32(v + 8 * i + 4);
        out[i].iov_base = astrid_wasm_mem(inst, p, l);
        out[i].iov_len = l;
        if (!out[i].iov_base && l)
            return -1;
    }
    return 0;
}

P(uint32_t, fd_write, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    ENTER(inst);
    struct iovec v[MAX_IOVS];
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 4);
    if (!f)
        FAIL(W_BADF);
    if (!o || iovecs(inst, iovs, n, v) < 0)
        FAIL(W_FAULT);
    size_t total = 0;
    if (f->stdio == 1 || f->stdio == 2) {
        for (uint32_t i = 0; i < n; i++) {
            if (w->log && v[i].iov_len)
                w->log(w->log_user, f->stdio, v[i].iov_base, v[i].iov_len);
            total += v[i].iov_len;
        }
    } else if (f->host >= 0 && !f->is_dir) {
        /* the growth past the file's end is charged first; what did not
         * land is given back */
        struct stat st;
        int64_t want = 0, growth = 0;
        for (uint32_t i = 0; i < n; i++)
            want += (int64_t)v[i].iov_len;
        if (w->charge && fstat(f->host, &st) == 0 && S_ISREG(st.st_mode)) {
            int fl = fcntl(f->host, F_GETFL);
            off_t pos = fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(f->host, 0, SEEK_CUR);
            growth = pos + want > st.st_size ? pos + want - st.st_size : 0;
        }
        if (charge(w, growth) != 0)
            FAIL(W_DQUOT);
        ssize_t r = writev(f->host, v, (int)n);
        if (r < 0) {
            charge(w, -growth);
            FAIL((uint32_t)werrno(errno));
        }
        if (r < want && growth)
            charge(w, -(growth < want - r ? growth : want - r));
        total = (size_t)r;
    } else {
        FAIL(W_BADF);
    }
    put32(o, (uint32_t)total);
    LEAVE(inst);
}

P(uint32_t, fd_read, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    ENTER(inst);
    struct iovec v[MAX_IOVS];
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 4);
    if (!f)
        FAIL(W_BADF);
    if (!o || iovecs(inst, iovs, n, v) < 0)
        FAIL(W_FAULT);
    ssize_t r = 0;
    if (f->stdio == 0) {
        r = 0; /* no stdin: end of file */
    } else if (f->host >= 0 && !f->is_dir) {
        r = readv(f->host, v, (int)n);
        if (r < 0)
            FAIL((uint32_t)werrno(errno));
    } else {
        FAIL(W_BADF);
    }
    put32(o, (uint32_t)r);
    LEAVE(inst);
}

P(uint32_t, fd_close, uint32_t fd)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    if (!f)
        FAIL(W_BADF);
    if (f->host >= 0)
        close(f->host);
    free(f->preopen);
    memset(f, 0, sizeof *f);
    LEAVE(inst);
}

P(uint32_t, fd_seek, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 8);
    if (!f)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    if (f->host < 0 || f->is_dir)
        FAIL(W_SPIPE);
    if (whence > 2)
        FAIL(W_INVAL);
    off_t r = lseek(f->host, (off_t)off,
                    whence == 0   ? SEEK_SET
                    : whence == 1 ? SEEK_CUR
                                  : SEEK_END);
    if (r < 0)
        FAIL((uint32_t)werrno(errno));
    put64(o, (uint64_t)r);
    LEAVE(inst);
}

P(uint32_t, fd_tell, uint32_t fd, uint32_t out)
{
    return WASI(fd_seek)(inst, fd, 0, 1, out);
}

P(uint32_t, fd_sync, uint32_t fd)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    if (!f)
        FAIL(W_BADF);
    if (f->host >= 0 && !f->is_dir && fsync(f->host) != 0)
        FAIL((uint32_t)werrno(errno));
    LEAVE(inst);
}

P(uint32_t, fd_fdstat_set_flags, uint32_t fd, uint32_t flags)
{
    (void)flags;
    ENTER(inst);
    rc = getfd(w, fd) ? W_NOSYS : W_BADF;
    LEAVE(inst);
}

static uint8_t filetype(mode_t m)
{
    return S_ISDIR(m)   ? FT_DIR
           : S_ISREG(m) ? FT_REG
           : S_ISLNK(m) ? FT_SYMLINK
           : S_ISCHR(m) ? FT_CHAR
                        : FT_UNKNOWN;
}

P(uint32_t, fd_fdstat_get, uint32_t fd, uint32_t out)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 24);
    if (!f)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    memset(o, 0, 24);
    o[0] = f->stdio >= 0 ? FT_CHAR : f->is_dir ? FT_DIR : FT_REG;
    if (f->host >= 0 && !f->is_dir) {
        int fl = fcntl(f->host, F_GETFL);
        if (fl >= 0 && (fl & O_APPEND))
            o[2] = 1;
    }
    put64(o + 8, ~0ull); /* rights are enforced by the host calls themselves */
    put64(o + 16, ~0ull);
    LEAVE(inst);
}

static void put_filestat(uint8_t *o, const struct stat *st)
{
    memset(o, 0, 64);
    put64(o, (uint64_t)st->st_dev);
    put64(o + 8, (uint64_t)st->st_ino);
    o[16] = filetype(st->st_mode);
    put64(o + 24, (uint64_t)st->st_nlink);
    put64(o + 32, (uint64_t)st->st_size);
    put64(o + 40, (uint64_t)st->st_atim.tv_sec * 1000000000ull + (uint64_t)st->st_atim.tv_nsec);
    put64(o + 48, (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec);
    put64(o + 56, (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec);
}

P(uint32_t, fd_filestat_get, uint32_t fd, uint32_t out)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 64);
    struct stat st;
    if (!f)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    if (f->host < 0) {
        memset(&st, 0, sizeof st);
        st.st_mode = S_IFCHR;
    } else if (fstat(f->host, &st) != 0) {
        FAIL((uint32_t)werrno(errno));
    }
    put_filestat(o, &st);
    LEAVE(inst);
}

P(uint32_t, fd_prestat_get, uint32_t fd, uint32_t out)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 8);
    if (!f || !f->preopen)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    memset(o, 0, 8);
    put32(o + 4, (uint32_t)strlen(f->preopen));
    LEAVE(inst);
}

P(uint32_t, fd_prestat_dir_name, uint32_t fd, uint32_t buf, uint32_t len)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    if (!f || !f->preopen)
        FAIL(W_BADF);
    size_t n = strlen(f->preopen);
    uint8_t *o = astrid_wasm_mem(inst, buf, len);
    if (!o)
        FAIL(W_FAULT);
    if (len < n)
        FAIL(W_NAMETOOLONG);
    memcpy(o, f->preopen, n);
    LEAVE(inst);
}

P(uint32_t, fd_readdir, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out)
{
    ENTER(inst);
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, buf, len), *u = astrid_wasm_mem(inst, out, 4);
    if (!f || f->host < 0 || !f->is_dir)
        FAIL(W_BADF);
    if (!o || !u)
        FAIL(W_FAULT);
    int dfd = open_beneath(f->host, ".", O_RDONLY | O_DIRECTORY, 0);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        FAIL((uint32_t)werrno(errno));
    }
    uint32_t used = 0;
    uint64_t idx = 0;
    struct dirent *e;
    while ((e = readdir(d)) && used < len) {
        if (idx++ < cookie)
            continue;
        uint8_t hdr[24];
        size_t nl = strlen(e->d_name);
        put64(hdr, idx);
        put64(hdr + 8, (uint64_t)e->d_ino);
        put32(hdr + 16, (uint32_t)nl);
        memset(hdr + 20, 0, 4);
        hdr[20] = e->d_type == DT_DIR   ? FT_DIR
                  : e->d_type == DT_REG ? FT_REG
                  : e->d_type == DT_LNK ? FT_SYMLINK
                                        : FT_UNKNOWN;
        /* entries may be cut at the buffer's end: the guest retries */
        size_t take = len - used < 24 ? len - used : 24;
        memcpy(o + used, hdr, take);
        used += (uint32_t)take;
        take = len - used < nl ? len - used : nl;
        memcpy(o + used, e->d_name, take);
        used += (uint32_t)take;
    }
    closedir(d);
    put32(u, used);
    LEAVE(inst);
}

P(uint32_t, path_open, uint32_t fd, uint32_t lookup, uint32_t path, uint32_t plen, uint32_t oflags,
  uint64_t rights, uint64_t inherit, uint32_t fdflags, uint32_t out)
{
    (void)inherit;
    ENTER(inst);
    char p[MAX_PATH];
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 4);
    if (!f || f->host < 0 || !f->is_dir)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    if ((rc = (uint32_t)guest_path(inst, path, plen, p)) != 0)
        goto out;
    int slot = 3;
    while (slot < MAX_FDS && w->fds[slot].used)
        slot++;
    if (slot == MAX_FDS)
        FAIL(W_MFILE);
    /* FD_READ|FD_READDIR vs FD_WRITE|FD_ALLOCATE|FD_FILESTAT_SET_SIZE */
    int rd = (rights & ((1ull << 1) | (1ull << 14))) != 0;
    int wr = (rights & ((1ull << 6) | (1ull << 8) | (1ull << 22))) != 0;
    int flags = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & 1)
        flags |= O_CREAT;
    if (oflags & 2)
        flags |= O_DIRECTORY;
    if (oflags & 4)
        flags |= O_EXCL;
    /* O_TRUNC by hand when charging: the old size is credited */
    bool trunc = (oflags & 8) != 0;
    if (trunc && !w->charge)
        flags |= O_TRUNC;
    if (fdflags & 1)
        flags |= O_APPEND;
    if (!(lookup & 1))
        flags |= O_NOFOLLOW;
    astrid_err e;
    int h = astrid_vfs_openat(&w->guard, f->host, p, flags, 0600, p, &e);
    if (h < 0 && e.code == ASTRID_E_IO && e.sys_errno == EISDIR && !wr)
        h = astrid_vfs_openat(&w->guard, f->host, p, O_RDONLY | O_DIRECTORY, 0, p, &e);
    if (h < 0)
        FAIL((uint32_t)verr(&e));
    struct stat st;
    fstat(h, &st);
    if (trunc && w->charge && S_ISREG(st.st_mode)) {
        if (ftruncate(h, 0) != 0) {
            int saved = errno;
            close(h);
            FAIL((uint32_t)werrno(saved));
        }
        charge(w, -(int64_t)st.st_size);
    }
    w->fds[slot] = (wfd){1, h, -1, S_ISDIR(st.st_mode), NULL};
    put32(o, (uint32_t)slot);
    LEAVE(inst);
}

P(uint32_t, path_filestat_get, uint32_t fd, uint32_t lookup, uint32_t path, uint32_t plen,
  uint32_t out)
{
    ENTER(inst);
    char p[MAX_PATH];
    wfd *f = getfd(w, fd);
    uint8_t *o = astrid_wasm_mem(inst, out, 64);
    if (!f || f->host < 0 || !f->is_dir)
        FAIL(W_BADF);
    if (!o)
        FAIL(W_FAULT);
    if ((rc = (uint32_t)guest_path(inst, path, plen, p)) != 0)
        goto out;
    /* O_PATH on the last component: with O_NOFOLLOW a symlink itself, else
     * what it leads to (beneath the root, checked). */
    astrid_err e;
    int h = astrid_vfs_openat(&w->guard, f->host, p, O_PATH | ((lookup & 1) ? 0 : O_NOFOLLOW), 0, p,
                              &e);
    struct stat st;
    if (h < 0)
        FAIL((uint32_t)verr(&e));
    int r = fstat(h, &st);
    close(h);
    if (r != 0)
        FAIL((uint32_t)werrno(errno));
    put_filestat(o, &st);
    LEAVE(inst);
}

enum { OP_MKDIR, OP_RMDIR, OP_UNLINK };

static uint32_t path_op(void *inst, astrid_wasi *w, uint32_t fd, uint32_t path, uint32_t plen,
                        int op)
{
    char p[MAX_PATH], base[MAX_PATH];
    wfd *f = getfd(w, fd);
    if (!f || f->host < 0 || !f->is_dir)
        return W_BADF;
    int e = guest_path(inst, path, plen, p);
    if (e)
        return (uint32_t)e;
    int dfd = open_parent(w, f->host, p, base, sizeof base, &e);
    if (dfd < 0)
        return (uint32_t)e;
    int64_t size = op == OP_UNLINK ? file_size_at(dfd, base) : 0;
    int r = op == OP_MKDIR ? mkdirat(dfd, base, 0700)
                           : unlinkat(dfd, base, op == OP_RMDIR ? AT_REMOVEDIR : 0);
    int saved = errno;
    close(dfd);
    if (r == 0)
        charge(w, -size);
    return r == 0 ? 0 : (uint32_t)werrno(saved);
}

P(uint32_t, path_create_directory, uint32_t fd, uint32_t path, uint32_t plen)
{
    ENTER(inst);
    rc = path_op(inst, w, fd, path, plen, OP_MKDIR);
    LEAVE(inst);
}

P(uint32_t, path_remove_directory, uint32_t fd, uint32_t path, uint32_t plen)
{
    ENTER(inst);
    rc = path_op(inst, w, fd, path, plen, OP_RMDIR);
    LEAVE(inst);
}

P(uint32_t, path_unlink_file, uint32_t fd, uint32_t path, uint32_t plen)
{
    ENTER(inst);
    rc = path_op(inst, w, fd, path, plen, OP_UNLINK);
    LEAVE(inst);
}

P(uint32_t, path_rename, uint32_t fd, uint32_t path, uint32_t plen, uint32_t fd2, uint32_t path2,
  uint32_t plen2)
{
    ENTER(inst);
    char a[MAX_PATH], b[MAX_PATH], ba[MAX_PATH], bb[MAX_PATH];
    int e;
    wfd *f = getfd(w, fd), *g = getfd(w, fd2);
    if (!f || !g || f->host < 0 || g->host < 0 || !f->is_dir || !g->is_dir)
        FAIL(W_BADF);
    if ((rc = (uint32_t)guest_path(inst, path, plen, a)) != 0 ||
        (rc = (uint32_t)guest_path(inst, path2, plen2, b)) != 0)
        goto out;
    int da = open_parent(w, f->host, a, ba, sizeof ba, &e);
    if (da < 0)
        FAIL((uint32_t)e);
    int db = open_parent(w, g->host, b, bb, sizeof bb, &e);
    if (db < 0) {
        rc = (uint32_t)e;
        close(da);
        goto out;
    }
    struct stat sa, sb;
    bool same = fstatat(da, ba, &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
                fstatat(db, bb, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sa.st_ino == sb.st_ino &&
                sa.st_dev == sb.st_dev;
    int64_t replaced = same ? 0 : file_size_at(db, bb); /* renaming onto itself frees nothing */
    int r = renameat(da, ba, db, bb);
    int saved = errno;
    if (r == 0)
        charge(w, -replaced);
    close(da);
    close(db);
    if (r != 0)
        FAIL((uint32_t)werrno(saved));
    LEAVE(inst);
}
