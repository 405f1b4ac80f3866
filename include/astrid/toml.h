/* TOML 1.0: parser into an order-preserving tree, and a deterministic emitter.
 *
 * Ownership: every node belongs to its parent; the root returned by
 * astrid_toml_parse() or astrid_toml_new_table() is freed with
 * astrid_toml_free(), which frees the whole tree. Accessors return borrowed
 * pointers valid until the tree is freed or the node is replaced/removed.
 * Setters take ownership of the value node passed in (also on failure).
 *
 * Limits: input larger than ASTRID_TOML_MAX_INPUT bytes and nesting (arrays,
 * inline tables, table headers) deeper than ASTRID_TOML_MAX_DEPTH are rejected
 * with a clear error (ASTRID_E_LIMIT).
 *
 * Errors: the message reads "line L, column C: reason" (1-based), and
 * line/col are also stored in astrid_toml_error when requested.
 */
#ifndef ASTRID_TOML_H
#define ASTRID_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_TOML_MAX_INPUT (16u * 1024u * 1024u)
#define ASTRID_TOML_MAX_DEPTH 128

typedef enum astrid_toml_type {
    ASTRID_TOML_TABLE,
    ASTRID_TOML_ARRAY,
    ASTRID_TOML_STRING,
    ASTRID_TOML_INTEGER,
    ASTRID_TOML_FLOAT,
    ASTRID_TOML_BOOL,
    ASTRID_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
    ASTRID_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    ASTRID_TOML_DATE_LOCAL,     /* 1979-05-27 */
    ASTRID_TOML_TIME_LOCAL,     /* 07:32:00 */
} astrid_toml_type;

typedef struct astrid_toml_datetime {
    int year, month, day;     /* date part (unused for TIME_LOCAL) */
    int hour, minute, second; /* time part (unused for DATE_LOCAL) */
    uint32_t nanosecond;      /* fractional seconds, truncated to ns */
    int frac_digits;          /* digits of fraction as written (0 = none), max 9 */
    int offset_minutes;       /* DATETIME only: offset from UTC */
    bool offset_z;            /* DATETIME only: written as 'Z' (vs +00:00) */
} astrid_toml_datetime;

typedef struct astrid_toml astrid_toml;

typedef struct astrid_toml_error {
    int line;   /* 1-based, 0 when not positional */
    int column; /* 1-based */
} astrid_toml_error;

/* Parse `len` bytes (need not be NUL-terminated; must be UTF-8). Returns the
 * root table or NULL with `err` filled ("line L, column C: reason"). `pos`
 * (optional) receives the position of the error. */
astrid_toml *astrid_toml_parse(const char *buf, size_t len, astrid_err *err,
                               astrid_toml_error *pos);
/* Read and parse a file; errors are prefixed with the path. */
astrid_toml *astrid_toml_parse_file(const char *path, astrid_err *err, astrid_toml_error *pos);

void astrid_toml_free(astrid_toml *node);

/* ---- reading ---- */
astrid_toml_type astrid_toml_type_of(const astrid_toml *node);
const char *astrid_toml_type_name(astrid_toml_type t); /* "table", "array", "string", ... */

/* Number of keys (table) or elements (array); 0 for scalars. */
size_t astrid_toml_len(const astrid_toml *node);
/* i-th key/value of a table in document order. */
const char *astrid_toml_key_at(const astrid_toml *table, size_t i);
astrid_toml *astrid_toml_value_at(const astrid_toml *table, size_t i);
/* i-th element of an array. */
astrid_toml *astrid_toml_at(const astrid_toml *array, size_t i);
/* Look up a key in a table (NULL when absent or `table` is not a table). */
astrid_toml *astrid_toml_get(const astrid_toml *table, const char *key);

/* Scalars. Calling one on the wrong type returns the zero value. */
const char *astrid_toml_str(const astrid_toml *node,
                            size_t *len); /* NUL-terminated; may hold NULs when len says so */
int64_t astrid_toml_int(const astrid_toml *node);
double astrid_toml_float(const astrid_toml *node);
bool astrid_toml_bool(const astrid_toml *node);
const astrid_toml_datetime *astrid_toml_datetime_of(const astrid_toml *node);

/* TOML strings and quoted keys may hold NUL bytes ("rt-\u0000x"); a
 * consumer that passes them on as C strings would silently cut them at the
 * NUL ("rt-"). Returns true when a string value or a key under `node` holds
 * a NUL, with the first one's path (document order) written to `path`
 * (optional, truncated to `pathsz`), e.g. package.name, topic[2].name or
 * groups."a\u0000b" -- for an error that names the field. */
bool astrid_toml_find_nul(const astrid_toml *node, char *path, size_t pathsz);

/* True for tables defined inline ({...}) and arrays of tables ([[x]]) —
 * kept so the emitter can reproduce the document's shape. */
bool astrid_toml_is_inline(const astrid_toml *node);

/* ---- building ---- */
astrid_toml *astrid_toml_new_table(void);
astrid_toml *astrid_toml_new_array(void);
astrid_toml *astrid_toml_new_string(const char *s, size_t len);
astrid_toml *astrid_toml_new_int(int64_t v);
astrid_toml *astrid_toml_new_float(double v);
astrid_toml *astrid_toml_new_bool(bool v);
astrid_toml *astrid_toml_new_datetime(astrid_toml_type t, const astrid_toml_datetime *dt);

/* Insert or replace `key` in `table` (replacing keeps the key's position).
 * Takes ownership of `value`. Returns -1 when `table` is not a table or on
 * allocation failure (then `value` is freed). */
int astrid_toml_set(astrid_toml *table, const char *key, astrid_toml *value);
/* Remove `key`; returns 0 when removed, -1 when absent. */
int astrid_toml_remove(astrid_toml *table, const char *key);
/* Append to an array. Takes ownership of `value`. */
int astrid_toml_push(astrid_toml *array, astrid_toml *value);

/* Deep copy (NULL on allocation failure). */
astrid_toml *astrid_toml_clone(const astrid_toml *node);
/* Deep equality: same types, same keys (order-insensitive for tables), same
 * values (floats compared bitwise except NaN == NaN). */
bool astrid_toml_equal(const astrid_toml *a, const astrid_toml *b);

/* ---- emitting ---- */
/* Deterministic TOML text for a root table: keys in stored order, scalars
 * and arrays of scalars first, then sub-tables as [a.b] sections, arrays of
 * tables as [[a]]. parse(emit(t)) equals t. Returns a malloc'd NUL-terminated
 * string (caller frees) or NULL with `err` filled. */
char *astrid_toml_emit(const astrid_toml *root, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
