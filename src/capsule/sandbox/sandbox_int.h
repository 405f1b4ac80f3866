/* Internal to src/capsule/sandbox/: shared between bwrap.c and spawn.c. */
#ifndef ASTRID_CAPSULE_SANDBOX_INT_H
#define ASTRID_CAPSULE_SANDBOX_INT_H

#include <limits.h>
#include <stdbool.h>

#include "astrid/err.h"

/* path equals dir or lies below it (both canonical). */
bool astrid_sandbox_path_within(const char *path, const char *dir);

/* Checks a path to bind and writes its realpath to out: absolute, existing,
 * not /, not an ancestor of (or equal to) $HOME or $ASTRID_HOME. */
int astrid_sandbox_check_bind(const char *path, const char *home, const char *astrid_home,
                              char out[PATH_MAX], astrid_err *err);

#endif
