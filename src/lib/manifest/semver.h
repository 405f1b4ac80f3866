/* Semantic versions (semver.org 2.0) and Cargo-style version requirements,
 * for Capsule.toml: package.version, package.astrid-version, [imports]
 * requirements and [exports] versions (reference §6.4, §6.5).
 *
 * Requirements are comma-joined comparators, each `OP VERSION` with OP one
 * of = > >= < <= ~ ^ (none = ^) and VERSION possibly partial (1, 1.2) or
 * a wildcard (*, 1.*, 1.2.*), with Cargo's meaning: ^1.2.3 = >=1.2.3,<2.0.0;
 * ^0.2.3 = >=0.2.3,<0.3.0; ^0.0.3 = =0.0.3; ~1.2 = >=1.2.0,<1.3.0;
 * =1.2 = >=1.2.0,<1.3.0; >1.2 = >=1.3.0; <=1.2 = <1.3.0. A pre-release
 * version matches only a comparator naming the same major.minor.patch with
 * a pre-release (as Cargo).
 *
 * Nothing here allocates; errors name the offending text.
 */
#ifndef ASTRID_LIB_MANIFEST_SEMVER_H
#define ASTRID_LIB_MANIFEST_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include "astrid/err.h"

typedef struct astrid_semver {
    uint64_t major, minor, patch;
    char pre[128]; /* pre-release identifiers, "" when none (build metadata dropped) */
} astrid_semver;

/* A full MAJOR.MINOR.PATCH[-pre][+build]; no leading zeros, no spaces. */
int astrid_semver_parse(const char *s, astrid_semver *out, astrid_err *err);
/* <0, 0, >0 by semver precedence. */
int astrid_semver_cmp(const astrid_semver *a, const astrid_semver *b);
/* Validate a requirement; with `version` non-NULL also say whether it
 * matches (*matches). */
int astrid_semver_req(const char *req, const astrid_semver *version, bool *matches,
                      astrid_err *err);

/* Does `version` (strict semver) satisfy the requirement `req`? False
 * when either does not parse. */
bool astrid_semver_matches(const char *req, const char *version);

#endif
