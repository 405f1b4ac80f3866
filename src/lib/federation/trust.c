/* The federation trust table, etc/trust.toml (include/astrid/trust.h).
 * Loaded whole or refused whole: a half-read table could drop a revocation
 * (a removed host) or keep a key an operator thought replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/toml.h"
#include "astrid/trust.h"

#define TRUST_MAX_BYTES (1u << 20)
#define TRUST_MAX_HOSTS 4096
#define ADDED_MAX 64

typedef struct trust_host {
    char name[ASTRID_FED_NAME_MAX + 1];
    uint8_t pk[32];
    char added[ADDED_MAX];
} trust_host;

struct astrid_trust {
    size_t n, cap;
    trust_host *h; /* owned */
};

astrid_trust *astrid_trust_new(void)
{
    return calloc(1, sizeof(astrid_trust));
}

void astrid_trust_free(astrid_trust *t)
{
    if (!t)
        return;
    free(t->h);
    free(t);
}

static trust_host *find(const astrid_trust *t, const char *host)
{
    for (size_t i = 0; t && host && i < t->n; i++)
        if (strcmp(t->h[i].name, host) == 0)
            return &t->h[i];
    return NULL;
}

int astrid_trust_lookup(const astrid_trust *t, const char *host, uint8_t pk[32])
{
    const trust_host *h = find(t, host);
    if (!h)
        return -1;
    memcpy(pk, h->pk, 32);
    return 0;
}

size_t astrid_trust_count(const astrid_trust *t)
{
    return t ? t->n : 0;
}

int astrid_trust_at(const astrid_trust *t, size_t i, const char **name, uint8_t pk[32],
                    const char **added)
{
    if (!t || i >= t->n)
        return -1;
    if (name)
        *name = t->h[i].name;
    if (pk)
        memcpy(pk, t->h[i].pk, 32);
    if (added)
        *added = t->h[i].added;
    return 0;
}

static void now_rfc3339(char out[ADDED_MAX])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, ADDED_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int astrid_trust_add(astrid_trust *t, const char *host, const char *pubkey_hex, const char *added,
                     astrid_err *err)
{
    if (astrid_fed_name_validate("host name", host, err) != 0)
        return -1;
    uint8_t pk[32];
    if (!pubkey_hex || strlen(pubkey_hex) != 64 || astrid_hex_decode(pk, 32, pubkey_hex, 64) != 0)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "public key must be 64 hex digits (the host's keys/runtime.pub)");
    static const uint8_t zero[32];
    if (astrid_ct_equal(pk, zero, 32))
        return astrid_err_set(err, ASTRID_E_INVALID, "public key must not be all zeros");
    if (find(t, host))
        return astrid_err_set(err, ASTRID_E_EXISTS,
                              "host '%s' is already trusted (remove it first to change its key)",
                              host);
    char stamp[ADDED_MAX];
    if (added) {
        if (!*added || strlen(added) >= ADDED_MAX)
            return astrid_err_set(err, ASTRID_E_INVALID, "'added' must be 1-%d characters",
                                  ADDED_MAX - 1);
        memcpy(stamp, added, strlen(added) + 1);
    } else {
        now_rfc3339(stamp);
    }
    if (t->n >= TRUST_MAX_HOSTS)
        return astrid_err_set(err, ASTRID_E_LIMIT, "trust table holds %d hosts already",
                              TRUST_MAX_HOSTS);
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        trust_host *nh = realloc(t->h, nc * sizeof *nh);
        if (!nh)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        t->h = nh;
        t->cap = nc;
    }
    trust_host *h = &t->h[t->n++];
    memset(h, 0, sizeof *h);
    memcpy(h->name, host, strlen(host) + 1);
    memcpy(h->pk, pk, 32);
    memcpy(h->added, stamp, strlen(stamp) + 1);
    return 0;
}

int astrid_trust_remove(astrid_trust *t, const char *host, astrid_err *err)
{
    trust_host *h = find(t, host);
    if (!h)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "host '%.100s' is not trusted",
                              host ? host : "");
    size_t i = (size_t)(h - t->h);
    memmove(&t->h[i], &t->h[i + 1], (t->n - i - 1) * sizeof *h);
    t->n--;
    return 0;
}

