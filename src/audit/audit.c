/* Audit log writer: group commit on one writer thread, per-principal chain
 * heads, torn-tail recovery on first open of a principal's file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/blake3.h"
#include "astrid/home.h"
#include "audit/audit.h"
#include "lib/audit/audit_entry.h"

#define WRITE_BEHIND_WINDOW_US 2000
#define WRITE_BEHIND_MAX 4096
/* Space kept allocated past the end of each principal's log, so entries
 * keep landing (about one per KiB) when the disk fills: reads stay served
 * and the denial of a write is still recorded, instead of the first full
 * batch turning every request into "audit log could not record". */
#define AUDIT_RESERVE_BYTES (64 * 1024)

typedef struct pfile {
    char principal[65];
    int fd; /* -1 when the open/recovery failed */
    char last_hash[AUDIT_HEX_LEN + 1];
    astrid_err open_err; /* why fd is -1 */
} pfile;

typedef struct pending {
    struct pending *next;
    const char *principal;
    char *head;
    char id[ASTRID_UUID_STR_LEN];
    bool done;
    bool detached; /* write-behind: the writer frees it; nobody waits */
    int rc;
    astrid_err err;
} pending;

struct astrid_audit {
    char home[4096];
    char session_id[ASTRID_UUID_STR_LEN];
    astrid_keypair kp;
    astrid_audit_notice_fn notice;
    void *notice_ctx;
    pthread_t writer;
    /* lock guards: queue_head/queue_tail, stop, done flags of pendings,
     * fault/fault_ctx. files/nfiles belong to the writer thread alone. */
    pthread_mutex_t lock;
    pthread_cond_t work_cond, done_cond;
    pending *queue_head, *queue_tail;
    size_t in_flight;              /* entries queued or being written */
    size_t queued, queued_durable; /* entries in the queue; those someone waits for */
    bool windowing; /* the writer is gathering write-behind entries: wake it only for a
                     * durable entry or a full window (a wake per entry costs a
                     * context switch per entry) */
    bool stop;
    bool broken; /* the last batch failed: write-behind appends wait instead */
    astrid_err broken_err;
    astrid_audit_fault_fn fault;
    void *fault_ctx;
    pfile *files;
    size_t nfiles;
};

