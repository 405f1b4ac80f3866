/* A small JSON tree for capsules (wasm32-wasi has no jansson): parse,
 * read, build, serialize. Strict RFC 8259 input (no comments, no trailing
 * commas, no duplicate-key check: the last value of a repeated key wins on
 * lookup), nesting at most ASTRID_JSON_MAX_DEPTH, strings kept as UTF-8
 * (\uXXXX escapes and surrogate pairs decoded; a lone surrogate is an
 * error), integers that fit int64 kept exact.
 *
 * Ownership: every astrid_json * returned by astrid_json_parse, _copy or a
 * constructor is owned by the caller and freed with astrid_json_free (which
 * frees its children). Values passed to astrid_json_set / _append are
 * *taken* (freed with the container, or at once when the call fails).
 * astrid_json_get / _at / _str / _key_at return borrowed pointers, valid
 * until the container is changed or freed. astrid_json_dump returns a
 * string the caller frees with free(). Not thread-safe (capsules are not).
 */
#ifndef ASTRID_JSON_H
#define ASTRID_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_JSON_MAX_DEPTH 128

typedef enum astrid_json_type {
    ASTRID_JSON_NULL,
    ASTRID_JSON_BOOL,
    ASTRID_JSON_NUMBER,
    ASTRID_JSON_STRING,
    ASTRID_JSON_ARRAY,
    ASTRID_JSON_OBJECT,
} astrid_json_type;

typedef struct astrid_json astrid_json;

/* Parses len bytes of text (need not be NUL-terminated). NULL on error,
 * with *err (when err is not NULL) a malloc'd message naming the byte
 * offset; caller frees. Trailing whitespace is allowed, anything else not. */
astrid_json *astrid_json_parse(const char *text, size_t len, char **err);
void astrid_json_free(astrid_json *v);

/* ---- reading (every reader accepts NULL and answers "absent") ---- */
astrid_json_type astrid_json_typeof(const astrid_json *v); /* NULL -> ASTRID_JSON_NULL */
bool astrid_json_is(const astrid_json *v, astrid_json_type t);
/* Object member by key (last one wins), NULL when absent or v not an object. */
astrid_json *astrid_json_get(const astrid_json *v, const char *key);
/* Array element / object member value i, NULL when out of range. */
astrid_json *astrid_json_at(const astrid_json *v, size_t i);
const char *astrid_json_key_at(const astrid_json *v, size_t i); /* object key i */
size_t astrid_json_len(const astrid_json *v); /* array/object size, string bytes, else 0 */
/* The string (NUL-terminated; may contain NULs from \u0000, see _len), NULL
 * when v is not a string. */
const char *astrid_json_str(const astrid_json *v);
/* v's string, or dflt when v is absent or not a string. */
const char *astrid_json_str_or(const astrid_json *v, const char *dflt);
double astrid_json_num(const astrid_json *v, double dflt);
int64_t astrid_json_int(const astrid_json *v, int64_t dflt); /* integers only */
bool astrid_json_bool(const astrid_json *v, bool dflt);
/* Shorthands: astrid_json_str_or(astrid_json_get(obj, key), NULL) etc. */
const char *astrid_json_get_str(const astrid_json *obj, const char *key);
int64_t astrid_json_get_int(const astrid_json *obj, const char *key, int64_t dflt);
bool astrid_json_get_bool(const astrid_json *obj, const char *key, bool dflt);

/* ---- building (NULL on out of memory) ---- */
astrid_json *astrid_json_null(void);
astrid_json *astrid_json_boolean(bool b);
astrid_json *astrid_json_number(double d); /* non-finite numbers dump as null */
astrid_json *astrid_json_integer(int64_t i);
astrid_json *astrid_json_string(const char *s); /* copies; NULL s -> JSON null */
astrid_json *astrid_json_stringn(const char *s, size_t n);
astrid_json *astrid_json_array(void);
astrid_json *astrid_json_object(void);
astrid_json *astrid_json_copy(const astrid_json *v); /* deep */
/* Sets obj[key] = val (replacing an existing member), taking val. -1 when
 * obj is not an object, key is NULL, val is NULL, or out of memory. */
int astrid_json_set(astrid_json *obj, const char *key, astrid_json *val);
/* Convenience setters (copy s; a NULL s sets JSON null). */
int astrid_json_set_str(astrid_json *obj, const char *key, const char *s);
int astrid_json_set_int(astrid_json *obj, const char *key, int64_t i);
int astrid_json_set_bool(astrid_json *obj, const char *key, bool b);
/* Appends val to arr, taking it. -1 as for _set. */
int astrid_json_append(astrid_json *arr, astrid_json *val);
/* Removes obj[key] and returns it to the caller (who frees it); NULL when absent. */
astrid_json *astrid_json_take(astrid_json *obj, const char *key);

/* ---- writing ---- */
/* Compact JSON text (no spaces), keys in insertion order; NULL on out of
 * memory. Caller frees. */
char *astrid_json_dump(const astrid_json *v);
/* Appends the JSON string literal of s (quotes included) to a growable
 * buffer *buf of *len bytes used / *cap allocated (all may start 0/NULL).
 * -1 on out of memory. */
int astrid_json_quote(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
