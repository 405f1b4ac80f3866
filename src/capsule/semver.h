/* Does `version` (an exact x.y.z) satisfy the semver requirement `req`?
 * Cargo's reading: a bare "1.2" is ^1.2; ^, ~, =, >, >=, <, <= and x and *
 * wildcards; comma-separated comparators all apply; "*" matches any. A
 * -pre/+build tail is ignored. An unparsable requirement or version
 * matches nothing (fail closed). */
#ifndef ASTRID_CAPSULE_SEMVER_H
#define ASTRID_CAPSULE_SEMVER_H

#include <stdbool.h>

bool astrid_semver_matches(const char *req, const char *version);

#endif
