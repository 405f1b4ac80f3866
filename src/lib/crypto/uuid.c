#include "astrid/uuid.h"

#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>

void astrid_uuid_v4(char out[ASTRID_UUID_STR_LEN])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

void astrid_uuid_v5_url(char out[ASTRID_UUID_STR_LEN], const char *name, size_t len)
{
    uuid_t ns;
    uuid_t u;
    /* RFC 4122 Appendix C NameSpace_URL. */
    uuid_parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8", ns);
    uuid_generate_sha1(u, ns, name, len);
    uuid_unparse_lower(u, out);
}

bool astrid_uuid_parse(const char *s, char canon[ASTRID_UUID_STR_LEN])
{
    if (strlen(s) != 36)
        return false;
    uuid_t u;
    if (uuid_parse(s, u) != 0)
        return false;
    if (canon)
        uuid_unparse_lower(u, canon);
    return true;
}
