/* Internal helpers shared by the groups and profile loaders. */
#ifndef ASTRID_POLICY_TOMLUTIL_H
#define ASTRID_POLICY_TOMLUTIL_H
#include <stdbool.h>
#include <stddef.h>
#include "astrid/err.h"
#include "astrid/toml.h"

/* The TOML tree carries no positions, so an unknown key is located by
 * scanning the source text for its first occurrence in key position. Sets
 * line/col to 0 when it cannot be found. */
void policy_key_pos(const char *text, const char *key, int *line, int *col);
/* "PATH: line L, column C: unknown key 'K' in WHERE" (ASTRID_E_PARSE). */
int policy_unknown_key(astrid_err *err, const char *path, const char *text, const char *key,
                       const char *where);
/* Read file fully (at most `max` bytes); *missing set (and 0 returned) when
 * it does not exist. */
int policy_read(const char *path, size_t max, char **text, size_t *len, bool *missing,
                astrid_err *err);
/* "PATH is N bytes, over the MAX-byte limit" (ASTRID_E_LIMIT) when len > max. */
int policy_check_size(const char *path, size_t len, size_t max, astrid_err *err);
/* Copy an array of strings into a malloc'd char** (each strdup'd). */
int policy_str_array(const astrid_toml *arr, char ***out, size_t *n, const char *path,
                     const char *text, const char *key, astrid_err *err);
void policy_free_strv(char **v, size_t n);
/* "PATH: FIELD: must not contain a NUL character" (ASTRID_E_PARSE) when a
 * string or key of the document holds one: names, groups and capabilities
 * are used as C strings, which would end at the NUL. */
int policy_refuse_nul(const astrid_toml *root, const char *path, astrid_err *err);
astrid_toml *policy_toml_strv(const char *const *v, size_t n);
#endif
