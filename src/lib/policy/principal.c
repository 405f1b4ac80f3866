/* PrincipalId validation with upstream's messages, and the ids federation
 * adds ("alice@B", include/astrid/principal.h). */
#include <stdbool.h>
#include <string.h>

#include "astrid/principal.h"
#include "astrid/utf8.h"

int astrid_principal_validate(const char *id, astrid_err *err)
{
    if (!id || !*id)
        return astrid_err_set(err, ASTRID_E_INVALID, "principal id must not be empty");
    if (strlen(id) > ASTRID_PRINCIPAL_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "principal id exceeds 64 characters");
    for (const char *s = id; *s; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')
            continue;
        /* Name the whole character (upstream prints a Rust char): one byte
         * of a multi-byte sequence would make the message invalid UTF-8,
         * and an error frame carrying it unencodable. Anything that is not
         * printable text is shown escaped, never raw. */
        size_t n = astrid_utf8_seq(s, strlen(s));
        if (n > 1 || (n == 1 && c >= 0x20 && c < 0x7f))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "principal id contains invalid character '%.*s' (allowed: "
                                  "a-z, A-Z, 0-9, -, _)",
                                  (int)n, s);
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "principal id contains invalid character '\\x%02x' (allowed: "
                              "a-z, A-Z, 0-9, -, _)",
                              (unsigned char)c);
    }
    return 0;
}

int astrid_fed_name_validate(const char *what, const char *name, astrid_err *err)
{
    if (!name || !*name)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must not be empty", what);
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) {
            if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "%s contains invalid byte 0x%02x (allowed: a-z, A-Z, 0-9, "
                                      "-, _)",
                                      what, (unsigned char)c);
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s contains invalid character '%c' (allowed: a-z, A-Z, 0-9, "
                                  "-, _)",
                                  what, c);
        }
        if (n >= ASTRID_FED_NAME_MAX)
            return astrid_err_set(err, ASTRID_E_INVALID, "%s exceeds %d characters", what,
                                  ASTRID_FED_NAME_MAX);
    }
    return 0;
}

bool astrid_principal_is_remote(const char *id)
{
    return id && strchr(id, '@') != NULL;
}

int astrid_remote_principal_split(const char *id, char *local, char *host, astrid_err *err)
{
    if (local)
        local[0] = '\0';
    if (host)
        host[0] = '\0';
    const char *at = id ? strchr(id, '@') : NULL;
    if (!at)
        return astrid_err_set(err, ASTRID_E_INVALID, "remote principal '%.200s' has no '@host'",
                              id ? id : "");
    size_t ln = (size_t)(at - id);
    char lp[ASTRID_PRINCIPAL_MAX + 2];
    if (ln > ASTRID_PRINCIPAL_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "principal id exceeds %d characters",
                              ASTRID_PRINCIPAL_MAX);
    memcpy(lp, id, ln);
    lp[ln] = '\0';
    if (astrid_principal_validate(lp, err) != 0)
        return -1;
    if (astrid_fed_name_validate("host name", at + 1, err) != 0)
        return -1;
    if (local)
        memcpy(local, lp, ln + 1);
    if (host)
        memcpy(host, at + 1, strlen(at + 1) + 1);
    return 0;
}

int astrid_remote_principal_validate(const char *id, astrid_err *err)
{
    return astrid_remote_principal_split(id, NULL, NULL, err);
}

int astrid_profile_principal_validate(const char *id, astrid_err *err)
{
    if (astrid_principal_is_remote(id))
        return astrid_remote_principal_validate(id, err);
    return astrid_principal_validate(id, err);
}
