/* The socket wire: frames of a 4-byte big-endian length and one JSON object,
 * and the IpcMessage carried in them (see docs/wire.md).
 *
 * Input is checked before jansson sees it: a frame over ASTRID_WIRE_MAX_FRAME,
 * bytes that are not UTF-8, or nesting deeper than ASTRID_WIRE_MAX_DEPTH are
 * refused with a clear message (the depth scan is iterative, so a 10 000-deep
 * document costs a linear pass, never recursion).
 *
 * Ownership: json_t results are new references (caller json_decref()s);
 * encoded frames are malloc'd (caller frees); a frame reader owns its buffer
 * and is released with astrid_frame_reader_free().
 */
#ifndef ASTRID_WIRE_H
#define ASTRID_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_WIRE_MAX_FRAME (5u * 1024u * 1024u)
#define ASTRID_WIRE_MAX_DEPTH 64
#define ASTRID_WIRE_MAX_HANDSHAKE 4096

/* UTF-8 and depth check of a JSON text (strings skipped correctly). */
int astrid_wire_check(const char *buf, size_t len, astrid_err *err);
/* Check, then parse; the top level must be an object. */
json_t *astrid_wire_parse(const char *buf, size_t len, astrid_err *err);

/* Encode `obj` as one frame (length prefix + compact JSON). */
int astrid_frame_encode(const json_t *obj, char **out, size_t *len, astrid_err *err);

typedef struct astrid_frame_reader {
    char *buf;
    size_t len, cap;
    size_t max; /* largest accepted body */
} astrid_frame_reader;

void astrid_frame_reader_init(astrid_frame_reader *r, size_t max_body);
void astrid_frame_reader_free(astrid_frame_reader *r);
/* Append received bytes. */
int astrid_frame_reader_feed(astrid_frame_reader *r, const void *data, size_t n, astrid_err *err);
/* 1: a whole frame body is at *body (*len bytes, valid until pop/feed);
 * 0: more bytes needed; -1: the announced length exceeds the limit. */
int astrid_frame_reader_next(astrid_frame_reader *r, const char **body, size_t *len,
                             astrid_err *err);
/* Drop the frame returned by the last successful next(). */
void astrid_frame_reader_pop(astrid_frame_reader *r);

/* IpcMessage. `payload` may be NULL (then {}); it is borrowed (incref'd).
 * Fills timestamp (RFC 3339 UTC now) and seq. */
json_t *astrid_ipc_new(const char *topic, json_t *payload, const char *source_id,
                       const char *principal, uint64_t seq);
/* Validate an ingress message: topic a non-empty string, payload present;
 * optional source_id/principal strings, seq integer, timestamp string,
 * signature string/array/null. */
int astrid_ipc_validate(const json_t *msg, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
