/* A throw-away KV store for the store's unit tests: <tmpdir>/state.db with
 * the 64 MiB map the tests use. The caller owns `dir` (filled in here) and
 * `*kv` (closed and NULLed by fixture_kv_close, which removes the dir). */
#ifndef ASTRID_TEST_FIXTURE_KV_H
#define ASTRID_TEST_FIXTURE_KV_H

#include "fixture.h"
#include "store/kv.h"

static inline int fixture_kv_open(char *dir, size_t n, const char *tag, astrid_kv **kv)
{
    if (fixture_tmpdir(dir, n, tag) != 0)
        return -1;
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", dir);
    return astrid_kv_open(kv, db, 64u << 20, NULL);
}

static inline int fixture_kv_close(const char *dir, astrid_kv **kv)
{
    astrid_kv_close(*kv);
    *kv = NULL;
    return fixture_rmdir(dir);
}

#endif
