/* $ASTRID_HOME resolution and the fixed paths under it (reference §2).
 * All functions write into caller-owned buffers of at least PATH_MAX bytes. */
#ifndef ASTRID_HOME_H
#define ASTRID_HOME_H

#include <stddef.h>

#include "astrid/err.h"
#include "astrid/principal.h" /* ASTRID_DEFAULT_PRINCIPAL */

#ifdef __cplusplus
extern "C" {
#endif

/* $ASTRID_HOME if set (must be absolute, no '..' component, non-empty),
 * else $HOME/.astrid (HOME under the same rules). Errors quote upstream:
 * "ASTRID_HOME must be an absolute path", "ASTRID_HOME must not contain '..'
 * path components". */
int astrid_home_resolve(char *out, size_t outsz, astrid_err *err);

/* `home`/`rel` joined (rel is a fixed relative path such as "run/system.sock"). */
int astrid_home_path(char *out, size_t outsz, const char *home, const char *rel, astrid_err *err);

/* home/{principal}/ and etc/profiles/{principal}.toml; `principal` must be a
 * valid principal id (astrid_principal_validate, upstream's messages). */
int astrid_principal_home(char *out, size_t outsz, const char *home, const char *principal,
                          astrid_err *err);
int astrid_profile_path(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err);

/* Create the layout of reference §2.1: etc/ etc/hooks/ var/ run/ log/ keys/
 * bin/ wit/ home/ (0700, root too) and etc/layout-version ("1") if missing. */
int astrid_home_ensure(const char *home, astrid_err *err);

/* Create home/{p}/.local/{kv,log,audit,tmp,tokens,capsules} and
 * home/{p}/.config/env, all 0700. */
int astrid_principal_home_ensure(const char *home, const char *principal, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
