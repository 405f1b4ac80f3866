/* PrincipalId validation with upstream's messages. */
#include <string.h>

#include "astrid/principal.h"

int astrid_principal_validate(const char *id, astrid_err *err)
{
    if (!id || !*id)
        return astrid_err_set(err, ASTRID_E_INVALID, "principal id must not be empty");
    if (strlen(id) > ASTRID_PRINCIPAL_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "principal id exceeds 64 characters");
    for (const char *s = id; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "principal id contains invalid character '%c' (allowed: a-z, "
                                  "A-Z, 0-9, -, _)",
                                  c);
    }
    return 0;
}
