/* File-per-secret store (reference §11.3, [v0.6] FileSecretStore):
 *   $ASTRID_HOME/secrets/{scope}/{capsule}/{KEY}   one file each, 0600
 * scope = a principal id, or ASTRID_SECRET_SCOPE_HOST for host-wide
 * ("shared") secrets. Directories are 0700; writes are atomic.
 *
 * Keys: non-empty, no ':', '/', or NUL, not "." or "..". Capsule ids: valid
 * capsule names ([A-Za-z0-9_.-], no leading '.'). Values: non-empty, at most
 * ASTRID_SECRET_MAX_BYTES.
 * Ownership: values returned are malloc'd, caller frees (and should wipe).
 */
#ifndef ASTRID_STORE_SECRETS_H
#define ASTRID_STORE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

#define ASTRID_SECRET_SCOPE_HOST "__host__"
#define ASTRID_SECRET_MAX_BYTES 65536

int astrid_secret_set(const char *home, const char *scope, const char *capsule, const char *key,
                      const char *value, astrid_err *err);
/* *value = NULL (and 0 returned) when absent. A file over the cap is an
 * error: "secret file exceeds 65536-byte cap". */
int astrid_secret_get(const char *home, const char *scope, const char *capsule, const char *key,
                      char **value, astrid_err *err);
int astrid_secret_delete(const char *home, const char *scope, const char *capsule, const char *key,
                         bool *existed, astrid_err *err);
/* Kernel lookup for a secret-typed env key: the principal's slot first, then
 * the host-wide slot. *value = NULL when neither exists. */
int astrid_secret_resolve(const char *home, const char *principal, const char *capsule,
                          const char *key, char **value, astrid_err *err);
/* Copy every secret of `capsule` from scope `from` to scope `to` (used when
 * an agent inherits default's configuration). Existing files in `to` are
 * overwritten. *copied counts files. */
int astrid_secret_copy_capsule(const char *home, const char *from, const char *to,
                               const char *capsule, size_t *copied, astrid_err *err);

/* The keys stored for `capsule` in `scope` (never their values), sorted:
 * *keys a malloc'd array of malloc'd strings (caller frees each and the
 * array), *n their count. A missing directory is no keys. */
int astrid_secret_keys(const char *home, const char *scope, const char *capsule, char ***keys,
                       size_t *n, astrid_err *err);
/* The capsules that have a directory in `scope`, as astrid_secret_keys. */
int astrid_secret_capsules(const char *home, const char *scope, char ***names, size_t *n,
                           astrid_err *err);
/* Delete secrets/{scope}/{capsule}/ and every secret in it (remove
 * --purge). *removed counts the secrets; a missing directory is 0. */
int astrid_secret_purge_capsule(const char *home, const char *scope, const char *capsule,
                                size_t *removed, astrid_err *err);
void astrid_secret_names_free(char **names, size_t n);

#endif
