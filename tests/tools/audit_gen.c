/* audit_gen ckpt HOME PRINCIPAL [entries=N] [offset=B] [inode=I]
 *     [first=HEX] [last=HEX]: write PRINCIPAL's checkpoint signed with
 * HOME's runtime key, describing the log as it is, with the fields given
 * replaced: a validly signed but wrong checkpoint, as a bug would leave.
 *
 * audit_gen HOME PRINCIPAL COUNT: append COUNT valid, signed entries
 * (admin_request GetStatus) to PRINCIPAL's audit chain under HOME, signed
 * with HOME's runtime key, chained on the log's last line. Writes no
 * checkpoint, so the log looks like one grown by a daemon that never
 * stopped cleanly. For tests/integration/audit_checkpoint.sh and
 * bench/audit_boot.sh: a daemon needs minutes to log 800 000 requests,
 * this needs seconds. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "lib/audit/audit_ckpt.h"
#include "lib/audit/audit_entry.h"

static int die(const char *what, const astrid_err *e)
{
    fprintf(stderr, "audit_gen: %s: %s\n", what, e ? e->msg : "failed");
    return 1;
}

static int ckpt_main(int argc, char **argv)
{
    const char *home = argv[2], *principal = argv[3];
    astrid_err e;
    char keyp[PATH_MAX], path[PATH_MAX];
    astrid_keypair kp;
    if (astrid_crypto_init(&e) < 0 || astrid_home_runtime_key(keyp, sizeof keyp, home, &e) < 0 ||
        astrid_keypair_load(&kp, keyp, &e) < 0)
        return die("runtime key", &e);
    if (audit_file_path(path, sizeof path, home, principal, &e) < 0)
        return die("path", &e);
    audit_ckpt c;
    memset(&c, 0, sizeof c);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return die(path, NULL);
    c.inode = (uint64_t)st.st_ino;
    audit_lines r;
    audit_lines_init(&r, fd, 0);
    const char *line;
    size_t ll;
    bool nl;
    uint64_t at;
    while (audit_lines_next(&r, &line, &ll, &nl, &at, &e) == 1 && nl) {
        astrid_blake3_hex(line, ll, c.last_hash);
        if (c.entries++ == 0)
            memcpy(c.first_hash, c.last_hash, sizeof c.first_hash);
        c.offset = at + ll + 1;
    }
    audit_lines_free(&r);
    close(fd);
    for (int i = 4; i < argc; i++) {
        const char *v = strchr(argv[i], '=');
        if (!v)
            return die(argv[i], NULL);
        v++;
        if (!strncmp(argv[i], "entries=", 8))
            c.entries = strtoull(v, NULL, 10);
        else if (!strncmp(argv[i], "offset=", 7))
            c.offset = strtoull(v, NULL, 10);
        else if (!strncmp(argv[i], "inode=", 6))
            c.inode = strtoull(v, NULL, 10);
        else if (!strncmp(argv[i], "first=", 6) && strlen(v) == AUDIT_HEX_LEN)
            memcpy(c.first_hash, v, AUDIT_HEX_LEN + 1);
        else if (!strncmp(argv[i], "last=", 5) && strlen(v) == AUDIT_HEX_LEN)
            memcpy(c.last_hash, v, AUDIT_HEX_LEN + 1);
        else
            return die(argv[i], NULL);
    }
    if (audit_ckpt_write(home, principal, &kp, &c, &e) < 0)
        return die("checkpoint", &e);
    astrid_keypair_wipe(&kp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "ckpt") == 0)
        return ckpt_main(argc, argv);
    if (argc != 4) {
        fprintf(stderr, "usage: audit_gen HOME PRINCIPAL COUNT\n");
        return 2;
    }
    const char *home = argv[1], *principal = argv[2];
    unsigned long long count = strtoull(argv[3], NULL, 10);
    astrid_err e;
    char keyp[PATH_MAX], path[PATH_MAX], dir[PATH_MAX];
    astrid_keypair kp;
    if (astrid_crypto_init(&e) < 0 || astrid_home_runtime_key(keyp, sizeof keyp, home, &e) < 0 ||
        astrid_keypair_load(&kp, keyp, &e) < 0)
        return die("runtime key", &e);
    if (audit_file_path(path, sizeof path, home, principal, &e) < 0)
        return die("path", &e);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (astrid_mkdir_p(dir, 0700, 0, &e) < 0)
        return die("mkdir", &e);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return die(path, NULL);
    struct stat st;
    char prev[AUDIT_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    if (fstat(fd, &st) != 0)
        return die("stat", NULL);
    if (st.st_size > 0) {
        uint64_t s;
        char *last;
        size_t ll;
        if (audit_line_ending_at(fd, (uint64_t)st.st_size, &s, &last, &ll, &e) < 0)
            return die("last line", &e);
        astrid_blake3_hex(last, ll, prev);
        free(last);
    }
    char session[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(session);
    size_t cap = (size_t)4 << 20, used = 0;
    char *out = malloc(cap);
    if (!out)
        return die("out of memory", NULL);
    json_t *auth = astrid_audit_auth_system("admin");
    json_t *outc = astrid_audit_outcome_success(NULL);
    json_t *act = astrid_audit_action_admin("GetStatus", "system:status", NULL, NULL);
    for (unsigned long long i = 0; i < count; i++) {
        char id[ASTRID_UUID_STR_LEN], *line, nh[AUDIT_HEX_LEN + 1];
        size_t len;
        astrid_uuid_v4(id);
        char *head = audit_entry_head(id, session, principal, act, auth, outc, &e);
        if (!head || audit_entry_seal(head, prev, &kp, &line, &len, nh, &e) < 0) {
            free(out);
            return die("seal", &e);
        }
        memcpy(prev, nh, sizeof prev);
        free(head);
        if (used + len > cap) {
            if (write(fd, out, used) != (ssize_t)used) {
                free(out);
                return die("write", NULL);
            }
            used = 0;
        }
        memcpy(out + used, line, len);
        used += len;
        free(line);
    }
    int bad = (used && write(fd, out, used) != (ssize_t)used) || fsync(fd) != 0;
    free(out);
    if (bad)
        return die("write", NULL);
    close(fd);
    json_decref(auth);
    json_decref(outc);
    json_decref(act);
    astrid_keypair_wipe(&kp);
    return 0;
}
