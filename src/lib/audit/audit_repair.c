/* `astrid audit repair`: cut a principal's chain back to its last entry
 * that verifies, keep what was cut beside it, and sign a record of the cut
 * (docs/audit.md "Repair"). Offline: the caller makes sure no daemon
 * appends meanwhile (the CLI holds the daemon lock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "lib/audit/audit_entry.h"

#define AUDIT_MAX_FILE ((size_t)1 << 31)
/* The record's session: no kernel session runs while the log is repaired. */
#define REPAIR_SESSION "00000000-0000-0000-0000-000000000000"

/* Byte offset of the start of line `lineno` (from 1), and the BLAKE3 of
 * the line before it (the zero hash for line 1). */
static size_t line_offset(const char *buf, size_t len, size_t lineno, char prev[AUDIT_HEX_LEN + 1])
{
    memcpy(prev, AUDIT_ZERO_HASH, AUDIT_HEX_LEN + 1);
    size_t pos = 0;
    for (size_t l = 1; l < lineno && pos < len; l++) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            break;
        astrid_blake3_hex(buf + pos, (size_t)(nl - (buf + pos)), prev);
        pos = (size_t)(nl - buf) + 1;
    }
    return pos;
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
    char *buf = NULL;
    size_t len = 0;
    if (astrid_read_file(path, AUDIT_MAX_FILE, &buf, &len, err) < 0)
        return -1;
    char prev[AUDIT_HEX_LEN + 1];
    size_t keep = line_offset(buf, len, vr.bad_line, prev);
    size_t lines = 0;
    for (size_t i = keep; i < len; i++)
        lines += buf[i] == '\n';
    if (len > keep && buf[len - 1] != '\n')
        lines++;

    /* The cut bytes first, atomically: until the log is rewritten nothing
     * is lost, and a repair cut short is simply run again. */
    char ts[32], dpath[4200];
    audit_now_rfc3339(ts);
    snprintf(dpath, sizeof dpath, "%s.damaged-%s", path, ts);
    char sum[AUDIT_HEX_LEN + 1];
    astrid_blake3_hex(buf + keep, len - keep, sum);
    if (astrid_atomic_write(dpath, buf + keep, len - keep, 0600, err) < 0) {
        free(buf);
        return -1;
    }
    const char *base = strrchr(dpath, '/') + 1;
    json_t *act = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:s}", "type", "audit_repair",
                            "damaged_file", base, "damaged_bytes", (json_int_t)(len - keep),
                            "damaged_lines", (json_int_t)lines, "damaged_blake3", sum,
                            "first_bad_line", (json_int_t)vr.bad_line, "reason", vr.reason);
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
    if (head && audit_entry_seal(head, prev, kp, &line, &llen, hash, err) == 0) {
        /* Prefix and record in one atomic rewrite: the log is either the
         * damaged one or the repaired one, never cut without its record. */
        char *nb = malloc(keep + llen);
        if (!nb) {
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory repairing %s", path);
        } else {
            memcpy(nb, buf, keep);
            memcpy(nb + keep, line, llen);
            rc = astrid_atomic_write(path, nb, keep + llen, 0600, err);
            free(nb);
        }
    }
    free(head);
    free(line);
    free(buf);
    if (rc < 0)
        return -1;
    rep->repaired = true;
    rep->entries_kept = vr.bad_line - 1;
    rep->first_bad_line = vr.bad_line;
    rep->damaged_lines = lines;
    rep->damaged_bytes = len - keep;
    snprintf(rep->damaged_file, sizeof rep->damaged_file, "%s", dpath);
    memcpy(rep->damaged_blake3, sum, sizeof sum);
    snprintf(rep->reason, sizeof rep->reason, "%s", vr.reason);
    return 0;
}
