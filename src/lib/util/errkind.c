/* Error kinds of request replies (contract in astrid/errkind.h). */
#include "astrid/errkind.h"

#include <string.h>

static const char *const kind_names[ASTRID_ERRKIND_COUNT] = {
    [ASTRID_KIND_INTERNAL] = "internal",   [ASTRID_KIND_PERMISSION_DENIED] = "permission_denied",
    [ASTRID_KIND_NOT_FOUND] = "not_found", [ASTRID_KIND_INVALID] = "invalid",
    [ASTRID_KIND_CONFLICT] = "conflict",   [ASTRID_KIND_UNAVAILABLE] = "unavailable",
};

const char *astrid_errkind_name(astrid_errkind kind)
{
    if ((unsigned)kind >= ASTRID_ERRKIND_COUNT)
        return kind_names[ASTRID_KIND_INTERNAL];
    return kind_names[kind];
}

int astrid_errkind_parse(const char *name, astrid_errkind *out)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < ASTRID_ERRKIND_COUNT; i++)
        if (strcmp(kind_names[i], name) == 0) {
            *out = (astrid_errkind)i;
            return 0;
        }
    return -1;
}

astrid_errkind astrid_errkind_of(astrid_errcode code)
{
    switch (code) {
    case ASTRID_E_PERM:
        return ASTRID_KIND_PERMISSION_DENIED;
    case ASTRID_E_NOTFOUND:
        return ASTRID_KIND_NOT_FOUND;
    case ASTRID_E_INVALID:
    case ASTRID_E_PARSE:
    case ASTRID_E_LIMIT:
        return ASTRID_KIND_INVALID;
    case ASTRID_E_EXISTS:
        return ASTRID_KIND_CONFLICT;
    case ASTRID_E_UNSUPPORTED:
        return ASTRID_KIND_UNAVAILABLE;
    default:
        /* IO, crypto, memory, timeouts and codes added later: the daemon's
         * own failure until someone decides otherwise. */
        return ASTRID_KIND_INTERNAL;
    }
}

astrid_errcode astrid_errkind_code(astrid_errkind kind)
{
    switch (kind) {
    case ASTRID_KIND_PERMISSION_DENIED:
        return ASTRID_E_PERM;
    case ASTRID_KIND_NOT_FOUND:
        return ASTRID_E_NOTFOUND;
    case ASTRID_KIND_INVALID:
        return ASTRID_E_INVALID;
    case ASTRID_KIND_CONFLICT:
        return ASTRID_E_EXISTS;
    case ASTRID_KIND_UNAVAILABLE:
        return ASTRID_E_UNSUPPORTED;
    default:
        return ASTRID_E_INTERNAL;
    }
}
