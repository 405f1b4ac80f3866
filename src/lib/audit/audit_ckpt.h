/* Signed checkpoints of the audit chains and a bounded-memory line reader
 * (docs/audit.md "Checkpoint"). Shared by the writer (src/audit/audit.c),
 * `astrid audit verify` and `astrid audit repair`. Not public.
 *
 * A checkpoint vouches, under the runtime key, that the first `offset`
 * bytes of one principal's log held `entries` lines ending with a line
 * whose BLAKE3 is `last_hash`, in the file with inode `inode`, whose first
 * line hashes to `first_hash`. Boot trusts that prefix after checking the
 * line that ends at `offset` (and the first line), and reads only the tail.
 */
#ifndef ASTRID_LIB_AUDIT_CKPT_H
#define ASTRID_LIB_AUDIT_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "lib/audit/audit_entry.h"

/* Longest line any reader accepts (an entry holds at most a 5 MiB frame's
 * params, escaped): the bound of every reader's memory. */
#define AUDIT_MAX_LINE ((size_t)64 << 20)

typedef struct audit_ckpt {
    uint64_t entries; /* lines in the prefix */
    uint64_t offset;  /* bytes in the prefix; its last byte is '\n' */
    uint64_t inode;   /* of audit.jsonl when written */
    char first_hash[AUDIT_HEX_LEN + 1];
    char last_hash[AUDIT_HEX_LEN + 1];
} audit_ckpt;

/* "home/{p}/.local/audit/checkpoint.json" */
int audit_ckpt_path(char *out, size_t outsz, const char *home, const char *principal,
                    astrid_err *err);

/* Sign `c` with kp and write it atomically (0600). */
int audit_ckpt_write(const char *home, const char *principal, const astrid_keypair *kp,
                     const audit_ckpt *c, astrid_err *err);

/* 1: a checkpoint of `principal` signed by `pk` is in *c. 0: there is
 * none. -1: there is one but it is not trusted (unparsable, another key or
 * principal, bad signature); `why` says which. Only reads. */
int audit_ckpt_load(const char *home, const char *principal,
                    const uint8_t pk[ASTRID_ED25519_PK_LEN], audit_ckpt *c, char *why,
                    size_t whysz);

/* Remove the checkpoint (and fsync the directory); a missing one is fine. */
int audit_ckpt_remove(const char *home, const char *principal, astrid_err *err);

/* Forward line reader over an fd from a byte offset. Memory: one buffer
 * that grows to the longest line read (at most AUDIT_MAX_LINE). */
typedef struct audit_lines {
    int fd;
    char *buf;
    size_t cap, beg, end; /* unread bytes are buf[beg..end) */
    uint64_t off;         /* file offset of buf[beg] */
    bool eof;
} audit_lines;
void audit_lines_init(audit_lines *r, int fd, uint64_t start);
/* 1: the next line (without the newline) is *line, *len long, valid until the next call;
 * *nl is false for a last line without '\n'; *at is its offset. 0: end of
 * file. -1: read error or a line longer than AUDIT_MAX_LINE. */
int audit_lines_next(audit_lines *r, const char **line, size_t *len, bool *nl, uint64_t *at,
                     astrid_err *err);
void audit_lines_free(audit_lines *r);

/* The line that ends at `end` (buf[end-1] is its '\n'): its start and its
 * bytes without '\n' (malloc'd, caller frees). -1 when byte end-1 is not a
 * '\n', the line is too long, or a read fails. */
int audit_line_ending_at(int fd, uint64_t end, uint64_t *start, char **line, size_t *len,
                         astrid_err *err);

/* previous_hash of a line, found from its end (only runtime_key and
 * signature, base64 without quotes, follow it, so no value inside params
 * can imitate it); NULL when the line has none. Points into `line`. */
const char *audit_line_prev_hash(const char *line, size_t len);

#endif
