/* Offline audit verification and reading (`astrid audit verify|show`).
 * Only reads; safe while the daemon appends (a line being written is not
 * yet newline-terminated and is reported, never accepted). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "lib/audit/audit_ckpt.h"
#include "lib/audit/audit_entry.h"

#define AUDIT_MAX_FILE ((size_t)1 << 31)

/* Read a principal's log; a missing file is an empty log. */
static int load(const char *home, const char *principal, char **buf, size_t *len, astrid_err *err)
{
    char path[4096];
    if (audit_file_path(path, sizeof path, home, principal, err) < 0)
        return -1;
    astrid_err e2;
    if (astrid_read_file(path, AUDIT_MAX_FILE, buf, len, &e2) < 0) {
        if (e2.code == ASTRID_E_NOTFOUND || (e2.code == ASTRID_E_IO && e2.sys_errno == ENOENT)) {
            *buf = NULL;
            *len = 0;
            return 0;
        }
        if (err)
            *err = e2;
        return -1;
    }
    return 0;
}

static int bad(astrid_audit_report *rep, size_t line, json_t *o, const char *why, astrid_err *err)
{
    rep->bad_line = line;
    const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
    snprintf(rep->bad_id, sizeof rep->bad_id, "%s",
             id && strlen(id) < sizeof rep->bad_id ? id : "");
    snprintf(rep->reason, sizeof rep->reason, "%s", why);
    return astrid_err_set(err, ASTRID_E_CRYPTO, "audit entry at line %zu%s%s: %s", line,
                          rep->bad_id[0] ? " id " : "", rep->bad_id, why);
}

/* Streams the log (memory: the longest line), so `astrid audit verify`
 * checks every entry of a log of any length. Beyond the chain, a signed
 * checkpoint of this principal (docs/audit.md "Checkpoint") must describe
 * the log's start: the entry it counts ends at its offset with its hash. A
 * log shorter than its checkpoint lost entries a chain alone cannot show. */
int astrid_audit_verify(const char *home, const char *principal,
                        const uint8_t pk[ASTRID_ED25519_PK_LEN], astrid_audit_report *rep,
                        astrid_err *err)
{
    memset(rep, 0, sizeof *rep);
    char path[4096];
    if (audit_file_path(path, sizeof path, home, principal, err) < 0)
        return -1;
    audit_ckpt ck;
    char ckwhy[256];
    bool have_ck = audit_ckpt_load(home, principal, pk, &ck, ckwhy, sizeof ckwhy) == 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return astrid_err_sys(err, "open %s", path);
    char pkb64[AUDIT_PK_B64_LEN + 1];
    sodium_bin2base64(pkb64, sizeof pkb64, pk, ASTRID_ED25519_PK_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    char prev[AUDIT_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    size_t lineno = 0;
    int rc = 0, n = 0;
    bool ck_seen = false;
    audit_lines r;
    audit_lines_init(&r, fd, 0);
    const char *line;
    size_t ll;
    bool nl;
    uint64_t at;
    while (fd >= 0 && rc == 0 && (n = audit_lines_next(&r, &line, &ll, &nl, &at, err)) == 1) {
        lineno++;
        char why[256];
        json_t *o = NULL;
        if (!nl) {
            /* try to name the entry even though it is rejected */
            o = astrid_json_loadb(line, ll, 0, NULL);
            rc = bad(rep, lineno, o, "truncated last line (no newline)", err);
        } else if (!audit_line_check(line, ll, pk, &o, why, sizeof why)) {
            o = astrid_json_loadb(line, ll, 0, NULL);
            rc = bad(rep, lineno, o, why, err);
        } else {
            const char *ph = json_string_value(json_object_get(o, "previous_hash"));
            const char *rk = json_string_value(json_object_get(o, "runtime_key"));
            const char *pr = json_string_value(json_object_get(o, "principal"));
            if (!ph || strcmp(ph, prev) != 0)
                rc = bad(rep, lineno, o,
                         lineno == 1 ? "first entry's previous_hash is not the zero hash"
                                     : "chain break: previous_hash does not match the line before",
                         err);
            else if (!rk || strcmp(rk, pkb64) != 0)
                rc = bad(rep, lineno, o, "runtime_key is not the expected key", err);
            else if (!pr || strcmp(pr, principal) != 0)
                rc = bad(rep, lineno, o, "principal does not match the log's principal", err);
            else if (!json_is_string(json_object_get(o, "id")) ||
                     !json_is_string(json_object_get(o, "timestamp")))
                rc = bad(rep, lineno, o, "id or timestamp missing", err);
            else
                rep->entries++;
        }
        astrid_blake3_hex(line, ll, prev);
        if (rc == 0 && have_ck && !ck_seen && at + ll + 1 >= ck.offset) {
            ck_seen = true;
            if (at + ll + 1 != ck.offset || lineno != ck.entries || strcmp(prev, ck.last_hash) != 0)
                rc = bad(rep, lineno, o,
                         "not the entry the signed checkpoint vouches for (the log's start was "
                         "replaced)",
                         err);
        }
        json_decref(o);
    }
    audit_lines_free(&r);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        return -1;
    if (rc == 0 && have_ck && !ck_seen) {
        char why[256];
        snprintf(why, sizeof why,
                 "the log ends after %zu entries but its signed checkpoint vouches for %llu "
                 "entries in %llu bytes: entries were removed",
                 lineno, (unsigned long long)ck.entries, (unsigned long long)ck.offset);
        rc = bad(rep, lineno + 1, NULL, why, err);
    }
    return rc;
}

static int by_timestamp(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "timestamp"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "timestamp"));
    return strcmp(x, y);
}

