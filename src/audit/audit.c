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
#include "lib/audit/audit_ckpt.h"
#include "lib/audit/audit_entry.h"

#define WRITE_BEHIND_WINDOW_US 2000
#define WRITE_BEHIND_MAX 4096
/* Space kept allocated past the end of each principal's log, so entries
 * keep landing (about one per KiB) when the disk fills: reads stay served
 * and the denial of a write is still recorded, instead of the first full
 * batch turning every request into "audit log could not record". */
#define AUDIT_RESERVE_BYTES (64 * 1024)

/* Entries after which the writer renews a principal's checkpoint: boot
 * reads at most this many lines (plus what a crash left) past it. */
#define CKPT_EVERY 4096

typedef struct pfile {
    char principal[65];
    int fd; /* -1 when the open/recovery failed */
    char last_hash[AUDIT_HEX_LEN + 1];
    astrid_err open_err; /* why fd is -1 */
    /* The chain as the writer knows it, for its checkpoint. */
    uint64_t entries, size, inode;
    char first_hash[AUDIT_HEX_LEN + 1];
    uint64_t ckpt_entries; /* entries the checkpoint on disk covers */
    bool ckpt_due;
    astrid_audit_open_info info; /* how the open checked the log */
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
    astrid_audit_open_info *opened; /* how open_existing checked each log; immutable */
    size_t nopened;
};

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
    if (write_all(f->fd, line, len) < 0 || fsync(f->fd) < 0) {
        rc = astrid_err_sys(err, "audit log write");
    } else {
        memcpy(f->last_hash, hash, sizeof hash);
        if (f->entries++ == 0)
            memcpy(f->first_hash, hash, sizeof hash);
        f->size += len;
    }
    free(line);
    return rc;
}

/* Write the checkpoint of f's chain as it stands (docs/audit.md
 * "Checkpoint"). Not fatal when it fails: a checkpoint only spares the
 * next boot work, so the notice says so and the writer goes on. */
static void ckpt_now(astrid_audit *log, pfile *f)
{
    f->ckpt_due = false;
    if (f->fd < 0 || f->entries == 0 || f->entries == f->ckpt_entries)
        return;
    struct stat st;
    /* the counts are the writer's own; a file that changed under it is
     * not vouched for */
    if (fstat(f->fd, &st) != 0 || (uint64_t)st.st_size != f->size ||
        (uint64_t)st.st_ino != f->inode)
        return;
    audit_ckpt c = {.entries = f->entries, .offset = f->size, .inode = f->inode};
    memcpy(c.first_hash, f->first_hash, sizeof c.first_hash);
    memcpy(c.last_hash, f->last_hash, sizeof c.last_hash);
    astrid_err e;
    /* on failure too: retrying every batch would cost an atomic write
     * each on a full disk; the next one is due CKPT_EVERY entries on */
    f->ckpt_entries = f->entries;
    if (audit_ckpt_write(log->home, f->principal, &log->kp, &c, &e) < 0 && log->notice) {
        char msg[600];
        snprintf(msg, sizeof msg,
                 "could not write the audit checkpoint (%s); the next boot reads more of the log",
                 e.msg);
        log->notice(log->notice_ctx, f->principal, msg);
    }
}

/* Line [at, at+len) of f's log passes audit_line_check (under its own
 * runtime_key, as recovery always did). */
static bool line_ok_at(int fd, uint64_t at, uint64_t len, char *why, size_t whysz)
{
    char *b = malloc(len + 1);
    if (!b) {
        snprintf(why, whysz, "out of memory");
        return false;
    }
    bool ok = pread(fd, b, len, (off_t)at) == (ssize_t)len &&
              audit_line_check(b, len, NULL, NULL, why, whysz);
    if (!ok && !why[0])
        snprintf(why, whysz, "read failed");
    free(b);
    return ok;
}

/* Does the signed checkpoint still describe the start of f's file: the
 * line ending at ck->offset hashes to last_hash and line 1 to first_hash.
 * *last_at and *last_len: that line. `why` says what did not match. */
