/* Capability grammar fuzzer: validate and match never crash; a valid cap
 * matches itself; `*` matches every valid cap. Input: "pattern\ncap". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *cap = strchr(buf, '\n');
    if (cap)
        *cap++ = '\0';
    else
        cap = buf;
    char msg[300];
    int pv = astrid_cap_validate(buf, msg, sizeof msg);
    int cv = astrid_cap_validate(cap, msg, sizeof msg);
    bool m = astrid_cap_matches(buf, cap);
    if (pv == 0 && !astrid_cap_matches(buf, buf))
        abort();
    if (cv == 0 && (!astrid_cap_matches("*", cap) || !astrid_cap_matches(cap, cap)))
        abort();
    /* A literal (star-free) valid pattern matches only the identical cap. */
    if (pv == 0 && cv == 0 && !strchr(buf, '*') && m != (strcmp(buf, cap) == 0))
        abort();
    free(buf);
    return 0;
}