static int collect(json_t *arr, const char *home, const char *principal, const char *since,
                   astrid_err *err)
{
    char *buf;
    size_t len;
    if (load(home, principal, &buf, &len, err) < 0)
        return -1;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            break; /* a line still being written */
        size_t ll = (size_t)(nl - (buf + pos));
        json_t *o = astrid_json_loadb(buf + pos, ll, 0, NULL);
        const char *ts = json_string_value(json_object_get(o, "timestamp"));
        /* second resolution, so "…T10:00:00Z" includes "…T10:00:00.5Z" */
        if (ts && (!since || strncmp(ts, since, 19) >= 0))
            json_array_append(arr, o);
        json_decref(o);
        pos += ll + 1;
    }
    free(buf);
    return 0;
}

json_t *astrid_audit_read(const char *home, const char *principal, const char *since, size_t limit,
                          astrid_err *err)
{
    if (since && strlen(since) < 19) {
        astrid_err_set(err, ASTRID_E_INVALID, "since must be an RFC 3339 UTC timestamp");
        return NULL;
    }
    json_t *arr = json_array();
    if (principal) {
        if (collect(arr, home, principal, since, err) < 0)
            goto fail;
    } else {
        char dir[4096];
        if (astrid_home_homes_dir(dir, sizeof dir, home, err) < 0)
            goto fail;
        DIR *d = opendir(dir);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                char ph[4096];
                if (de->d_name[0] == '.' ||
                    astrid_principal_home(ph, sizeof ph, home, de->d_name, NULL) < 0)
                    continue;
                if (collect(arr, home, de->d_name, since, err) < 0) {
                    closedir(d);
                    goto fail;
                }
            }
            closedir(d);
        }
    }
    size_t n = json_array_size(arr);
    json_t **v = malloc((n ? n : 1) * sizeof(json_t *));
    if (!v) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(json_t *), by_timestamp);
    json_array_clear(arr);
    size_t from = limit && n > limit ? n - limit : 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= from)
            json_array_append(arr, v[i]);
        json_decref(v[i]);
    }
    free(v);
    return arr;
fail:
    json_decref(arr);
    return NULL;
}
