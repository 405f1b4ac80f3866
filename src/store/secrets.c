#include "store/secrets.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/principal.h"

static bool valid_principal_or_host(const char *s)
{
    return strcmp(s, ASTRID_SECRET_SCOPE_HOST) == 0 || astrid_principal_validate(s, NULL) == 0;
}

static bool valid_capsule(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static int check_key(const char *key, astrid_err *err)
{
    if (!key || !key[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "secret key must not be empty");
    if (strchr(key, ':') || strchr(key, '/'))
        return astrid_err_set(err, ASTRID_E_INVALID, "secret key '%s' must not contain ':' or '/'",
                              key);
    if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0 || key[0] == '.')
        return astrid_err_set(err, ASTRID_E_INVALID, "secret key '%s' must not start with '.'",
                              key);
    if (strlen(key) > 200)
        return astrid_err_set(err, ASTRID_E_LIMIT, "secret key is too long");
    return 0;
}

/* secrets/{scope}/{capsule} under home, validating every part. */
static int capsule_dir(char *out, size_t n, const char *home, const char *scope,
                       const char *capsule, astrid_err *err)
{
    if (!valid_principal_or_host(scope))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid secret scope '%s'", scope);
    if (!valid_capsule(capsule))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid capsule name '%s'", capsule);
    if (astrid_home_secret_capsule_dir(out, n, home, scope, capsule, err) != 0)
        return astrid_err_set(err, ASTRID_E_LIMIT, "secret path too long");
    return 0;
}

static int secret_path(char *out, size_t n, const char *home, const char *scope,
                       const char *capsule, const char *key, astrid_err *err)
{
    char dir[PATH_MAX];
    if (check_key(key, err) != 0 || capsule_dir(dir, sizeof dir, home, scope, capsule, err) != 0)
        return -1;
    return astrid_home_secret_file(out, n, home, scope, capsule, key, err);
}

int astrid_secret_set(const char *home, const char *scope, const char *capsule, const char *key,
                      const char *value, astrid_err *err)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    if (secret_path(path, sizeof path, home, scope, capsule, key, err) != 0)
        return -1;
    size_t len = value ? strlen(value) : 0;
    if (len == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "secret value must not be empty");
    if (len > ASTRID_SECRET_MAX_BYTES)
        return astrid_err_set(err, ASTRID_E_LIMIT, "secret value exceeds %d-byte cap",
                              ASTRID_SECRET_MAX_BYTES);
    if (capsule_dir(dir, sizeof dir, home, scope, capsule, err) != 0)
        return -1;
    char root[PATH_MAX];
    astrid_home_secrets_dir(root, sizeof root, home, NULL); /* "" fails the mkdir below */
    /* The root and scope dirs must be 0700 too, not just the leaf. */
    if (astrid_mkdir_p(root, 0700, 1, err) != 0 || astrid_mkdir_p(dir, 0700, 1, err) != 0)
        return -1;
    return astrid_atomic_write(path, value, len, 0600, err);
}

int astrid_secret_get(const char *home, const char *scope, const char *capsule, const char *key,
                      char **value, astrid_err *err)
{
    *value = NULL;
    char path[PATH_MAX];
    if (secret_path(path, sizeof path, home, scope, capsule, key, err) != 0)
        return -1;
    astrid_err e;
    char *buf;
    if (astrid_read_file(path, ASTRID_SECRET_MAX_BYTES, &buf, NULL, &e) != 0) {
        if (e.code == ASTRID_E_NOTFOUND)
            return 0;
        if (e.code == ASTRID_E_LIMIT)
            return astrid_err_set(err, ASTRID_E_LIMIT, "secret file exceeds %d-byte cap",
                                  ASTRID_SECRET_MAX_BYTES);
        if (err)
            *err = e;
        return -1;
    }
    *value = buf;
    return 0;
}

