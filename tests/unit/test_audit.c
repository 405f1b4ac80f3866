/* Audit log: round trip, tamper detection, torn tails, concurrency, fail
 * closed on write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "audit/audit.h"
#include "lib/audit/audit_ckpt.h"
#include "fixture.h"

static char home[256];
static astrid_keypair kp;
static const char SESSION[] = "6f1c2c1e-93a4-4c47-9e2e-3f0b7d3a1a10";

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(home, sizeof home, "audit") != 0 || astrid_crypto_init(NULL) < 0)
        return -1;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    return astrid_keypair_from_seed(&kp, seed, NULL);
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(home);
}

static int append_admin(astrid_audit *log, const char *principal, const char *method, bool allow,
                        astrid_err *e)
{
    json_t *params = json_pack("{s:s}", "name", "bob");
    json_t *act = astrid_audit_action_admin(method, "agent:create", "bob", params);
    json_t *auth = allow ? astrid_audit_auth_system("policy allow: default holds agent:create")
                         : astrid_audit_auth_denied("missing capability agent:create");
    json_t *out = allow ? astrid_audit_outcome_success(NULL)
                        : astrid_audit_outcome_failure("permission denied");
    int rc = astrid_audit_append(log, principal, act, auth, out, NULL, e);
    json_decref(params);
    json_decref(act);
    json_decref(auth);
    json_decref(out);
    return rc;
}

static void path_of(char *out, size_t n, const char *principal)
{
    snprintf(out, n, "%s/home/%s/.local/audit/audit.jsonl", home, principal);
}

__attribute__((noinline)) static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    assert_int_equal(astrid_read_file(path, 1 << 26, &buf, len, NULL), 0);
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void write_n(const char *principal, int n)
{
    astrid_err e;
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    assert_non_null(log);
    for (int i = 0; i < n; i++)
        assert_int_equal(append_admin(log, principal, "AgentCreate", i % 2 == 0, &e), 0);
    astrid_audit_close(log);
}

static void round_trip(void **state)
{
    (void)state;
    write_n("default", 5);
    write_n("default", 2); /* reopen continues the chain */
    astrid_audit_report rep;
    astrid_err e;
    assert_int_equal(astrid_audit_verify(home, "default", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 7);
    char path[512];
    path_of(path, sizeof path, "default");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len;
    char *buf = slurp(path, &len);
    assert_non_null(strstr(
        buf,
        "\"previous_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
    assert_non_null(strstr(buf, "{\"id\":\""));
    assert_non_null(strstr(
        buf,
        "\"action\":{\"type\":\"admin_request\",\"method\":\"AgentCreate\",\"required_capability\":"
        "\"agent:create\",\"target_principal\":\"bob\",\"params\":{\"name\":\"bob\"}}"));
    assert_non_null(
        strstr(buf, "\"outcome\":{\"status\":\"failure\",\"error\":\"permission denied\"}"));
    free(buf);
    /* the wrong key fails */
    uint8_t other[32];
    memcpy(other, kp.pk, 32);
    other[0] ^= 1;
    assert_int_equal(astrid_audit_verify(home, "default", other, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 1);
    /* read API */
    json_t *all = astrid_audit_read(home, NULL, NULL, 0, &e);
    assert_int_equal(json_array_size(all), 7);
    json_decref(all);
    json_t *last = astrid_audit_read(home, "default", "2000-01-01T00:00:00Z", 3, &e);
    assert_int_equal(json_array_size(last), 3);
    json_decref(last);
    json_t *none = astrid_audit_read(home, "default", "2999-01-01T00:00:00Z", 0, &e);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
}

/* Flip one byte at many offsets: verify must fail and name a line. */
static void flip_any_byte(void **state)
{
    (void)state;
    write_n("flip", 4);
    char path[512];
    path_of(path, sizeof path, "flip");
    size_t len;
    char *orig = slurp(path, &len);
    astrid_audit_report rep;
    astrid_err e;
    size_t line_of_off = 1, checked = 0;
    for (size_t off = 0; off < len; off += 7, checked++) {
        line_of_off = 1;
        for (size_t i = 0; i < off; i++)
            line_of_off += orig[i] == '\n';
        char *m = malloc(len);
        memcpy(m, orig, len);
        m[off] ^= 0x01;
        spit(path, m, len);
        free(m);
        assert_int_equal(astrid_audit_verify(home, "flip", kp.pk, &rep, &e), -1);
        assert_true(rep.bad_line == line_of_off || rep.bad_line == line_of_off + 1);
    }
    assert_true(checked > 100);
    /* an entry in the middle names its id */
    spit(path, orig, len);
    char *m = malloc(len + 1);
    memcpy(m, orig, len);
    char *second = strchr(m, '\n') + 1;
    char *outcome = strstr(second, "permission denied");
    assert_non_null(outcome);
    outcome[0] = 'P';
    spit(path, m, len);
    assert_int_equal(astrid_audit_verify(home, "flip", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 2);
    assert_int_equal(strlen(rep.bad_id), 36);
    assert_non_null(strstr(second, rep.bad_id));
    assert_non_null(strstr(e.msg, rep.bad_id));
    free(m);
    free(orig);
}

static void deleted_line_breaks_chain(void **state)
{
    (void)state;
    write_n("del", 4);
    char path[512];
    path_of(path, sizeof path, "del");
    size_t len;
    char *buf = slurp(path, &len);
    char *l2 = strchr(buf, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    memmove(l2, l3, len - (size_t)(l3 - buf));
    spit(path, buf, len - (size_t)(l3 - l2));
    astrid_audit_report rep;
    astrid_err e;
    assert_int_equal(astrid_audit_verify(home, "del", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 2);
    assert_non_null(strstr(rep.reason, "chain break"));
    /* deleting the first line: the new first entry is no genesis */
    spit(path, l2, len - (size_t)(l3 - l2) - (size_t)(l2 - buf));
    assert_int_equal(astrid_audit_verify(home, "del", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 1);
    free(buf);
}

static char notice_msg[8192];
static void on_notice(void *ctx, const char *principal, const char *msg)
{
    (void)ctx;
    snprintf(notice_msg, sizeof notice_msg, "%s: %s", principal, msg);
}

static void torn_tail_detected_and_recovered(void **state)
{
    (void)state;
    write_n("torn", 3);
    /* a crash before any checkpoint: a clean close wrote one vouching for
     * the bytes cut below, which no crash can cut (audit_checkpoint.sh) */
    assert_int_equal(audit_ckpt_remove(home, "torn", NULL), 0);
    char path[512];
    path_of(path, sizeof path, "torn");
    size_t len;
    char *buf = slurp(path, &len);
    spit(path, buf, len - 30); /* crash mid-line */
    astrid_audit_report rep;
    astrid_err e;
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 3);
    assert_non_null(strstr(rep.reason, "truncated"));
    /* reopen: the torn line is moved aside, a log_recovered entry chains on line 2 */
    notice_msg[0] = 0;
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, on_notice, NULL, &e);
    assert_non_null(strstr(notice_msg, "torn tail")); /* reported at open, before any append */
    assert_int_equal(append_admin(log, "torn", "AgentDelete", true, &e), 0);
    astrid_audit_close(log);
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 4);
    size_t nlen;
    char *now = slurp(path, &nlen);
    assert_non_null(strstr(now, "\"type\":\"log_recovered\""));
    free(now);
    char tpath[1024];
    const char *tf = strstr(notice_msg, "moved to ");
    assert_non_null(tf);
    snprintf(tpath, sizeof tpath, "%s", tf + 9);
    size_t tlen;
    char *torn = slurp(tpath, &tlen);
    assert_true(tlen > 0);
    free(torn);
    free(buf);
    /* a complete but unsigned last line is also torn, never accepted */
    FILE *f = fopen(path, "ab");
    fputs("{\"id\":\"x\"}\n", f);
    fclose(f);
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 5);
    log = astrid_audit_open(home, &kp, SESSION, on_notice, NULL, &e);
    assert_int_equal(append_admin(log, "torn", "AgentDelete", true, &e), 0);
    astrid_audit_close(log);
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 6);
    /* two bad lines at the end: damage, refused (fail closed) */
    f = fopen(path, "ab");
    fputs("{\"id\":\"x\"}\n{\"id\":\"y\"}\n", f);
    fclose(f);
    log = astrid_audit_open(home, &kp, SESSION, on_notice, NULL, &e);
    assert_null(log); /* the daemon does not boot on it */
    assert_non_null(strstr(e.msg, "damaged"));
    assert_non_null(strstr(e.msg, "astrid audit repair -a torn"));
    /* the operator's repair: cut at the first bad line, the cut kept aside
     * byte for byte, a signed record of it chained on the last good entry */
    astrid_audit_repair_report rr;
    assert_int_equal(astrid_audit_repair(home, "torn", &kp, &rr, &e), 0);
    assert_true(rr.repaired);
    assert_int_equal(rr.entries_kept, 6);
    assert_int_equal(rr.first_bad_line, 7);
    assert_int_equal(rr.damaged_lines, 2);
    assert_int_equal(rr.damaged_bytes, 22);
    size_t dlen;
    char *dam = slurp(rr.damaged_file, &dlen);
    assert_int_equal(dlen, 22);
    assert_memory_equal(dam, "{\"id\":\"x\"}\n{\"id\":\"y\"}\n", 22);
    char sum[65];
    astrid_blake3_hex(dam, dlen, sum);
    assert_string_equal(rr.damaged_blake3, sum);
    free(dam);
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 7);
    json_t *all = astrid_audit_read(home, "torn", NULL, 1, &e);
    json_t *act = json_object_get(json_array_get(all, 0), "action");
    assert_string_equal(json_string_value(json_object_get(act, "type")), "audit_repair");
    assert_string_equal(json_string_value(json_object_get(act, "damaged_blake3")), sum);
    assert_int_equal(json_integer_value(json_object_get(act, "damaged_lines")), 2);
    json_decref(all);
    /* a chain that verifies is left alone */
    assert_int_equal(astrid_audit_repair(home, "torn", &kp, &rr, &e), 0);
    assert_false(rr.repaired);
    assert_int_equal(rr.entries_kept, 7);
    log = astrid_audit_open(home, &kp, SESSION, on_notice, NULL, &e);
    assert_non_null(log);
    assert_int_equal(append_admin(log, "torn", "AgentDelete", true, &e), 0);
    astrid_audit_close(log);
    assert_int_equal(astrid_audit_verify(home, "torn", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 8);
}

/* Damage in the middle (an edited entry): repair cuts from there on, so
 * the later, valid entries go aside with it; nothing is re-signed. */
static void repair_cuts_from_the_first_bad_entry(void **state)
{
    (void)state;
    write_n("mid", 5);
    /* without a checkpoint: with one, boot does not read this same-length
     * edit in place (docs/audit.md "Checkpoint"; verify still finds it) */
    assert_int_equal(audit_ckpt_remove(home, "mid", NULL), 0);
    char path[PATH_MAX];
    path_of(path, sizeof path, "mid");
    size_t len;
    char *buf = slurp(path, &len);
    char *second = strchr(buf, '\n') + 1;
    char *p = strstr(second, "AgentCreate");
    assert_non_null(p);
    p[0] = 'X'; /* the signature no longer covers the line */
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    size_t kept = (size_t)(second - buf);
    astrid_err e;
    /* the daemon does not boot on it: the next entry's link is broken */
    assert_null(astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e));
    assert_non_null(strstr(e.msg, "entry 3 does not link"));
    assert_non_null(strstr(e.msg, "astrid audit repair -a mid"));
    astrid_audit_report rep;
    assert_int_equal(astrid_audit_verify(home, "mid", kp.pk, &rep, &e), -1);
    assert_int_equal(rep.bad_line, 2);
    astrid_audit_repair_report rr;
    assert_int_equal(astrid_audit_repair(home, "mid", &kp, &rr, &e), 0);
    assert_int_equal(rr.entries_kept, 1);
    assert_int_equal(rr.damaged_lines, 4);
    assert_int_equal(rr.damaged_bytes, len - kept);
    size_t dlen;
    char *dam = slurp(rr.damaged_file, &dlen);
    assert_int_equal(dlen, len - kept);
    assert_memory_equal(dam, second, dlen);
    free(dam);
    size_t nlen;
    char *now = slurp(path, &nlen);
    assert_memory_equal(now, buf, kept); /* the good prefix is untouched */
    free(now);
    free(buf);
    assert_int_equal(astrid_audit_verify(home, "mid", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 2);
}

typedef struct {
    astrid_audit *log;
    int fails;
} th_arg;
#define NTH 8
#define PER 25
static void *appender(void *arg)
{
    th_arg *a = arg;
    astrid_err e;
    for (int i = 0; i < PER; i++)
        if (append_admin(a->log, "conc", "AgentCreate", true, &e) < 0)
            a->fails++;
    return NULL;
}

static void concurrent_appenders(void **state)
{
    (void)state;
    astrid_err e;
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    pthread_t t[NTH];
    th_arg a[NTH];
    for (int i = 0; i < NTH; i++) {
        a[i] = (th_arg){log, 0};
        pthread_create(&t[i], NULL, appender, &a[i]);
    }
    for (int i = 0; i < NTH; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].fails, 0);
    }
    astrid_audit_close(log);
    astrid_audit_report rep;
    assert_int_equal(astrid_audit_verify(home, "conc", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, NTH * PER);
}

static int fault_errno;
static int fault(void *ctx)
{
    (void)ctx;
    return fault_errno;
}

static void write_failure_reaches_every_waiter(void **state)
{
    (void)state;
    astrid_err e;
    write_n("fail", 2);
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    fault_errno = ENOSPC;
    astrid_audit_set_fault(log, fault, NULL);
    pthread_t t[NTH];
    th_arg a[NTH];
    for (int i = 0; i < NTH; i++) {
        a[i] = (th_arg){log, 0};
        pthread_create(&t[i], NULL, appender, &a[i]);
    }
    for (int i = 0; i < NTH; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].fails, PER);
    }
    assert_int_equal(append_admin(log, "fail", "AgentCreate", true, &e), -1);
    assert_int_equal(e.code, ASTRID_E_IO);
    assert_int_equal(e.sys_errno, ENOSPC);
    /* the fault clears: appends resume and the chain is intact */
    fault_errno = 0;
    assert_int_equal(append_admin(log, "fail", "AgentCreate", true, &e), 0);
    astrid_audit_close(log);
    astrid_audit_report rep;
    assert_int_equal(astrid_audit_verify(home, "fail", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 3);
    /* an unusable audit directory for a new principal (a file in its place,
     * which fails for root too): an error, not silence */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/home/ro/.local", home);
    assert_int_equal(astrid_mkdir_p(dir, 0700, 0, &e), 0);
    strncat(dir, "/audit", sizeof dir - strlen(dir) - 1);
    spit(dir, "x", 1);
    log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    assert_int_equal(append_admin(log, "ro", "AgentCreate", true, &e), -1);
    assert_true(e.code == ASTRID_E_IO || e.code == ASTRID_E_INVALID);
    assert_non_null(strstr(e.msg, "audit"));
    astrid_audit_close(log);
}