static bool ckpt_matches(pfile *f, const audit_ckpt *ck, uint64_t *last_at, uint64_t *last_len,
                         char *why, size_t whysz)
{
    char *one = NULL;
    size_t onelen = 0;
    char h[AUDIT_HEX_LEN + 1];
    if (audit_line_ending_at(f->fd, ck->offset, last_at, &one, &onelen, NULL) < 0) {
        snprintf(why, whysz, "no line of the log ends at the checkpoint's offset %llu",
                 (unsigned long long)ck->offset);
        return false;
    }
    astrid_blake3_hex(one, onelen, h);
    free(one);
    *last_len = onelen;
    if (strcmp(h, ck->last_hash) != 0) {
        snprintf(why, whysz, "the line at the checkpoint's offset %llu is not the one it signed",
                 (unsigned long long)ck->offset);
        return false;
    }
    audit_lines r;
    const char *line;
    size_t ll;
    bool nl;
    uint64_t at;
    audit_lines_init(&r, f->fd, 0);
    bool ok = audit_lines_next(&r, &line, &ll, &nl, &at, NULL) == 1 && nl;
    if (ok) {
        astrid_blake3_hex(line, ll, h);
        ok = strcmp(h, ck->first_hash) == 0;
    }
    audit_lines_free(&r);
    if (!ok)
        snprintf(why, whysz, "the log's first line is not the one the checkpoint signed");
    return ok;
}

/* Open a principal's log, find its chain head, move a torn tail aside.
 * Streams the file: memory is bounded by the longest line, whatever the
 * log's length. With a signed checkpoint that still matches, only the
 * lines after it are read (docs/audit.md "Checkpoint"). */
