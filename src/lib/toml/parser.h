/* Parser state shared by the document parser (parse.c) and the value
 * scanners (value.c). Internal. */
#ifndef ASTRID_TOML_PARSER_H
#define ASTRID_TOML_PARSER_H

#include "toml_internal.h"

typedef struct toml_parser {
    const char *s;
    size_t len, pos;
    int depth;
    bool failed;
    astrid_err *err;
    astrid_toml_error *epos;
    /* Scratch buffer for decoded strings/keys, reused across the parse. */
    char *buf;
    size_t blen, bcap;
} toml_parser;

/* Record an error at byte offset `at` (first error wins). Returns -1. */
int toml_fail_at(toml_parser *p, size_t at, astrid_errcode code, const char *why);
int toml_fail(toml_parser *p, const char *why);

static inline int tp_peek(const toml_parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static inline void tp_skip_ws(toml_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

/* Scratch buffer helpers. */
int toml_buf_reserve(toml_parser *p, size_t extra);

/* Scan a quoted string (basic, literal, or multi-line of either) at p->pos
 * decoded: on return the bytes are at *src (inside the input, no escapes)
 * or, when *src is NULL, at p->buf + *off; *n is their length.
 * `allow_multi` is false for keys. */
int toml_scan_string(toml_parser *p, bool allow_multi, const char **src, size_t *off, size_t *n);

/* Parse one value at p->pos. Returns a new node or NULL (error recorded). */
astrid_toml *toml_parse_value(toml_parser *p);

/* Parse `key = value` into `table` (used at top level and inside inline
 * tables); `in_inline` marks tables created by dotted keys as inline. */
int toml_parse_keyval(toml_parser *p, astrid_toml *table, bool in_inline);

#endif
