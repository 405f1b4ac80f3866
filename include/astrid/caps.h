/* Static capability grammar and matching (upstream capability_grammar.rs).
 *
 *   capability := segment (':' segment)*
 *   segment    := '*' | [A-Za-z0-9_-]+
 *
 * Pure functions, no allocation, thread-safe. */
#ifndef ASTRID_CAPS_H
#define ASTRID_CAPS_H
#include <stdbool.h>
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
#define ASTRID_CAP_MAX_LEN 256

typedef enum astrid_cap_error {
    ASTRID_CAP_VALID = 0,
    ASTRID_CAP_EMPTY,
    ASTRID_CAP_TOO_LONG,      /* > 256 bytes */
    ASTRID_CAP_DOUBLE_STAR,   /* contains "**" */
    ASTRID_CAP_EMPTY_SEGMENT, /* leading, trailing or doubled ':' */
    ASTRID_CAP_PARTIAL_STAR,  /* segment contains '*' but is not exactly '*' */
    ASTRID_CAP_INVALID_CHAR,  /* outside [A-Za-z0-9_-]; message names segment + char */
} astrid_cap_error;

/* Does `pattern` grant `cap`? Bare `*` matches everything; a trailing `*`
 * matches one or more remaining segments; an inner `*` exactly one. NULL
 * arguments never match. */
bool astrid_cap_matches(const char *pattern, const char *cap);

/* 0 when valid, -1 with a message in `err` (may be NULL / errlen 0). */
int astrid_cap_validate(const char *cap, char *err, size_t errlen);

/* Same rules, returning the error kind (first failure wins, upstream order). */
astrid_cap_error astrid_cap_classify(const char *cap, char *err, size_t errlen);
#ifdef __cplusplus
}
#endif
#endif
