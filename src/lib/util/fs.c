#include "astrid/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int astrid_fsync_dir(const char *dir, astrid_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return astrid_err_sys(err, "open directory %s", dir);
    int rc = fsync(fd);
    close(fd);
    if (rc != 0 && errno != EINVAL)
        return astrid_err_sys(err, "fsync directory %s", dir);
    return 0;
}

static void dir_of(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, outsz, ".");
    } else if (slash == path) {
        snprintf(out, outsz, "/");
    } else {
        snprintf(out, outsz, "%.*s", (int)(slash - path), path);
    }
}

/* A full disk is the operator's problem to fix, so say so in their terms
 * (the file they know, not our temp name); other errors keep the syscall. */
static int write_fail(astrid_err *err, const char *what, const char *tmp, const char *path)
{
    int e = errno;
    if (e == ENOSPC || e == EDQUOT) {
        astrid_err_set(err, ASTRID_E_IO, "%s writing %s",
                       e == ENOSPC ? "no space left on device" : "disk quota exceeded", path);
        if (err)
            err->sys_errno = e;
        return -1;
    }
    return astrid_err_sys(err, "%s %s", what, tmp);
}

int astrid_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
                        astrid_err *err)
{
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (*base == '\0')
        return astrid_err_set(err, ASTRID_E_INVALID, "atomic write: '%s' names a directory", path);
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, base);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return astrid_err_set(err, ASTRID_E_LIMIT, "atomic write: path too long: %s", path);

    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return write_fail(err, "create temp file for", path, path);
    if (fchmod(fd, mode) != 0) {
        astrid_err_sys(err, "chmod %s", tmp);
        goto fail;
    }
    if (write_all(fd, data, len) != 0) {
        write_fail(err, "write", tmp, path);
        goto fail;
    }
    if (fsync(fd) != 0) {
        write_fail(err, "fsync", tmp, path);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        write_fail(err, "close", tmp, path);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        astrid_err_sys(err, "rename %s to %s", tmp, path);
        goto fail;
    }
    return astrid_fsync_dir(dir, err);

fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int astrid_write_if_changed(const char *path, const void *data, size_t len, mode_t mode,
                            bool *written, astrid_err *err)
{
    if (written)
        *written = false;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
        (size_t)st.st_size == len) {
        char *cur = NULL;
        size_t n = 0;
        bool same = astrid_read_file(path, len, &cur, &n, NULL) == 0 && n == len &&
                    (len == 0 || memcmp(cur, data, len) == 0);
        free(cur);
        if (same)
            return 0;
    }
    if (astrid_atomic_write(path, data, len, mode, err) != 0)
        return -1;
    if (written)
        *written = true;
    return 0;
}

int astrid_read_file(const char *path, size_t max, char **out, size_t *len, astrid_err *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        astrid_err_sys(err, "open %s", path);
        if (err && e == ENOENT)
            err->code = ASTRID_E_NOTFOUND;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        astrid_err_sys(err, "stat %s", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_INVALID, "%s is not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is %lld bytes, over the %zu-byte limit",
                              path, (long long)st.st_size, max);
    }
    /* One spare byte beyond the size so EOF is seen without growing. */
    size_t cap = (size_t)st.st_size + 2;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    for (;;) {
        if (got + 1 >= cap) {
            /* The file grew after fstat: keep reading up to the limit. */
            if (got > max) {
                free(buf);
                close(fd);
                return astrid_err_set(err, ASTRID_E_LIMIT, "%s is over the %zu-byte limit", path,
                                      max);
            }
            size_t ncap = cap * 2 + 64;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            astrid_err_sys(err, "read %s", path);
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got > max) {
        free(buf);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is over the %zu-byte limit", path, max);
    }
    buf[got] = '\0';
    *out = buf;
    if (len)
        *len = got;
    return 0;
}

int astrid_path_join_n(char *out, size_t outsz, const char *base, const char *rel, size_t rel_len,
                       astrid_err *err)
{
    if (memchr(rel, '\0', rel_len))
        return astrid_err_set(err, ASTRID_E_INVALID, "path contains a NUL byte");
    if (rel_len > 0 && rel[0] == '/')
        return astrid_err_set(err, ASTRID_E_INVALID, "path '%.*s' is absolute", (int)rel_len, rel);
    size_t o = strlen(base);
    if (o + 1 > outsz)
        return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
    memcpy(out, base, o);
    while (o > 1 && out[o - 1] == '/')
        o--;
    size_t i = 0;
    while (i < rel_len) {
        size_t j = i;
        while (j < rel_len && rel[j] != '/')
            j++;
        size_t clen = j - i;
        if (clen == 2 && rel[i] == '.' && rel[i + 1] == '.')
            return astrid_err_set(err, ASTRID_E_INVALID, "path '%.*s' contains '..'", (int)rel_len,
                                  rel);
        if (clen > 0 && !(clen == 1 && rel[i] == '.')) {
            int need_slash = !(o > 0 && out[o - 1] == '/');
            if (o + (size_t)need_slash + clen + 1 > outsz)
                return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
            if (need_slash)
                out[o++] = '/';
            memcpy(out + o, rel + i, clen);
            o += clen;
        }
        i = j + 1;
    }
    out[o] = '\0';
    return 0;
}

int astrid_path_join(char *out, size_t outsz, const char *base, const char *rel, astrid_err *err)
{
    return astrid_path_join_n(out, outsz, base, rel, strlen(rel), err);
}

int astrid_mkdir_p(const char *path, mode_t mode, int force_mode, astrid_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return astrid_err_set(err, ASTRID_E_INVALID, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) != 0) {
            if (errno != EEXIST)
                return astrid_err_sys(err, "mkdir %s", buf);
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return astrid_err_set(err, ASTRID_E_INVALID, "%s exists and is not a directory",
                                      buf);
            if (force_mode && saved == '\0' && (st.st_mode & 07777) != mode &&
                chmod(buf, mode) != 0)
                return astrid_err_sys(err, "chmod %s", buf);
        } else if (chmod(buf, mode) != 0) {
            /* mkdir's mode is filtered by umask; state directories need it exact. */
            return astrid_err_sys(err, "chmod %s", buf);
        }
        buf[i] = saved;
    }
    return 0;
}
