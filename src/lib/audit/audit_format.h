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
 * Floor 0: the entry constructors and the offline readers (`astrid audit
 * verify|show` need no daemon); the writer is src/audit/audit.h.
 */
#ifndef ASTRID_LIB_AUDIT_FORMAT_H
#define ASTRID_LIB_AUDIT_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "astrid/uuid.h"

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

/* `astrid audit repair` (docs/audit.md "Repair"): when the chain of
 * `principal` does not verify under kp's public key, move everything from
 * the first bad line on to audit.jsonl.damaged-<RFC3339> (0600), then
 * rewrite the log atomically as the good prefix plus one `audit_repair`
 * entry signed by kp that names the moved file, its size, line count and
 * BLAKE3. A log that verifies is left alone (rep->repaired false). The
 * caller keeps the daemon out (it appends to the same file). */
typedef struct astrid_audit_repair_report {
    bool repaired;
    size_t entries_kept;   /* entries before the cut (or all, when none) */
    size_t first_bad_line; /* from 1 */
    size_t damaged_lines, damaged_bytes;
    char damaged_file[4200];
    char damaged_blake3[65];
    char reason[256];
} astrid_audit_repair_report;
int astrid_audit_repair(const char *home, const char *principal, const astrid_keypair *kp,
                        astrid_audit_repair_report *rep, astrid_err *err);
/* For `astrid audit show`: entries of `principal` (NULL = every principal
 * under home/), with timestamp >= `since` (RFC 3339 UTC, NULL = all), sorted
 * by timestamp; at most the newest `limit` (0 = all). Returns a new JSON
 * array (caller json_decref()s). Unparseable lines are skipped (verify
 * reports them). */
json_t *astrid_audit_read(const char *home, const char *principal, const char *since, size_t limit,
                          astrid_err *err);

#endif
