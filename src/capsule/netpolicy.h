/* The two network gates a capsule's HTTP passes before any connection
 * (reference §5.2 http): the host allow-list (the manifest's `net`, the
 * principal's egress) and the SSRF address filter. Pure functions, no I/O. */
#ifndef ASTRID_CAPSULE_NETPOLICY_H
#define ASTRID_CAPSULE_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Does a list name `host`? An entry is "*" (any host), an exact host, or
 * a domain whose subdomains it covers ("example.com" allows
 * "api.example.com"). Case-insensitive; a trailing dot on host is
 * ignored; an empty list allows nothing. */
bool astrid_net_host_listed(char *const *list, size_t n, const char *host);

/* Is the address one a capsule may never reach: loopback, unspecified,
 * multicast, broadcast, IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.168/16, 255/8, IPv6 fc00::/7, fe80::/10 (IPv4-mapped,
 * -compatible and NAT64 64:ff9b::/96 IPv6 unwrapped first)? Unknown families count as private. */
bool astrid_net_addr_private(const struct sockaddr *sa);

#endif