static int pfile_open(astrid_audit *log, pfile *f, astrid_err *err)
{
    char path[4096], dir[4096];
    astrid_audit_open_info *in = &f->info;
    memset(in, 0, sizeof *in);
    snprintf(in->principal, sizeof in->principal, "%s", f->principal);
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
    memcpy(f->first_hash, AUDIT_ZERO_HASH, sizeof f->first_hash);
    char *tb = NULL;
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        astrid_err_sys(err, "stat %s", path);
        goto fail;
    }
    f->inode = (uint64_t)st.st_ino;
    const uint64_t size = (uint64_t)st.st_size;

    audit_ckpt ck;
    char why[256] = "";
    int ckr = audit_ckpt_load(log->home, f->principal, log->kp.pk, &ck, why, sizeof why);
    uint64_t start = 0, floor = 0, lineno = 0;
    char prev[AUDIT_HEX_LEN + 1] = AUDIT_ZERO_HASH,
                              before_hash[AUDIT_HEX_LEN + 1] = AUDIT_ZERO_HASH;
    /* the last complete line read, the one before it, and that one's hash */
    uint64_t last_at = 0, last_len = 0, before_at = 0, before_len = 0;
    bool have_last = false, have_before = false;
    bool mismatch = false;
    if (ckr == 0) {
        snprintf(in->fallback, sizeof in->fallback, "no checkpoint");
    } else if (ckr < 0) {
        snprintf(in->fallback, sizeof in->fallback, "%s", why);
    } else if (ck.offset > size) {
        /* the checkpoint is written only after these bytes were fsynced:
         * no crash makes the log shorter than it */
        astrid_err_set(err, ASTRID_E_CRYPTO,
                       "audit log %s is damaged: it has %llu bytes but its signed checkpoint "
                       "vouches for %llu entries in %llu bytes (entries were removed); refusing "
                       "to append: stop the daemon and run `astrid audit repair -a %s`",
                       path, (unsigned long long)size, (unsigned long long)ck.entries,
                       (unsigned long long)ck.offset, f->principal);
        goto fail;
    } else if (floor = ck.offset, ck.inode != f->inode) {
        /* a replaced file: its start is read again, but the bytes the
         * checkpoint counts were durable once, so no crash explains a bad
         * line among them (floor) */
        snprintf(in->fallback, sizeof in->fallback,
                 "the checkpoint is for another file (inode %llu, the log's is %llu)",
                 (unsigned long long)ck.inode, (unsigned long long)f->inode);
    } else if (!ckpt_matches(f, &ck, &last_at, &last_len, in->fallback, sizeof in->fallback)) {
        mismatch = true;
    } else {
        start = ck.offset;
        memcpy(prev, ck.last_hash, sizeof prev);
        memcpy(f->first_hash, ck.first_hash, sizeof f->first_hash);
        lineno = ck.entries;
        have_last = true;
        in->from_checkpoint = true;
        in->checkpoint_entries = ck.entries;
    }

    /* Every line read links to the one before (previous_hash is the BLAKE3
     * of the line before, zeros first). Signatures are the last line's and
     * `astrid audit verify`'s job; the links alone already catch an edited,
     * deleted or inserted line in what is read, at hashing speed. */
    audit_lines r;
    audit_lines_init(&r, f->fd, start);
    const char *line;
    size_t ll;
    bool nl, torn = false;
    uint64_t at, keep = size, break_line = 0, break_at = 0;
    int n;
    while ((n = audit_lines_next(&r, &line, &ll, &nl, &at, err)) == 1) {
        if (!nl) {
            torn = true;
            keep = at;
            break;
        }
        lineno++;
        in->lines_read++;
        const char *ph = audit_line_prev_hash(line, ll);
        if (!break_line && (!ph || memcmp(ph, prev, AUDIT_HEX_LEN) != 0)) {
            break_line = lineno;
            break_at = at;
        }
        memcpy(before_hash, prev, sizeof prev);
        astrid_blake3_hex(line, ll, prev);
        if (lineno == 1)
            memcpy(f->first_hash, prev, sizeof prev);
        before_at = last_at;
        before_len = last_len;
        have_before = have_last;
        last_at = at;
        last_len = ll;
        have_last = true;
    }
    audit_lines_free(&r);
    if (n < 0)
        goto fail;
    if (!torn)
        keep = r.off;

    const char *reason = torn ? "last line has no newline" : NULL;
    uint64_t entries = lineno;
    if (have_last) {
        why[0] = '\0';
        if (line_ok_at(f->fd, last_at, last_len, why, sizeof why)) {
            memcpy(f->last_hash, prev, sizeof prev);
        } else if (reason || last_at + last_len + 1 <= floor ||
                   (have_before && (why[0] = '\0', true) &&
                    !line_ok_at(f->fd, before_at, before_len, why, sizeof why))) {
            /* a bad line before the tail is tampering or damage, not a
             * crash; so is a bad line a signed checkpoint vouched for */
            astrid_err_set(err, ASTRID_E_CRYPTO,
                           "audit log %s is damaged before its last line (%s); refusing to "
                           "append: stop the daemon and run `astrid audit repair -a %s`",
                           path, why, f->principal);
            goto fail;
        } else {
            reason = "last line is invalid";
            keep = last_at;
            entries = lineno - 1;
            memcpy(f->last_hash, have_before ? before_hash : AUDIT_ZERO_HASH, sizeof f->last_hash);
        }
    }
    if (break_line && break_at < keep) {
        astrid_err_set(err, ASTRID_E_CRYPTO,
                       "audit log %s is damaged: entry %llu does not link to the one before; "
                       "refusing to append: stop the daemon and run `astrid audit repair -a %s`",
                       path, (unsigned long long)break_line, f->principal);
        goto fail;
    }
    if (entries == 0)
        memcpy(f->first_hash, AUDIT_ZERO_HASH, sizeof f->first_hash);
    f->entries = entries;
    f->size = keep;
    if (keep < size) {
        char tpath[4200], ts[32];
        audit_now_rfc3339(ts);
        snprintf(tpath, sizeof tpath, "%s.torn-%s", path, ts);
        /* at most a partial line and one whole one: both bounded by the reader */
        size_t tl = (size_t)(size - keep);
        tb = malloc(tl ? tl : 1);
        if (!tb) {
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            goto fail;
        }
        if (pread(f->fd, tb, tl, (off_t)keep) != (ssize_t)tl) {
            astrid_err_sys(err, "read %s", path);
            goto fail;
        }
        if (astrid_atomic_write(tpath, tb, tl, 0600, err) < 0)
            goto fail;
        free(tb);
        tb = NULL;
        if (ftruncate(f->fd, (off_t)keep) < 0 || fsync(f->fd) < 0) {
            astrid_err_sys(err, "truncate %s", path);
            goto fail;
        }
        const char *base = strrchr(tpath, '/') + 1;
        json_t *act = json_pack("{s:s, s:s, s:I, s:s}", "type", "log_recovered", "torn_file", base,
                                "torn_bytes", (json_int_t)tl, "reason", reason);
        int rc = append_now(log, f, act, err);
        json_decref(act);
        if (rc < 0)
            goto fail;
        if (log->notice) {
            char msg[4400];
            snprintf(msg, sizeof msg, "audit log had a torn tail (%s); %zu bytes moved to %s",
                     reason, tl, tpath);
            log->notice(log->notice_ctx, f->principal, msg);
        }
    }
    in->entries = f->entries;
    if (mismatch && log->notice) {
        /* a signed checkpoint of this very file that no longer matches is
         * not a crash: say so, although the whole log checked out */
        char msg[600];
        snprintf(msg, sizeof msg, "audit checkpoint not used (%s); checked the whole log",
                 in->fallback);
        log->notice(log->notice_ctx, f->principal, msg);
    }
    if (in->from_checkpoint && f->entries == ck.entries)
        f->ckpt_entries = f->entries;
    else
        ckpt_now(log, f);
    keep_reserve(f->fd);
    return 0;
