/* PrincipalId: 1-64 chars of [A-Za-z0-9_-]; and federation's remote ids
 * "<id>@<host>". Plain strings; no ownership. */
#ifndef ASTRID_PRINCIPAL_H
#define ASTRID_PRINCIPAL_H
#include <stdbool.h>

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

#define ASTRID_FED_NAME_MAX 63 /* host and lattice names: [A-Za-z0-9_-]{1,63} */
/* Host and lattice names go into NATS subjects (astrid.<lattice>.@<host>.…)
 * and into remote principal ids (alice@<host>): 1-63 of [A-Za-z0-9_-], so
 * neither a '.' nor a wildcard nor an '@' can change what they address.
 * `what` names the field in the message ("host name", "lattice name"). */
int astrid_fed_name_validate(const char *what, const char *name, astrid_err *err);

/* Remote principal ids, "<local-id>@<host>": the principal as on its origin
 * (astrid_principal_validate) and a host name (astrid_fed_name_validate).
 * At most ASTRID_REMOTE_PRINCIPAL_MAX bytes. A remote id has no home on this
 * host: it is valid only where authz names a principal (profiles, mappings),
 * never for homes, agents or keys. */
#define ASTRID_REMOTE_PRINCIPAL_MAX (64 + 1 + ASTRID_FED_NAME_MAX)
bool astrid_principal_is_remote(const char *id);
/* Where a profile is meant (etc/profiles/{p}.toml, the profile cache):
 * a local id (astrid_principal_validate) or a remote one. */
int astrid_profile_principal_validate(const char *id, astrid_err *err);
int astrid_remote_principal_validate(const char *id, astrid_err *err);
/* Split "alice@B": local part into `local` (ASTRID_PRINCIPAL_MAX + 1 bytes),
 * host into `host` (ASTRID_FED_NAME_MAX + 1 bytes). Validates. */
int astrid_remote_principal_split(const char *id, char *local, char *host, astrid_err *err);
#ifdef __cplusplus
}
#endif
#endif
