/* The entry encoding shared by the writer (src/audit/audit.c) and the
 * offline reader (audit_read.c); implemented in audit_entry.c. Not public:
 * the log's outside view is audit_format.h. */
#ifndef ASTRID_LIB_AUDIT_ENTRY_H
#define ASTRID_LIB_AUDIT_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/crypto.h"
#include "lib/audit/audit_format.h"

#define AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_HEX_LEN 64
#define AUDIT_SIG_B64_LEN 88 /* padded base64 of 64 bytes */
#define AUDIT_PK_B64_LEN 44

/* The entry's fields before previous_hash, as compact JSON without the
 * closing brace: `{"id":...,"outcome":{...}`. malloc'd. */
char *audit_entry_head(const char *id, const char *session_id, const char *principal,
                       json_t *action, json_t *authorization, json_t *outcome, astrid_err *err);

/* Complete a head into a signed line (with "\n") and the BLAKE3 hex of the
 * line without "\n". *line is malloc'd. */
int audit_entry_seal(const char *head, const char *prev_hash, const astrid_keypair *kp, char **line,
                     size_t *len, char hash_out[AUDIT_HEX_LEN + 1], astrid_err *err);

/* Check one line (without "\n"): parses as an object without duplicate
 * keys, ends with the signature field, and the signature verifies under
 * `pk` (NULL = the line's own runtime_key). On success *entry (optional) is
 * the parsed object. `why` gets a reason on failure. */
bool audit_line_check(const char *line, size_t len, const uint8_t *pk, json_t **entry, char *why,
                      size_t whysz);

/* "home/{p}/.local/audit/audit.jsonl" */
int audit_file_path(char *out, size_t outsz, const char *home, const char *principal,
                    astrid_err *err);

void audit_now_rfc3339(char out[32]);

#endif
