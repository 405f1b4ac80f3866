/* An incremental parser of Server-Sent Events (the WHATWG event-stream
 * format) for the provider capsules: bytes arrive in arbitrary pieces from
 * http-stream-read, so a line, a CRLF pair or a UTF-8 character may be cut
 * anywhere. Lines end in LF, CRLF or CR; a line starting with ':' is a
 * comment; "data:" lines of one event are joined with '\n'; an empty line
 * dispatches the event (with its "event:" name, "" when none). Fields other
 * than event and data are ignored.
 *
 * Pure C (no host calls): compiled into each provider capsule and natively
 * into tests/unit/test_provider_sse.c.
 * Ownership: the parser owns its buffers (sse_free); the strings handed to
 * the callback are borrowed for the duration of the call.
 */
#ifndef CAPSULES_COMMON_SSE_H
#define CAPSULES_COMMON_SSE_H

#include <stdbool.h>
#include <stddef.h>

/* A line longer than this (or an event's data) is refused: a server that
 * never sends a newline must not make the capsule grow without bound. */
#define SSE_MAX_EVENT (4u << 20)

/* Called per dispatched event; a non-zero return stops sse_feed, which
 * returns that value. */
typedef int (*sse_event_fn)(void *ctx, const char *event, const char *data, size_t data_len);

typedef struct sse_parser {
    char *line; /* the current, unfinished line */
    size_t line_len, line_cap;
    char *data; /* data of the event being built */
    size_t data_len, data_cap;
    bool has_data;
    char event[64];
    bool after_cr; /* the last byte was CR: a following LF belongs to it */
    sse_event_fn fn;
    void *ctx;
} sse_parser;

void sse_init(sse_parser *p, sse_event_fn fn, void *ctx);
/* 0, the callback's non-zero value, or -1 (out of memory / over
 * SSE_MAX_EVENT). */
int sse_feed(sse_parser *p, const char *buf, size_t len);
/* At end of stream: an unterminated final line is processed, and a pending
 * event dispatched only when `dispatch_pending` (the spec drops it). */
int sse_finish(sse_parser *p, bool dispatch_pending);
void sse_free(sse_parser *p);

#endif
