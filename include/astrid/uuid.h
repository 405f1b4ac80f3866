/* UUIDs (libuuid). Text form is the 36-char lowercase hyphenated form.
 * Buffers are caller-owned: ASTRID_UUID_STR_LEN includes the NUL. */
#ifndef ASTRID_UUID_H
#define ASTRID_UUID_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_UUID_STR_LEN 37

/* Random (v4) UUID. */
void astrid_uuid_v4(char out[ASTRID_UUID_STR_LEN]);
/* Name-based (v5, SHA-1) UUID in the URL namespace
 * (6ba7b811-9dad-11d1-80b4-00c04fd430c8): used for stable session names. */
void astrid_uuid_v5_url(char out[ASTRID_UUID_STR_LEN], const char *name, size_t len);
/* True when `s` parses as a UUID (any version, either case). When `canon` is
 * non-NULL the lowercase form is written there. */
bool astrid_uuid_parse(const char *s, char canon[ASTRID_UUID_STR_LEN]);

#ifdef __cplusplus
}
#endif
#endif