/* Size of the final line of buf[0..end) and its start. */
static size_t line_start(const char *buf, size_t end)
{
    size_t i = end;
    while (i > 0 && buf[i - 1] != '\n')
        i--;
    return i;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Top the reserve up once half of it is used. Best effort: on a full disk
 * this fails and the entries use what is left. KEEP_SIZE leaves st_size, and
 * so every reader of the log, unchanged. */
static void keep_reserve(int fd)
{
#ifdef FALLOC_FL_KEEP_SIZE
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    off_t spare = (off_t)st.st_blocks * 512 - st.st_size;
    if (spare < AUDIT_RESERVE_BYTES / 2)
        (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, AUDIT_RESERVE_BYTES);
#else
    (void)fd;
#endif
}

/* Append one sealed entry synchronously (recovery record). */
static int append_now(astrid_audit *log, pfile *f, json_t *action, astrid_err *err)
{
    char id[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(id);
    json_t *auth = astrid_audit_auth_system("audit log recovery");
    json_t *out = astrid_audit_outcome_success(NULL);
    char *head = audit_entry_head(id, log->session_id, f->principal, action, auth, out, err);
    json_decref(auth);
    json_decref(out);
    if (!head)
        return -1;
    char *line;
    size_t len;
    char hash[AUDIT_HEX_LEN + 1];
    int rc = audit_entry_seal(head, f->last_hash, &log->kp, &line, &len, hash, err);
    free(head);
    if (rc < 0)
        return -1;
    if (write_all(f->fd, line, len) < 0 || fsync(f->fd) < 0)
        rc = astrid_err_sys(err, "audit log write");
    else
        memcpy(f->last_hash, hash, sizeof hash);
    free(line);
    return rc;
}

/* Every line of buf[0..len) links to the one before (previous_hash is the
 * BLAKE3 of the line before, zeros first). Signatures are the tail's and
 * `astrid audit verify`'s job; the links alone already catch an edited,
 * deleted or inserted line anywhere, at hashing speed, so the daemon does
 * not boot on a chain a verifier would reject in the middle. previous_hash
 * is found from the line's end: only runtime_key and signature (base64, no
 * quotes) follow it, so a value inside params cannot imitate it. */
static size_t chain_break(const char *buf, size_t len)
{
    static const char key[] = ",\"previous_hash\":\"";
    const size_t klen = sizeof key - 1;
    char prev[AUDIT_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        lineno++;
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        const char *hit = NULL;
        for (size_t i = ll >= klen ? ll - klen + 1 : 0; i-- > 0;)
            if (memcmp(line + i, key, klen) == 0) {
                hit = line + i + klen;
                break;
            }
        if (!hit || (size_t)(line + ll - hit) < AUDIT_HEX_LEN ||
            memcmp(hit, prev, AUDIT_HEX_LEN) != 0)
            return lineno;
        astrid_blake3_hex(line, ll, prev);
        pos += ll + 1;
    }
    return 0;
}

/* Open a principal's log, find its chain head, move a torn tail aside. */
static int pfile_open(astrid_audit *log, pfile *f, astrid_err *err)
{
    char path[4096], dir[4096];
    if (audit_file_path(path, sizeof path, log->home, f->principal, err) < 0)
        return -1;
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (astrid_mkdir_p(dir, 0700, 0, err) < 0)
        return -1;
    f->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (f->fd < 0)
        return astrid_err_sys(err, "open %s", path);
    memcpy(f->last_hash, AUDIT_ZERO_HASH, sizeof f->last_hash);
    char *buf = NULL;
    size_t len = 0;
    if (astrid_read_file(path, (size_t)1 << 31, &buf, &len, err) < 0)
        goto fail;
    size_t keep = len;
    const char *reason = NULL;
    char why[256] = "";
    if (len && buf[len - 1] != '\n') {
        keep = line_start(buf, len);
        reason = "last line has no newline";
    }
    size_t end = keep;
    for (int tries = 0; end > 0; tries++) {
        size_t st = line_start(buf, end - 1);
        if (audit_line_check(buf + st, end - 1 - st, NULL, NULL, why, sizeof why)) {
            astrid_blake3_hex(buf + st, end - 1 - st, f->last_hash);
            break;
        }
        if (tries == 1 || reason) {
            /* a bad line before the tail is tampering or damage, not a crash */
            astrid_err_set(err, ASTRID_E_CRYPTO,
                           "audit log %s is damaged before its last line (%s); refusing to "
                           "append: stop the daemon and run `astrid audit repair -a %s`",
                           path, why, f->principal);
            goto fail;
        }
        reason = "last line is invalid";
        keep = end = st;
    }
    size_t broken = chain_break(buf, keep);
    if (broken) {
        astrid_err_set(err, ASTRID_E_CRYPTO,
                       "audit log %s is damaged: entry %zu does not link to the one before; "
                       "refusing to append: stop the daemon and run `astrid audit repair -a %s`",
                       path, broken, f->principal);
        goto fail;
    }
    if (keep < len) {
        char tpath[4200], ts[32];
        audit_now_rfc3339(ts);
        snprintf(tpath, sizeof tpath, "%s.torn-%s", path, ts);
        if (astrid_atomic_write(tpath, buf + keep, len - keep, 0600, err) < 0)
            goto fail;
        if (ftruncate(f->fd, (off_t)keep) < 0 || fsync(f->fd) < 0) {
            astrid_err_sys(err, "truncate %s", path);
            goto fail;
        }
        const char *base = strrchr(tpath, '/') + 1;
        json_t *act = json_pack("{s:s, s:s, s:I, s:s}", "type", "log_recovered", "torn_file", base,
                                "torn_bytes", (json_int_t)(len - keep), "reason", reason);
        int rc = append_now(log, f, act, err);
        json_decref(act);
        if (rc < 0)
            goto fail;
        if (log->notice) {
            char msg[4400];
            snprintf(msg, sizeof msg, "audit log had a torn tail (%s); %zu bytes moved to %s",
                     reason, len - keep, tpath);
            log->notice(log->notice_ctx, f->principal, msg);
        }
    }
    free(buf);
    keep_reserve(f->fd);
    return 0;
fail:
    free(buf);
    close(f->fd);
    f->fd = -1;
    return -1;
}

static pfile *pfile_get(astrid_audit *log, const char *principal)
{
    for (size_t i = 0; i < log->nfiles; i++)
        if (strcmp(log->files[i].principal, principal) == 0)
            return &log->files[i];
    pfile *nf = realloc(log->files, (log->nfiles + 1) * sizeof *nf);
    if (!nf)
        return NULL;
    log->files = nf;
    pfile *f = &nf[log->nfiles++];
    memset(f, 0, sizeof *f);
    snprintf(f->principal, sizeof f->principal, "%s", principal);
    if (pfile_open(log, f, &f->open_err) < 0)
        f->fd = -1;
    return f;
}

/* Seal, write and fsync every entry of `batch` for one principal. */
static void commit_principal(astrid_audit *log, pending *batch, const char *principal,
                             int fault_errno)
{
    pfile *f = pfile_get(log, principal);
    astrid_err err = {0};
    int rc = 0;
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    char hash[AUDIT_HEX_LEN + 1], prev[AUDIT_HEX_LEN + 1];
    if (!f) {
        rc = astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
    } else if (f->fd < 0) {
        err = f->open_err;
        rc = -1;
    } else {
        memcpy(prev, f->last_hash, sizeof prev);
        for (pending *p = batch; p && rc == 0; p = p->next) {
            if (strcmp(p->principal, principal) != 0)
                continue;
            char *line;
            size_t len;
            if (audit_entry_seal(p->head, prev, &log->kp, &line, &len, hash, &err) < 0) {
                rc = -1;
                break;
            }
            if (!buf || blen + len > bcap) {
                size_t nc = (blen + len) * 2;
                char *nb = realloc(buf, nc);
                if (!nb) {
                    free(line);
                    rc = astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
                    break;
                }
                buf = nb;
                bcap = nc;
            }
            memcpy(buf + blen, line, len);
            blen += len;
            free(line);
            memcpy(prev, hash, sizeof prev);
        }
        if (rc == 0) {
            struct stat st;
            off_t before = fstat(f->fd, &st) == 0 ? st.st_size : -1;
            if (fault_errno) {
                errno = fault_errno;
                rc = astrid_err_sys(&err, "audit log write");
            } else if (write_all(f->fd, buf, blen) < 0) {
                rc = astrid_err_sys(&err, "audit log write");
            } else if (fsync(f->fd) < 0) {
                rc = astrid_err_sys(&err, "audit log fsync");
            }
            if (rc == 0) {
                memcpy(f->last_hash, prev, sizeof prev);
                keep_reserve(f->fd);
            } else if (before < 0 || ftruncate(f->fd, before) < 0) {
                /* cannot undo a partial batch: reopen (with recovery) next time */
                close(f->fd);
                f->fd = -1;
                f->open_err = err;
                f->principal[0] = '\0';
            }
        }
    }
    free(buf);
    for (pending *p = batch; p; p = p->next)
        if (strcmp(p->principal, principal) == 0) {
            p->rc = rc;
            if (rc < 0)
                p->err = err;
        }
}

static void *writer_main(void *arg)
{
    astrid_audit *log = arg;
    pthread_mutex_lock(&log->lock);
    for (;;) {
        while (!log->queue_head && !log->stop)
            pthread_cond_wait(&log->work_cond, &log->lock);
        if (!log->queue_head && log->stop)
            break;
        /* Nobody waits on write-behind entries: gather them for up to
         * WRITE_BEHIND_WINDOW_US so a stream of queries costs one fsync per
         * window, not one each. A durable entry ends the wait at once. */
        if (log->queued_durable == 0 && !log->stop) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += WRITE_BEHIND_WINDOW_US * 1000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            log->windowing = true;
            while (log->queued_durable == 0 && !log->stop && log->queued < WRITE_BEHIND_MAX &&
                   pthread_cond_timedwait(&log->work_cond, &log->lock, &dl) != ETIMEDOUT)
                ;
            log->windowing = false;
        }
        pending *batch = log->queue_head;
        log->queue_head = log->queue_tail = NULL;
        log->queued = log->queued_durable = 0;
        int fault = log->fault ? log->fault(log->fault_ctx) : 0;
        pthread_mutex_unlock(&log->lock);
        /* One commit per distinct principal; a batch rarely holds more than
         * a few, so a short list of names already done beats a rescan. */
        const char *done[16];
        size_t ndone = 0;
        for (pending *p = batch; p; p = p->next) {
            bool seen = false;
            for (size_t i = 0; i < ndone && !seen; i++)
                seen = strcmp(done[i], p->principal) == 0;
            if (!seen && ndone == sizeof done / sizeof *done)
                for (pending *q = batch; q != p && !seen; q = q->next)
                    seen = strcmp(q->principal, p->principal) == 0;
            if (seen)
                continue;
            if (ndone < sizeof done / sizeof *done)
                done[ndone++] = p->principal;
            commit_principal(log, batch, p->principal, fault);
        }
        pthread_mutex_lock(&log->lock);
        for (pending *p = batch, *n; p; p = n) {
            n = p->next;
            log->in_flight--;
            log->broken = p->rc < 0;
            if (p->rc < 0)
                log->broken_err = p->err;
            if (p->detached) {
                free(p->head);
                free(p);
            } else {
                p->done = true;
            }
        }
        pthread_cond_broadcast(&log->done_cond);
    }
    pthread_mutex_unlock(&log->lock);
    return NULL;
}

/* Recover every existing principal log now, so a torn tail is repaired at
 * boot rather than at the first append. A log that cannot be opened or
 * recovered (damage before its last line, an I/O error) fails the open:
 * a daemon that booted on it would deny every request of that principal,
 * and only an operator's `astrid audit repair` may cut a chain. Runs
 * before the writer starts. */
static int open_existing(astrid_audit *log, astrid_err *err)
{
    char dir[4096];
    if (astrid_home_homes_dir(dir, sizeof dir, log->home, NULL) < 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        char path[4096];
        if (de->d_name[0] == '.' ||
            audit_file_path(path, sizeof path, log->home, de->d_name, NULL) != 0 ||
            access(path, F_OK) != 0)
            continue;
        pfile *f = pfile_get(log, de->d_name);
        if (!f)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        else if (f->fd < 0) {
            if (err)
                *err = f->open_err;
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

static void files_close(astrid_audit *log)
{
    for (size_t i = 0; i < log->nfiles; i++)
        if (log->files[i].fd >= 0)
            close(log->files[i].fd);
    free(log->files);
    log->files = NULL;
    log->nfiles = 0;
}

astrid_audit *astrid_audit_open(const char *home, const astrid_keypair *kp, const char *session_id,
                                astrid_audit_notice_fn notice, void *notice_ctx, astrid_err *err)
{
    if (!astrid_uuid_parse(session_id, NULL)) {
        astrid_err_set(err, ASTRID_E_INVALID, "audit: session id is not a UUID");
        return NULL;
    }
    astrid_audit *log = calloc(1, sizeof *log);
    if (!log) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(log->home, sizeof log->home, "%s", home);
    astrid_uuid_parse(session_id, log->session_id);
    log->kp = *kp;
    log->notice = notice;
    log->notice_ctx = notice_ctx;
    if (open_existing(log, err) < 0) {
        files_close(log);
        astrid_keypair_wipe(&log->kp);
        free(log);
        return NULL;
    }
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->work_cond, NULL);
    pthread_cond_init(&log->done_cond, NULL);
    if (pthread_create(&log->writer, NULL, writer_main, log) != 0) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "audit: cannot start the writer thread");
        pthread_mutex_destroy(&log->lock);
        pthread_cond_destroy(&log->work_cond);
        pthread_cond_destroy(&log->done_cond);
        files_close(log);
        astrid_keypair_wipe(&log->kp);
        free(log);
        return NULL;
    }
    return log;
}

void astrid_audit_close(astrid_audit *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    log->stop = true;
    pthread_cond_signal(&log->work_cond);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->writer, NULL);
    files_close(log);
    astrid_keypair_wipe(&log->kp);
    pthread_mutex_destroy(&log->lock);
    pthread_cond_destroy(&log->work_cond);
    pthread_cond_destroy(&log->done_cond);
    free(log);
}

