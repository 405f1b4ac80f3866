/* Host allow-lists and the SSRF address filter (netpolicy.h). */
#include "capsule/netpolicy.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

bool astrid_net_host_listed(char *const *list, size_t n, const char *host)
{
    size_t hl = strlen(host);
    if (hl && host[hl - 1] == '.')
        hl--;
    if (!hl)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *e = list[i];
        size_t el = strlen(e);
        if (strcmp(e, "*") == 0)
            return true;
        if (!el)
            continue;
        if (hl == el && strncasecmp(host, e, el) == 0)
            return true;
        /* A suffix match must start at a label boundary: "evilexample.com"
         * is not under "example.com". */
        if (hl > el + 1 && host[hl - el - 1] == '.' && strncasecmp(host + hl - el, e, el) == 0)
            return true;
    }
    return false;
}

static bool v4_private(uint32_t a)
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
    return b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224 /* multicast, 240/4, 255/8 */ ||
           (b0 == 100 && (b1 & 0xc0) == 64) || (b0 == 169 && b1 == 254) ||
           (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168);
}

bool astrid_net_addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_private(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return true;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero12[12] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96 */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero12, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        /* ::/128 and ::1 fall in 0/8 once unwrapped. */
        return v4_private(a);
    }
    return b[0] == 0xff /* multicast */ || (b[0] & 0xfe) == 0xfc /* fc00::/7 */ ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */;
}