fail:
    free(tb);
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
        char first[AUDIT_HEX_LEN + 1] = "";
        uint64_t count = 0;
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
            if (count++ == 0)
                memcpy(first, hash, sizeof first);
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
                if (f->entries == 0)
                    memcpy(f->first_hash, first, sizeof first);
                f->entries += count;
                f->size += blen;
                f->ckpt_due = f->entries - f->ckpt_entries >= CKPT_EVERY;
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
        /* Checkpoints after the callers are released: an atomic write
         * (two fsyncs) every CKPT_EVERY entries stays off their latency. */
        bool due = false;
        for (size_t i = 0; i < log->nfiles && !due; i++)
            due = log->files[i].ckpt_due;
        if (due) {
            pthread_mutex_unlock(&log->lock);
            for (size_t i = 0; i < log->nfiles; i++)
                if (log->files[i].ckpt_due)
                    ckpt_now(log, &log->files[i]);
            pthread_mutex_lock(&log->lock);
        }
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
    /* the boot report, copied now: the writer thread owns files later */
    if (rc == 0 && log->nfiles) {
        log->opened = calloc(log->nfiles, sizeof *log->opened);
        if (!log->opened)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        for (size_t i = 0; i < log->nfiles; i++)
            log->opened[i] = log->files[i].info;
        log->nopened = log->nfiles;
    }
    return rc;
}

size_t astrid_audit_open_report(const astrid_audit *log, const astrid_audit_open_info **out)
{
    *out = log->opened;
    return log->nopened;
}

static void files_close(astrid_audit *log)
{
    for (size_t i = 0; i < log->nfiles; i++)
        if (log->files[i].fd >= 0)
            close(log->files[i].fd);
    free(log->opened);
    log->opened = NULL;
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
    /* a clean stop leaves every chain checkpointed: the next boot reads
     * no line of it but the last and the first */
    for (size_t i = 0; i < log->nfiles; i++)
        if (log->files[i].principal[0])
            ckpt_now(log, &log->files[i]);
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
