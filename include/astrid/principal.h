/* PrincipalId: 1-64 chars of [A-Za-z0-9_-]. Plain strings; no ownership. */
#ifndef ASTRID_PRINCIPAL_H
#define ASTRID_PRINCIPAL_H
#include "astrid/err.h"
#ifdef __cplusplus
extern "C" {
#endif
#define ASTRID_PRINCIPAL_MAX 64
/* The bootstrap principal. */
#define ASTRID_DEFAULT_PRINCIPAL "default"
/* 0 when valid; -1 with upstream's message ("principal id must not be empty",
 * "principal id exceeds 64 characters", "principal id contains invalid
 * character 'c' (allowed: a-z, A-Z, 0-9, -, _)") and ASTRID_E_INVALID. */
int astrid_principal_validate(const char *id, astrid_err *err);
#ifdef __cplusplus
}
#endif
#endif
