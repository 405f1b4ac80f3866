/* PrincipalId validation with upstream's messages. */
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
