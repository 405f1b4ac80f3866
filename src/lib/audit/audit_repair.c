/* `astrid audit repair`: cut a principal's chain back to its last entry
 * that verifies, keep what was cut beside it, and sign a record of the cut
 * (docs/audit.md "Repair"). Offline: the caller makes sure no daemon
 * appends meanwhile (the CLI holds the daemon lock). Streams the log:
 * memory is bounded by the longest line, not the log. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "lib/audit/audit_ckpt.h"
#include "lib/audit/audit_entry.h"

/* The record's session: no kernel session runs while the log is repaired. */
#define REPAIR_SESSION "00000000-0000-0000-0000-000000000000"
#define COPY_CHUNK ((size_t)1 << 20)

/* Byte offset of the start of line `lineno` (from 1), the BLAKE3 of the
 * line before it (the zero hash for line 1) and of line 1. */
static int line_offset(int fd, size_t lineno, uint64_t *off, char prev[AUDIT_HEX_LEN + 1],
                       char first[AUDIT_HEX_LEN + 1], astrid_err *err)
{
    memcpy(prev, AUDIT_ZERO_HASH, AUDIT_HEX_LEN + 1);
    memcpy(first, AUDIT_ZERO_HASH, AUDIT_HEX_LEN + 1);
    audit_lines r;
    audit_lines_init(&r, fd, 0);
    const char *line;
    size_t ll;
    bool nl;
    uint64_t at;
    int n = 1;
    *off = 0;
    for (size_t l = 1;
         l < lineno && (n = audit_lines_next(&r, &line, &ll, &nl, &at, err)) == 1 && nl; l++) {
        astrid_blake3_hex(line, ll, prev);
        if (l == 1)
            memcpy(first, prev, AUDIT_HEX_LEN + 1);
        *off = at + ll + 1;
    }
    audit_lines_free(&r);
    return n < 0 ? -1 : 0;
}

/* Atomically make `dst` hold bytes [from, to) of fd followed by `extra`:
 * temp file beside it (named as astrid_atomic_write names its temps, so a
 * boot sweeps one a crash left), fsync, rename, fsync of the directory. */
static int copy_atomic(const char *dst, int fd, uint64_t from, uint64_t to, const char *extra,
                       size_t extralen, astrid_err *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", dst);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, slash + 1);
    int out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0)
        return astrid_err_sys(err, "create %s", tmp);
    char *buf = malloc(COPY_CHUNK);
    int rc = buf && fchmod(out, 0600) == 0 ? 0 : -1;
    if (rc < 0)
        astrid_err_sys(err, "write %s", tmp);
    for (uint64_t pos = from; rc == 0 && pos < to;) {
        size_t want = to - pos < COPY_CHUNK ? (size_t)(to - pos) : COPY_CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)pos);
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                continue;
            rc = got < 0 ? astrid_err_sys(err, "read the audit log")
                         : astrid_err_set(err, ASTRID_E_IO, "the audit log shrank while copied");
            break;
        }
        for (ssize_t w = 0, d; rc == 0 && w < got; w += d)
            if ((d = write(out, buf + w, (size_t)(got - w))) < 0 && errno != EINTR)
                rc = astrid_err_sys(err, "write %s", tmp);
            else if (d < 0)
                d = 0;
        pos += (uint64_t)got;
    }
    for (size_t w = 0; rc == 0 && w < extralen;) {
        ssize_t d = write(out, extra + w, extralen - w);
        if (d < 0 && errno != EINTR)
            rc = astrid_err_sys(err, "write %s", tmp);
        else if (d > 0)
            w += (size_t)d;
    }
    free(buf);
    if (rc == 0 && fsync(out) != 0)
        rc = astrid_err_sys(err, "fsync %s", tmp);
    if (close(out) != 0 && rc == 0)
        rc = astrid_err_sys(err, "close %s", tmp);
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = astrid_err_sys(err, "rename %s", tmp);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    return astrid_fsync_dir(dir, err);
}