static int append_mode(astrid_audit *log, astrid_audit_mode mode, const char *principal,
                       astrid_err *e)
{
    json_t *act = astrid_audit_action_admin("GetStatus", "system:status", NULL, NULL);
    json_t *auth = astrid_audit_auth_system("policy allow");
    json_t *out = astrid_audit_outcome_success(NULL);
    int rc = astrid_audit_append_mode(log, mode, principal, act, auth, out, NULL, e);
    json_decref(act);
    json_decref(auth);
    json_decref(out);
    return rc;
}

/* Write-behind entries land in the chain like durable ones; once a batch
 * fails, write-behind appends wait for (and report) their own outcome. */
static void write_behind(void **state)
{
    (void)state;
    astrid_err e;
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    for (int i = 0; i < 50; i++)
        assert_int_equal(append_mode(log, ASTRID_AUDIT_WRITE_BEHIND, "wb", &e), 0);
    assert_int_equal(append_mode(log, ASTRID_AUDIT_DURABLE, "wb", &e), 0);
    assert_int_equal(astrid_audit_flush(log, &e), 0);
    astrid_audit_report rep;
    assert_int_equal(astrid_audit_verify(home, "wb", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 51);
    /* a failing disk: the queued entry is lost and the log turns broken */
    fault_errno = EIO;
    astrid_audit_set_fault(log, fault, NULL);
    assert_int_equal(append_mode(log, ASTRID_AUDIT_WRITE_BEHIND, "wb", &e), 0);
    assert_int_equal(astrid_audit_flush(log, &e), -1);
    assert_int_equal(e.sys_errno, EIO);
    /* now a write-behind append waits, and is refused: the caller denies */
    assert_int_equal(append_mode(log, ASTRID_AUDIT_WRITE_BEHIND, "wb", &e), -1);
    fault_errno = 0;
    assert_int_equal(append_mode(log, ASTRID_AUDIT_WRITE_BEHIND, "wb", &e), 0);
    assert_int_equal(astrid_audit_flush(log, &e), 0);
    astrid_audit_close(log);
    assert_int_equal(astrid_audit_verify(home, "wb", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 52);
}

static void bad_input(void **state)
{
    (void)state;
    astrid_err e;
    /* no log yet: a valid empty chain, an empty read */
    astrid_audit_report rep;
    assert_int_equal(astrid_audit_verify(home, "nobody", kp.pk, &rep, &e), 0);
    assert_int_equal(rep.entries, 0);
    json_t *empty = astrid_audit_read(home, "nobody", NULL, 0, &e);
    assert_int_equal(json_array_size(empty), 0);
    json_decref(empty);
    assert_null(astrid_audit_open(home, &kp, "not-a-uuid", NULL, NULL, &e));
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, &e);
    assert_int_equal(append_admin(log, "../evil", "AgentCreate", true, &e), -1);
    json_t *bad = json_pack("{s:i}", "x", 1);
    assert_int_equal(astrid_audit_append(log, "default", bad, bad, bad, NULL, &e), -1);
    json_decref(bad);
    astrid_audit_close(log);
}

/* The line reader: lines longer than its read chunk, an empty line, and a
 * last line without a newline, each with its offset. */
static void line_reader_streams(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/lines", home);
    size_t big = (3u << 20) + 17;
    char *b = malloc(big + 16);
    assert_non_null(b);
    memset(b, 'x', big);
    memcpy(b + big, "\n\nab\ncd", 8);
    assert_int_equal(astrid_atomic_write(p, b, big + 7, 0600, NULL), 0);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    audit_lines r;
    audit_lines_init(&r, fd, 0);
    const char *line;
    size_t len;
    bool nl;
    uint64_t at;
    assert_int_equal(audit_lines_next(&r, &line, &len, &nl, &at, NULL), 1);
    assert_int_equal(len, big);
    assert_true(nl && at == 0 && line[big - 1] == 'x');
    assert_int_equal(audit_lines_next(&r, &line, &len, &nl, &at, NULL), 1);
    assert_true(len == 0 && nl && at == big + 1);
    assert_int_equal(audit_lines_next(&r, &line, &len, &nl, &at, NULL), 1);
    assert_true(len == 2 && nl && memcmp(line, "ab", 2) == 0);
    assert_int_equal(audit_lines_next(&r, &line, &len, &nl, &at, NULL), 1);
    assert_true(len == 2 && !nl && memcmp(line, "cd", 2) == 0 && at == big + 5);
    assert_int_equal(audit_lines_next(&r, &line, &len, &nl, &at, NULL), 0);
    audit_lines_free(&r);
    uint64_t st;
    char *l;
    assert_int_equal(audit_line_ending_at(fd, big + 5, &st, &l, &len, NULL), 0);
    assert_true(st == big + 2 && len == 2 && memcmp(l, "ab", 2) == 0);
    free(l);
    assert_int_equal(audit_line_ending_at(fd, big, &st, &l, &len, NULL), -1);
    close(fd);
    free(b);
}

/* A checkpoint is trusted only under its key, for its principal, with its
 * own bytes: any edit, another key or another principal is refused. */
static void checkpoint_signature(void **state)
{
    (void)state;
    audit_ckpt c = {.entries = 5, .offset = 900, .inode = 42}, got;
    memset(c.first_hash, 'a', AUDIT_HEX_LEN);
    memset(c.last_hash, 'b', AUDIT_HEX_LEN);
    char why[256] = "";
    assert_int_equal(audit_ckpt_load(home, "default", kp.pk, &got, why, sizeof why), 0);
    astrid_principal_home_ensure(home, "default", NULL);
    assert_int_equal(audit_ckpt_write(home, "default", &kp, &c, NULL), 0);
    assert_int_equal(audit_ckpt_load(home, "default", kp.pk, &got, why, sizeof why), 1);
    assert_true(got.entries == 5 && got.offset == 900 && got.inode == 42);
    assert_string_equal(got.last_hash, c.last_hash);
    assert_int_equal(audit_ckpt_load(home, "alice", kp.pk, &got, why, sizeof why), 0);
    astrid_keypair other;
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    assert_int_equal(astrid_keypair_from_seed(&other, seed, NULL), 0);
    assert_int_equal(audit_ckpt_load(home, "default", other.pk, &got, why, sizeof why), -1);
    assert_non_null(strstr(why, "another key"));
    char p[512], *buf;
    size_t len;
    assert_int_equal(audit_ckpt_path(p, sizeof p, home, "default", NULL), 0);
    assert_int_equal(astrid_read_file(p, 4096, &buf, &len, NULL), 0);
    /* every digit of a count, one at a time */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9' || i > (size_t)(strstr(buf, "first_hash") - buf))
            continue;
        char save = buf[i];
        buf[i] = save == '9' ? '8' : (char)(save + 1);
        assert_int_equal(astrid_atomic_write(p, buf, len, 0600, NULL), 0);
        assert_int_equal(audit_ckpt_load(home, "default", kp.pk, &got, why, sizeof why), -1);
        buf[i] = save;
    }
    free(buf);
    assert_int_equal(audit_ckpt_remove(home, "default", NULL), 0);
    assert_int_equal(audit_ckpt_load(home, "default", kp.pk, &got, why, sizeof why), 0);
}