int astrid_trust_parse(const char *text, size_t len, const char *path, astrid_trust **out,
                       astrid_err *err)
{
    *out = NULL;
    if (len > TRUST_MAX_BYTES)
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is %zu bytes, over the %u-byte limit", path,
                              len, TRUST_MAX_BYTES);
    astrid_toml *root = astrid_toml_parse(text, len, err, NULL);
    if (!root)
        return astrid_err_prefix(err, "%s", path);
    astrid_trust *t = astrid_trust_new();
    if (!t) {
        astrid_toml_free(root);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    char where[64];
    for (size_t i = 0; i < astrid_toml_len(root); i++) {
        const char *k = astrid_toml_key_at(root, i);
        if (strcmp(k, "host") != 0) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: unknown key '%.100s'", path, k);
            goto fail;
        }
    }
    astrid_toml *arr = astrid_toml_get(root, "host");
    if (arr && (astrid_toml_type_of(arr) != ASTRID_TOML_ARRAY)) {
        astrid_err_set(err, ASTRID_E_PARSE, "%s: 'host' must be an array of tables ([[host]])",
                       path);
        goto fail;
    }
    for (size_t i = 0; arr && i < astrid_toml_len(arr); i++) {
        astrid_toml *h = astrid_toml_at(arr, i);
        snprintf(where, sizeof where, "host[%zu]", i);
        if (astrid_toml_type_of(h) != ASTRID_TOML_TABLE) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: %s must be a table", path, where);
            goto fail;
        }
        const char *f[3] = {NULL, NULL, NULL};
        static const char *const keys[3] = {"name", "pubkey", "added"};
        for (size_t j = 0; j < astrid_toml_len(h); j++) {
            const char *k = astrid_toml_key_at(h, j);
            astrid_toml *v = astrid_toml_value_at(h, j);
            size_t x = 0;
            while (x < 3 && strcmp(k, keys[x]) != 0)
                x++;
            if (x == 3) {
                astrid_err_set(err, ASTRID_E_PARSE, "%s: %s: unknown key '%.100s'", path, where, k);
                goto fail;
            }
            size_t sl = 0;
            if (astrid_toml_type_of(v) != ASTRID_TOML_STRING ||
                strlen(astrid_toml_str(v, &sl)) != sl) {
                astrid_err_set(err, ASTRID_E_PARSE, "%s: %s.%s must be a string without NUL", path,
                               where, k);
                goto fail;
            }
            f[x] = astrid_toml_str(v, NULL);
        }
        for (size_t x = 0; x < 3; x++)
            if (!f[x]) {
                astrid_err_set(err, ASTRID_E_PARSE, "%s: %s: missing '%s'", path, where, keys[x]);
                goto fail;
            }
        if (astrid_trust_add(t, f[0], f[1], f[2], err) != 0) {
            astrid_err_prefix(err, "%s: %s", path, where);
            goto fail;
        }
    }
    astrid_toml_free(root);
    *out = t;
    return 0;
fail:
    astrid_toml_free(root);
    astrid_trust_free(t);
    return -1;
}

/* Read without following a symlink, and refuse a file others can write:
 * whoever can write trust.toml decides whose signatures this host believes. */
