/* Signed audit checkpoints and the bounded-memory line reader
 * (audit_ckpt.h, docs/audit.md "Checkpoint"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "lib/audit/audit_ckpt.h"

#define CKPT_NAME "checkpoint.json"
#define CKPT_MAX_FILE 4096
#define READ_CHUNK ((size_t)1 << 20)

int audit_ckpt_path(char *out, size_t outsz, const char *home, const char *principal,
                    astrid_err *err)
{
    char dir[4096];
    if (astrid_home_audit_dir(dir, sizeof dir, home, principal, err) < 0)
        return -1;
    int n = snprintf(out, outsz, "%s/" CKPT_NAME, dir);
    if (n < 0 || (size_t)n >= outsz)
        return astrid_err_set(err, ASTRID_E_INVALID, "audit checkpoint path too long");
    return 0;
}

/* The signed bytes: every field, in a fixed text form behind a domain
 * separator, so the signature cannot be reused for anything else and no
 * JSON re-serialization is involved. */
static int ckpt_message(char *out, size_t n, const char *principal, const audit_ckpt *c)
{
    int w = snprintf(
        out, n, "astrid-audit-checkpoint-v1\n%s\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64 "\n%s\n%s\n",
        principal, c->entries, c->offset, c->inode, c->first_hash, c->last_hash);
    return w < 0 || (size_t)w >= n ? -1 : w;
}

int audit_ckpt_write(const char *home, const char *principal, const astrid_keypair *kp,
                     const audit_ckpt *c, astrid_err *err)
{
    char path[4096], msg[512];
    if (audit_ckpt_path(path, sizeof path, home, principal, err) < 0)
        return -1;
    int mlen = ckpt_message(msg, sizeof msg, principal, c);
    if (mlen < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "audit checkpoint: principal too long");
    uint8_t sig[ASTRID_ED25519_SIG_LEN];
    astrid_sign(sig, msg, (size_t)mlen, kp);
    char sigb64[ASTRID_B64_LEN(ASTRID_ED25519_SIG_LEN)],
        pkb64[ASTRID_B64_LEN(ASTRID_ED25519_PK_LEN)];
    astrid_b64_encode(sigb64, sig, sizeof sig);
    astrid_b64_encode(pkb64, kp->pk, sizeof kp->pk);
    char body[1024];
    int n = snprintf(
        body, sizeof body,
        "{\"version\":1,\"principal\":\"%s\",\"entries\":%" PRIu64 ",\"offset\":%" PRIu64
        ",\"inode\":%" PRIu64 ",\"first_hash\":\"%s\",\"last_hash\":\"%s\",\"runtime_key\":\"%s\","
        "\"signature\":\"%s\"}\n",
        principal, c->entries, c->offset, c->inode, c->first_hash, c->last_hash, pkb64, sigb64);
    if (n < 0 || (size_t)n >= sizeof body)
        return astrid_err_set(err, ASTRID_E_INVALID, "audit checkpoint too long");
    return astrid_atomic_write(path, body, (size_t)n, 0600, err);
}

static bool get_u64(json_t *o, const char *k, uint64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return false;
    *v = (uint64_t)json_integer_value(x);
    return true;
}

static bool get_hash(json_t *o, const char *k, char out[AUDIT_HEX_LEN + 1])
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) != AUDIT_HEX_LEN || strspn(s, "0123456789abcdef") != AUDIT_HEX_LEN)
        return false;
    memcpy(out, s, AUDIT_HEX_LEN + 1);
    return true;
}

int audit_ckpt_load(const char *home, const char *principal,
                    const uint8_t pk[ASTRID_ED25519_PK_LEN], audit_ckpt *c, char *why, size_t whysz)
{
    char path[4096];
    memset(c, 0, sizeof *c);
    if (audit_ckpt_path(path, sizeof path, home, principal, NULL) < 0) {
        snprintf(why, whysz, "no checkpoint path");
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    astrid_err e;
    if (astrid_read_file(path, CKPT_MAX_FILE, &buf, &len, &e) < 0) {
        if (e.code == ASTRID_E_NOTFOUND || (e.code == ASTRID_E_IO && e.sys_errno == ENOENT))
            return 0;
        snprintf(why, whysz, "checkpoint unreadable: %s", e.msg);
        return -1;
    }
    json_t *o = astrid_json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    int rc = -1;
    uint64_t ver = 0;
    const char *pr = json_string_value(json_object_get(o, "principal"));
    const char *rk = json_string_value(json_object_get(o, "runtime_key"));
    const char *sg = json_string_value(json_object_get(o, "signature"));
    uint8_t key[ASTRID_ED25519_PK_LEN], sig[ASTRID_ED25519_SIG_LEN];
    char msg[512];
    int mlen;
    if (!json_is_object(o) || !get_u64(o, "version", &ver) || ver != 1 || !pr || !rk || !sg ||
        !get_u64(o, "entries", &c->entries) || !get_u64(o, "offset", &c->offset) ||
        !get_u64(o, "inode", &c->inode) || !get_hash(o, "first_hash", c->first_hash) ||
        !get_hash(o, "last_hash", c->last_hash))
        snprintf(why, whysz, "checkpoint is not a version 1 checkpoint");
    else if (strcmp(pr, principal) != 0)
        snprintf(why, whysz, "checkpoint is for another principal");
    else if (astrid_b64_decode(key, sizeof key, rk) != 0 || !astrid_ct_equal(key, pk, sizeof key))
        snprintf(why, whysz, "checkpoint is signed by another key");
    else if (astrid_b64_decode(sig, sizeof sig, sg) != 0 ||
             (mlen = ckpt_message(msg, sizeof msg, principal, c)) < 0 ||
             !astrid_verify(sig, msg, (size_t)mlen, pk))
        snprintf(why, whysz, "checkpoint signature does not verify");
    else if (c->entries == 0 || c->offset < c->entries)
        snprintf(why, whysz, "checkpoint counts are inconsistent");
    else
        rc = 1;
    json_decref(o);
    if (rc < 0)
        memset(c, 0, sizeof *c);
    return rc;
}

int audit_ckpt_remove(const char *home, const char *principal, astrid_err *err)
{
    char path[4096];
    if (audit_ckpt_path(path, sizeof path, home, principal, err) < 0)
        return -1;
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return 0;
        return astrid_err_sys(err, "unlink %s", path);
    }
    *strrchr(path, '/') = '\0';
    return astrid_fsync_dir(path, err);
}

