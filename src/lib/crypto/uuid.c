#include "astrid/uuid.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <uuid/uuid.h>

/* Version-4 UUIDs are minted for every audit entry and bus connection.
 * libuuid's uuid_generate_random makes several system calls per UUID
 * (getrandom plus getpid/getuid/getppid mixing), which dominated the audit
 * append path; instead each thread draws CSPRNG bytes from libsodium 4 KiB
 * at a time. The buffer is per thread, and a fork child (whose only thread
 * is the forking one) discards it, so no two processes share bytes. */
#define UUID_POOL 4096
static _Thread_local struct {
    unsigned char buf[UUID_POOL];
    size_t used; /* == UUID_POOL when empty */
    bool init;
} pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_discard(void)
{
    sodium_memzero(pool.buf, sizeof pool.buf);
    pool.used = UUID_POOL;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_discard);
}

void astrid_uuid_v4(char out[ASTRID_UUID_STR_LEN])
{
    pthread_once(&atfork_once, register_atfork);
    if (!pool.init) {
        pool.used = UUID_POOL;
        pool.init = true;
    }
    if (pool.used + 16 > UUID_POOL) {
        randombytes_buf(pool.buf, sizeof pool.buf);
        pool.used = 0;
    }
    uuid_t u = {0};
    memcpy(u, pool.buf + pool.used, 16);
    sodium_memzero(pool.buf + pool.used, 16);
    pool.used += 16;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
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
