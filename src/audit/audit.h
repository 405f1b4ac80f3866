/* The audit log writer (floor 1; docs/audit.md). The format of the log,
 * the entry constructors and the offline verify/read are floor 0's:
 * lib/audit/audit_format.h, included here for the callers of append.
 *
 * Appends are group-committed by one writer thread (one write + one fsync
 * per file per batch); each caller learns whether ITS entry is durable. Any
 * write/fsync failure is returned to every caller of that batch (fail
 * closed: the kernel denies the action).
 *
 * Locks: log->lock guards the pending queue, the per-principal file table
 * and the writer state; the writer thread does I/O and signing without it.
 */
#ifndef ASTRID_AUDIT_AUDIT_H
#define ASTRID_AUDIT_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "astrid/uuid.h"
#include "lib/audit/audit_format.h"

typedef struct astrid_audit astrid_audit;

/* Called when a torn tail was found and moved aside; `msg` names the torn
 * file. Existing logs are checked inside astrid_audit_open (callback on the
 * caller's thread, at boot); a principal's log first created later is
 * opened by the writer thread. A log damaged before its last line makes
 * every append for that principal fail (the error says so). */
typedef void (*astrid_audit_notice_fn)(void *ctx, const char *principal, const char *msg);

/* `kp` is copied; `session_id` is the kernel session UUID. */
astrid_audit *astrid_audit_open(const char *home, const astrid_keypair *kp, const char *session_id,
                                astrid_audit_notice_fn notice, void *notice_ctx, astrid_err *err);
/* How astrid_audit_open checked one existing log (docs/audit.md
 * "Checkpoint"): from its signed checkpoint, reading only the lines after
 * it, or whole (`fallback` says why). */
typedef struct astrid_audit_open_info {
    char principal[65];
    bool from_checkpoint;
    uint64_t checkpoint_entries; /* entries the checkpoint vouched for */
    uint64_t lines_read;         /* lines read and linked */
    uint64_t entries;            /* entries in the chain after the open */
    char fallback[256];          /* why no checkpoint was used; "" when one was */
} astrid_audit_open_info;
/* The logs astrid_audit_open found; *out is owned by `log`, immutable,
 * valid until astrid_audit_close. */
size_t astrid_audit_open_report(const astrid_audit *log, const astrid_audit_open_info **out);

/* Flushes pending appends, stops the writer, writes every checkpoint. */
void astrid_audit_close(astrid_audit *log);

/* Append and wait until durable. action/authorization/outcome are borrowed.
 * `id_out` (optional) gets the entry id. -1 means NOT recorded. */
int astrid_audit_append(astrid_audit *log, const char *principal, json_t *action,
                        json_t *authorization, json_t *outcome, char id_out[ASTRID_UUID_STR_LEN],
                        astrid_err *err);

/* How long an append waits.
 * DURABLE: until its batch is written and fsynced; -1 means NOT recorded
 *   (the caller must deny). For everything that changes state.
 * WRITE_BEHIND: until the entry is queued (formatted, not yet signed); the
 *   writer commits it with the next batch, at once. For read-only queries
 *   whose answer changes nothing: a crash can lose the last milliseconds of
 *   such entries, never an entry for an action that happened. While the log
 *   is failing (the last batch failed) WRITE_BEHIND waits like DURABLE, so a
 *   broken log still denies. */
typedef enum astrid_audit_mode {
    ASTRID_AUDIT_DURABLE,
    ASTRID_AUDIT_WRITE_BEHIND
} astrid_audit_mode;
int astrid_audit_append_mode(astrid_audit *log, astrid_audit_mode mode, const char *principal,
                             json_t *action, json_t *authorization, json_t *outcome,
                             char id_out[ASTRID_UUID_STR_LEN], astrid_err *err);
/* Wait until every queued entry is committed; -1 when the last batch failed. */
int astrid_audit_flush(astrid_audit *log, astrid_err *err);

/* Fault injection (tests): called by the writer before each write; a
 * non-zero errno return fails that batch with that errno. NULL disables. */
typedef int (*astrid_audit_fault_fn)(void *ctx);
void astrid_audit_set_fault(astrid_audit *log, astrid_audit_fault_fn fn, void *ctx);

#endif