void audit_lines_init(audit_lines *r, int fd, uint64_t start)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->off = start;
}

void audit_lines_free(audit_lines *r)
{
    free(r->buf);
    r->buf = NULL;
}

int audit_lines_next(audit_lines *r, const char **line, size_t *len, bool *nl, uint64_t *at,
                     astrid_err *err)
{
    size_t scanned = 0;
    for (;;) {
        char *p = r->end > r->beg + scanned
                      ? memchr(r->buf + r->beg + scanned, '\n', r->end - r->beg - scanned)
                      : NULL;
        if (p) {
            *line = r->buf + r->beg;
            *len = (size_t)(p - *line);
            *nl = true;
            *at = r->off;
            r->off += *len + 1;
            r->beg += *len + 1;
            return 1;
        }
        scanned = r->end - r->beg;
        if (r->eof) {
            if (scanned == 0)
                return 0;
            *line = r->buf + r->beg;
            *len = scanned;
            *nl = false;
            *at = r->off;
            r->off += scanned;
            r->beg = r->end;
            return 1;
        }
        if (scanned > AUDIT_MAX_LINE)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "audit log line at byte %" PRIu64 " is longer than %zu bytes",
                                  r->off, AUDIT_MAX_LINE);
        /* make room for one more chunk after the unread bytes */
        if (r->beg > 0) {
            memmove(r->buf, r->buf + r->beg, scanned);
            r->beg = 0;
            r->end = scanned;
        }
        if (r->cap - r->end < READ_CHUNK) {
            size_t nc = r->end + READ_CHUNK;
            char *nb = realloc(r->buf, nc);
            if (!nb)
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory reading the audit log");
            r->buf = nb;
            r->cap = nc;
        }
        ssize_t got = pread(r->fd, r->buf + r->end, READ_CHUNK, (off_t)(r->off + r->end));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return astrid_err_sys(err, "read audit log");
        }
        if (got == 0)
            r->eof = true;
        r->end += (size_t)got;
    }
}

int audit_line_ending_at(int fd, uint64_t end, uint64_t *start, char **line, size_t *len,
                         astrid_err *err)
{
    char c;
    if (end == 0 || pread(fd, &c, 1, (off_t)(end - 1)) != 1 || c != '\n')
        return astrid_err_set(err, ASTRID_E_INVALID, "no line ends at byte %" PRIu64, end);
    char chunk[4096];
    uint64_t pos = end - 1; /* the line is [s, end-1) */
    uint64_t s = 0;
    bool found = false;
    while (pos > 0 && !found) {
        size_t n = pos < sizeof chunk ? (size_t)pos : sizeof chunk;
        if (pread(fd, chunk, n, (off_t)(pos - n)) != (ssize_t)n)
            return astrid_err_sys(err, "read audit log");
        for (size_t i = n; i-- > 0;)
            if (chunk[i] == '\n') {
                s = pos - n + i + 1;
                found = true;
                break;
            }
        if (!found)
            pos -= n;
        if (end - 1 - pos > AUDIT_MAX_LINE)
            return astrid_err_set(err, ASTRID_E_INVALID, "audit log line too long");
    }
    size_t ll = (size_t)(end - 1 - s);
    char *b = malloc(ll + 1);
    if (!b)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (ll && pread(fd, b, ll, (off_t)s) != (ssize_t)ll) {
        free(b);
        return astrid_err_sys(err, "read audit log");
    }
    b[ll] = '\0';
    *start = s;
    *line = b;
    *len = ll;
    return 0;
}

const char *audit_line_prev_hash(const char *line, size_t len)
{
    static const char key[] = ",\"previous_hash\":\"";
    const size_t klen = sizeof key - 1;
    for (size_t i = len >= klen ? len - klen + 1 : 0; i-- > 0;)
        if (memcmp(line + i, key, klen) == 0) {
            const char *hit = line + i + klen;
            return (size_t)(line + len - hit) >= AUDIT_HEX_LEN ? hit : NULL;
        }
    return NULL;
}
