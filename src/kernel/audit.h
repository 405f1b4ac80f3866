/* The signed, hash-chained audit log (reference §9, §10.2; docs/audit.md).
 *
 * One file per principal: home/{p}/.local/audit/audit.jsonl, one JSON object
 * a line, keys in this fixed order:
 *   id, timestamp, session_id, principal, action, authorization, outcome,
 *   previous_hash, runtime_key, signature
 * - timestamp: RFC 3339 UTC with microseconds ("2026-01-01T00:00:00.000000Z")
 * - action/authorization/outcome: tagged objects (§9.1): action {"type":...},
 *   authorization {"type":...}, outcome {"status":"success"|"failure",...}
 * - previous_hash: BLAKE3 hex of the previous line's bytes (without "\n");
 *   64 zeros for the first entry.
 * - runtime_key: base64 (standard, padded) ed25519 public key.
 * - signature: base64 ed25519 signature over the CANONICAL BYTES: the line
 *   with its final `,"signature":"<b64>"` removed, i.e. everything before
 *   `,"signature":"` followed by "}". The signature field is always last.
 *
 * Appends are group-committed by one writer thread (one write + one fsync
 * per file per batch); each caller learns whether ITS entry is durable. Any
 * write/fsync failure is returned to every caller of that batch (fail
 * closed: the kernel denies the action).
 *
 * Locks: log->lock guards the pending queue, the per-principal file table
 * and the writer state; the writer thread does I/O and signing without it.
 */
#ifndef ASTRID_KERNEL_AUDIT_H
#define ASTRID_KERNEL_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "astrid/uuid.h"

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
/* Flushes pending appends, stops the writer. */
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

/* Constructors (new references). `target`/`params` may be NULL (omitted).
 * An object params.secrets is recorded with every value "[redacted]". */
json_t *astrid_audit_action_admin(const char *method, const char *required_capability,
                                  const char *target_principal, json_t *params);
json_t *astrid_audit_auth_system(const char *reason);
json_t *astrid_audit_auth_denied(const char *reason);
json_t *astrid_audit_outcome_success(json_t *details /* may be NULL */);
json_t *astrid_audit_outcome_failure(const char *error);

/* Offline verification: every line parses, the chain links, every signature
 * verifies under `pk`. Only reads. On failure returns -1 and fills the
 * report (line numbers from 1). A missing file is 0 entries, valid. */
typedef struct astrid_audit_report {
    size_t entries;
    size_t bad_line;                  /* 0 when valid */
    char bad_id[ASTRID_UUID_STR_LEN]; /* "" when the line has no readable id */
    char reason[256];
} astrid_audit_report;
int astrid_audit_verify(const char *home, const char *principal,
                        const uint8_t pk[ASTRID_ED25519_PK_LEN], astrid_audit_report *rep,
                        astrid_err *err);

/* For `astrid audit show`: entries of `principal` (NULL = every principal
 * under home/), with timestamp >= `since` (RFC 3339 UTC, NULL = all), sorted
 * by timestamp; at most the newest `limit` (0 = all). Returns a new JSON
 * array (caller json_decref()s). Unparseable lines are skipped (verify
 * reports them). */
json_t *astrid_audit_read(const char *home, const char *principal, const char *since, size_t limit,
                          astrid_err *err);

#endif