int astrid_secret_delete(const char *home, const char *scope, const char *capsule, const char *key,
                         bool *existed, astrid_err *err)
{
    if (existed)
        *existed = false;
    char path[PATH_MAX];
    if (secret_path(path, sizeof path, home, scope, capsule, key, err) != 0)
        return -1;
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return 0;
        return astrid_err_sys(err, "delete secret %s", path);
    }
    if (existed)
        *existed = true;
    return 0;
}

int astrid_secret_resolve(const char *home, const char *principal, const char *capsule,
                          const char *key, char **value, astrid_err *err)
{
    if (astrid_secret_get(home, principal, capsule, key, value, err) != 0)
        return -1;
    if (*value)
        return 0;
    return astrid_secret_get(home, ASTRID_SECRET_SCOPE_HOST, capsule, key, value, err);
}

int astrid_secret_copy_capsule(const char *home, const char *from, const char *to,
                               const char *capsule, size_t *copied, astrid_err *err)
{
    if (copied)
        *copied = 0;
    char dir[PATH_MAX];
    if (capsule_dir(dir, sizeof dir, home, from, capsule, err) != 0)
        return -1;
    if (!valid_principal_or_host(to))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid secret scope '%s'", to);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : astrid_err_sys(err, "open %s", dir);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Temp files of an interrupted write start with '.', like . and .. */
        if (e->d_name[0] == '.' || check_key(e->d_name, NULL) != 0)
            continue;
        char *val;
        if (astrid_secret_get(home, from, capsule, e->d_name, &val, err) != 0) {
            rc = -1;
            break;
        }
        if (!val)
            continue;
        rc = astrid_secret_set(home, to, capsule, e->d_name, val, err);
        explicit_bzero(val, strlen(val));
        free(val);
        if (rc != 0)
            break;
        if (copied)
            (*copied)++;
    }
    closedir(d);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void astrid_secret_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The entries of `dir` that pass `ok` (dot names never: temp files of an
 * interrupted write start with '.'). */
static int list_dir(const char *dir, bool (*ok)(const char *), char ***out, size_t *n,
                    astrid_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : astrid_err_sys(err, "open %s", dir);
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ok(e->d_name))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[cnt] = strdup(e->d_name))) {
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc != 0) {
        astrid_secret_names_free(v, cnt);
        return -1;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_name);
    *out = v;
    *n = cnt;
    return 0;
}

static bool key_ok(const char *k)
{
    return check_key(k, NULL) == 0;
}

int astrid_secret_keys(const char *home, const char *scope, const char *capsule, char ***keys,
                       size_t *n, astrid_err *err)
{
    char dir[PATH_MAX];
    *keys = NULL;
    *n = 0;
    if (capsule_dir(dir, sizeof dir, home, scope, capsule, err) != 0)
        return -1;
    return list_dir(dir, key_ok, keys, n, err);
}

int astrid_secret_capsules(const char *home, const char *scope, char ***names, size_t *n,
                           astrid_err *err)
{
    char dir[PATH_MAX];
    *names = NULL;
    *n = 0;
    if (!valid_principal_or_host(scope))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid secret scope '%s'", scope);
    if (astrid_home_secret_scope_dir(dir, sizeof dir, home, scope, err) != 0)
        return -1;
    return list_dir(dir, valid_capsule, names, n, err);
}

int astrid_secret_purge_capsule(const char *home, const char *scope, const char *capsule,
                                size_t *removed, astrid_err *err)
{
    char dir[PATH_MAX];
    if (removed)
        *removed = 0;
    if (capsule_dir(dir, sizeof dir, home, scope, capsule, err) != 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : astrid_err_sys(err, "open %s", dir);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        /* temp files of an interrupted write too: nothing of it may stay */
        if (unlinkat(dirfd(d), e->d_name, 0) != 0) {
            rc = astrid_err_sys(err, "delete %s/%s", dir, e->d_name);
            break;
        }
        if (removed && e->d_name[0] != '.')
            (*removed)++;
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) != 0 && errno != ENOENT)
        rc = astrid_err_sys(err, "remove %s", dir);
    return rc;
}