int astrid_audit_repair(const char *home, const char *principal, const astrid_keypair *kp,
                        astrid_audit_repair_report *rep, astrid_err *err)
{
    memset(rep, 0, sizeof *rep);
    astrid_audit_report vr;
    astrid_err verr;
    if (astrid_audit_verify(home, principal, kp->pk, &vr, &verr) == 0) {
        rep->entries_kept = vr.entries;
        return 0;
    }
    if (vr.bad_line == 0) {
        /* not a damaged chain but an unreadable file: nothing to cut */
        if (err)
            *err = verr;
        return -1;
    }
    char path[4096];
    if (audit_file_path(path, sizeof path, home, principal, err) < 0)
        return -1;
    /* a log missing altogether (its checkpoint remains) is repaired as empty */
    int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return astrid_err_sys(err, "open %s", path);
    struct stat st;
    char prev[AUDIT_HEX_LEN + 1], first[AUDIT_HEX_LEN + 1];
    uint64_t keep;
    if (fstat(fd, &st) != 0) {
        astrid_err_sys(err, "stat %s", path);
        close(fd);
        return -1;
    }
    if (line_offset(fd, vr.bad_line, &keep, prev, first, err) < 0) {
        close(fd);
        return -1;
    }
    const uint64_t len = (uint64_t)st.st_size;
    /* count and hash the cut bytes without holding them */
    size_t lines = 0;
    astrid_blake3_hasher h;
    astrid_blake3_init(&h);
    char *buf = malloc(COPY_CHUNK);
    if (!buf) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    char lastc = '\n';
    for (uint64_t pos = keep; pos < len;) {
        size_t want = len - pos < COPY_CHUNK ? (size_t)(len - pos) : COPY_CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)pos);
        if (got <= 0) {
            free(buf);
            close(fd);
            return astrid_err_sys(err, "read %s", path);
        }
        astrid_blake3_update(&h, buf, (size_t)got);
        for (ssize_t i = 0; i < got; i++)
            lines += buf[i] == '\n';
        lastc = buf[got - 1];
        pos += (uint64_t)got;
    }
    free(buf);
    if (lastc != '\n')
        lines++;
    uint8_t sumb[ASTRID_BLAKE3_OUT_LEN];
    astrid_blake3_finalize(&h, sumb, sizeof sumb);
    char sum[AUDIT_HEX_LEN + 1];
    astrid_hex_encode(sum, sumb, sizeof sumb);

    /* The cut bytes first, atomically: until the log is rewritten nothing
     * is lost, and a repair cut short is simply run again. Nothing is cut
     * when the chain verifies but is shorter than its checkpoint. */
    char ts[32], dpath[4200] = "";
    audit_now_rfc3339(ts);
    if (len > keep) {
        snprintf(dpath, sizeof dpath, "%s.damaged-%s", path, ts);
        if (copy_atomic(dpath, fd, keep, len, NULL, 0, err) < 0) {
            close(fd);
            return -1;
        }
    }
    json_t *act = json_pack("{s:s, s:I, s:I, s:I, s:s}", "type", "audit_repair", "damaged_bytes",
                            (json_int_t)(len - keep), "damaged_lines", (json_int_t)lines,
                            "first_bad_line", (json_int_t)vr.bad_line, "reason", vr.reason);
    if (act && len > keep) {
        json_object_set_new(act, "damaged_file", json_string(strrchr(dpath, '/') + 1));
        json_object_set_new(act, "damaged_blake3", json_string(sum));
    }
    json_t *auth = astrid_audit_auth_system("operator ran `astrid audit repair`");
    json_t *out = astrid_audit_outcome_success(NULL);
    char id[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(id);
    char *head = act ? audit_entry_head(id, REPAIR_SESSION, principal, act, auth, out, err) : NULL;
    json_decref(act);
    json_decref(auth);
    json_decref(out);
    char *line = NULL;
    size_t llen = 0;
    char hash[AUDIT_HEX_LEN + 1];
    int rc = -1;
    /* The old checkpoint goes first: one left beside the rewritten log
     * would vouch for entries the log no longer has. Then prefix and record
     * in one atomic rewrite: the log is either the damaged one or the
     * repaired one, never cut without its record. */
    if (head && audit_entry_seal(head, prev, kp, &line, &llen, hash, err) == 0 &&
        audit_ckpt_remove(home, principal, err) == 0)
        rc = copy_atomic(path, fd, 0, keep, line, llen, err);
    free(head);
    free(line);
    close(fd);
    if (rc < 0)
        return -1;
    /* A fresh checkpoint of the repaired chain; best effort, as the
     * daemon's: without one the next boot reads the whole log. */
    audit_ckpt c = {.entries = vr.bad_line, .offset = keep + llen};
    memcpy(c.first_hash, keep ? first : hash, sizeof c.first_hash);
    memcpy(c.last_hash, hash, sizeof c.last_hash);
    if (stat(path, &st) == 0) {
        c.inode = (uint64_t)st.st_ino;
        (void)audit_ckpt_write(home, principal, kp, &c, NULL);
    }
    rep->repaired = true;
    rep->entries_kept = vr.bad_line - 1;
    rep->first_bad_line = vr.bad_line;
    rep->damaged_lines = lines;
    rep->damaged_bytes = (size_t)(len - keep);
    snprintf(rep->damaged_file, sizeof rep->damaged_file, "%s", dpath);
    memcpy(rep->damaged_blake3, sum, sizeof sum);
    snprintf(rep->reason, sizeof rep->reason, "%s", vr.reason);
    return 0;
}