static int read_trust_file(const char *path, char **text, size_t *len, bool *missing,
                           astrid_err *err)
{
    *text = NULL;
    *len = 0;
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return 0;
        }
        return astrid_err_sys(err, "%s", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return astrid_err_sys(err, "%s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_INVALID, "%s is not a regular file", path);
    }
    if (st.st_mode & 022) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_PERM,
                              "%s is writable by group or others (mode %03o): refusing it; "
                              "chmod 600 it",
                              path, (unsigned)(st.st_mode & 0777));
    }
    if ((uint64_t)st.st_size > TRUST_MAX_BYTES) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is %lld bytes, over the %u-byte limit", path,
                              (long long)st.st_size, TRUST_MAX_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > TRUST_MAX_BYTES) {
                free(buf);
                close(fd);
                return astrid_err_set(err, ASTRID_E_LIMIT, "%s is over the %u-byte limit", path,
                                      TRUST_MAX_BYTES);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return astrid_err_sys(err, "%s", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int astrid_trust_load(const char *home, astrid_trust **out, astrid_err *err)
{
    *out = NULL;
    char path[4096];
    if (astrid_home_trust_file(path, sizeof path, home, err) != 0)
        return -1;
    char *text;
    size_t len;
    bool missing;
    if (read_trust_file(path, &text, &len, &missing, err) != 0)
        return -1;
    if (missing) {
        *out = astrid_trust_new();
        return *out ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    int rc = astrid_trust_parse(text, len, path, out, err);
    free(text);
    return rc;
}

char *astrid_trust_emit(const astrid_trust *t, astrid_err *err)
{
    /* The tree API cannot mark an array as [[host]] sections, so the
     * skeleton is parsed and the values set on its tables (the emitter
     * escapes them). */
    size_t n = t ? t->n : 0;
    char *skel = malloc(n * 9 + 1);
    if (!skel) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(skel + i * 9, "[[host]]\n", 9);
    skel[n * 9] = '\0';
    astrid_toml *root = astrid_toml_parse(skel, n * 9, err, NULL);
    free(skel);
    if (!root)
        return NULL;
    astrid_toml *arr = astrid_toml_get(root, "host");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char hex[65];
        astrid_hex_encode(hex, t->h[i].pk, 32);
        astrid_toml *h = astrid_toml_at(arr, i);
        rc |=
            astrid_toml_set(h, "name", astrid_toml_new_string(t->h[i].name, strlen(t->h[i].name)));
        rc |= astrid_toml_set(h, "pubkey", astrid_toml_new_string(hex, 64));
        rc |= astrid_toml_set(h, "added",
                              astrid_toml_new_string(t->h[i].added, strlen(t->h[i].added)));
    }
    if (rc != 0) {
        astrid_toml_free(root);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    char *s = astrid_toml_emit(root, err);
    astrid_toml_free(root);
    if (!s)
        return NULL;
    static const char head[] = "# Federation trust table: hosts whose runtime keys this host "
                               "believes.\n# Managed by `astrid trust add|remove`.\n";
    size_t hl = strlen(head), sl = strlen(s);
    char *full = malloc(hl + sl + 1);
    if (!full) {
        free(s);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(full, head, hl);
    memcpy(full + hl, s, sl);
    full[hl + sl] = '\0';
    free(s);
    return full;
}

int astrid_trust_save(const astrid_trust *t, const char *home, astrid_err *err)
{
    char path[4096], etc[4096];
    if (astrid_home_trust_file(path, sizeof path, home, err) != 0 ||
        astrid_home_etc_dir(etc, sizeof etc, home, err) != 0)
        return -1;
    if (astrid_mkdir_p(etc, 0700, 0, err) != 0)
        return -1;
    char *s = astrid_trust_emit(t, err);
    if (!s)
        return -1;
    int rc = astrid_atomic_write(path, s, strlen(s), 0600, err);
    free(s);
    return rc;
}

/* ---- remote principals' authz ---------------------------------------- */

static int copy_list(astrid_strlist *dst, const astrid_strlist *src, astrid_err *err)
{
    for (size_t i = 0; src && i < src->n; i++)
        if (astrid_strlist_push(dst, src->v[i], err) != 0)
            return -1;
    return 0;
}

static bool list_has(const astrid_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

astrid_profile *astrid_fed_remote_profile(const char *id, const astrid_profile *base,
                                          const char *mapped_group, astrid_err *err)
{
    if (astrid_remote_principal_validate(id, err) != 0)
        return NULL;
    astrid_profile *p = astrid_profile_new(err);
    if (!p)
        return NULL;
    /* Only the authz fields: a remote principal has no home, keys, egress
     * or processes on this host whatever its profile file says. */
    p->enabled = base ? base->enabled : true;
    if (base && (copy_list(&p->groups, &base->groups, err) != 0 ||
                 copy_list(&p->grants, &base->grants, err) != 0 ||
                 copy_list(&p->revokes, &base->revokes, err) != 0)) {
        astrid_profile_release(p);
        return NULL;
    }
    if (mapped_group && !list_has(&p->groups, mapped_group) &&
        astrid_strlist_push(&p->groups, mapped_group, err) != 0) {
        astrid_profile_release(p);
        return NULL;
    }
    return p;
}