/* A clean close leaves a checkpoint; the next open reads no line. */
static void open_uses_checkpoint(void **state)
{
    (void)state;
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, NULL);
    assert_non_null(log);
    for (int i = 0; i < 10; i++)
        assert_int_equal(append_admin(log, "default", "AgentCreate", true, NULL), 0);
    astrid_audit_close(log);
    log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, NULL);
    assert_non_null(log);
    const astrid_audit_open_info *in;
    assert_int_equal(astrid_audit_open_report(log, &in), 1);
    assert_true(in[0].from_checkpoint);
    assert_int_equal(in[0].lines_read, 0);
    assert_int_equal(in[0].entries, 10);
    astrid_audit_close(log);
    assert_int_equal(audit_ckpt_remove(home, "default", NULL), 0);
    log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, NULL);
    assert_non_null(log);
    assert_int_equal(astrid_audit_open_report(log, &in), 1);
    assert_false(in[0].from_checkpoint);
    assert_int_equal(in[0].lines_read, 10);
    assert_string_equal(in[0].fallback, "no checkpoint");
    astrid_audit_close(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(flip_any_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_line_breaks_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_detected_and_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(repair_cuts_from_the_first_bad_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_appenders, setup, teardown),
        cmocka_unit_test_setup_teardown(write_failure_reaches_every_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(write_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(line_reader_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(open_uses_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