void astrid_audit_set_fault(astrid_audit *log, astrid_audit_fault_fn fn, void *ctx)
{
    pthread_mutex_lock(&log->lock);
    log->fault = fn;
    log->fault_ctx = ctx;
    pthread_mutex_unlock(&log->lock);
}

/* Caller holds log->lock. */
static void enqueue_locked(astrid_audit *log, pending *p)
{
    if (log->queue_tail)
        log->queue_tail->next = p;
    else
        log->queue_head = p;
    log->queue_tail = p;
    log->in_flight++;
    log->queued++;
    log->queued_durable += !p->detached;
    if (!log->windowing || !p->detached || log->queued >= WRITE_BEHIND_MAX)
        pthread_cond_signal(&log->work_cond);
}

int astrid_audit_append_mode(astrid_audit *log, astrid_audit_mode mode, const char *principal,
                             json_t *action, json_t *authorization, json_t *outcome,
                             char id_out[ASTRID_UUID_STR_LEN], astrid_err *err)
{
    char ph[4096];
    if (astrid_principal_home(ph, sizeof ph, log->home, principal, err) < 0)
        return -1;
    /* The principal string must outlive a detached entry: it is copied
     * into the same allocation. */
    size_t plen = strlen(principal) + 1;
    pending *p = calloc(1, sizeof *p + plen);
    if (!p)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    memcpy(p + 1, principal, plen);
    p->principal = (const char *)(p + 1);
    astrid_uuid_v4(p->id);
    p->head =
        audit_entry_head(p->id, log->session_id, principal, action, authorization, outcome, err);
    if (!p->head) {
        free(p);
        return -1;
    }
    if (id_out)
        memcpy(id_out, p->id, ASTRID_UUID_STR_LEN);
    pthread_mutex_lock(&log->lock);
    if (log->stop) {
        pthread_mutex_unlock(&log->lock);
        free(p->head);
        free(p);
        return astrid_err_set(err, ASTRID_E_INVALID, "audit log is closed");
    }
    /* Write-behind only while the log is healthy: after a failed batch
     * every append waits for its own outcome until one succeeds. */
    if (mode == ASTRID_AUDIT_WRITE_BEHIND && !log->broken) {
        p->detached = true;
        enqueue_locked(log, p);
        pthread_mutex_unlock(&log->lock);
        return 0;
    }
    enqueue_locked(log, p);
    while (!p->done)
        pthread_cond_wait(&log->done_cond, &log->lock);
    pthread_mutex_unlock(&log->lock);
    int rc = p->rc;
    if (rc < 0 && err)
        *err = p->err;
    free(p->head);
    free(p);
    return rc < 0 ? -1 : 0;
}

int astrid_audit_append(astrid_audit *log, const char *principal, json_t *action,
                        json_t *authorization, json_t *outcome, char id_out[ASTRID_UUID_STR_LEN],
                        astrid_err *err)
{
    return astrid_audit_append_mode(log, ASTRID_AUDIT_DURABLE, principal, action, authorization,
                                    outcome, id_out, err);
}

int astrid_audit_flush(astrid_audit *log, astrid_err *err)
{
    pthread_mutex_lock(&log->lock);
    while (log->in_flight > 0)
        pthread_cond_wait(&log->done_cond, &log->lock);
    int rc = log->broken ? -1 : 0;
    if (rc < 0 && err)
        *err = log->broken_err;
    pthread_mutex_unlock(&log->lock);
    return rc;
}
