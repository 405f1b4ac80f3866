/* Version of this build (from the VERSION file at the repository root). */
#ifndef ASTRID_VERSION_H
#define ASTRID_VERSION_H

#define ASTRID_VERSION "0.6.0"
/* Wire protocol version the daemon and CLI speak in the auth frame. */
#define ASTRID_PROTOCOL_VERSION 1

const char *astrid_version(void);

#endif
