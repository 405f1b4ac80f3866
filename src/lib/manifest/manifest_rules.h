/* The Capsule.toml rules of reference §6.4 that check the TOML tree rather
 * than fill the manifest (manifest_rules.c): astrid-version, package
 * version, [imports]/[exports] names and versions, [[topic]], and the
 * fail-closed checks of this implementation (capabilities.identity
 * entries, [[uplink]] profiles, [[tool]] fields). Internal to
 * src/capsule/. */
#ifndef ASTRID_LIB_MANIFEST_MANIFEST_RULES_H
#define ASTRID_LIB_MANIFEST_MANIFEST_RULES_H

#include "astrid/err.h"
#include "astrid/toml.h"
#include "lib/manifest/manifest.h"

/* 0, or -1 with an ASTRID_E_INVALID message "ORIGIN: FIELD: reason". */
int astrid_manifest_check_rules(const astrid_manifest *m, const astrid_toml *root,
                                const char *origin, astrid_err *err);

#endif
