/* Shared helpers for the wasm engine tests: WAT -> wasm via wat2wasm and a
 * scratch engine. Header-only so each cmocka program stays one file. */
#ifndef ASTRID_TEST_WASM_UTIL_H
#define ASTRID_TEST_WASM_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "capsule/wasm/engine.h"
#include "fixture.h"

static char wt_dir[256];

static int wt_setup_dir(void)
{
    return fixture_tmpdir(wt_dir, sizeof wt_dir, "wasm");
}

static void wt_rm_dir(void)
{
    if (fixture_rmdir(wt_dir) != 0)
        fprintf(stderr, "cannot remove %s\n", wt_dir);
}

/* Assemble WAT text (or a .wat file when `is_file`) into malloc'd bytes. */
static uint8_t *wt_wat(const char *src, int is_file, size_t *len)
{
    static int seq;
    char in[512], out[512], cmd[1200];
    if (is_file) {
        snprintf(in, sizeof in, "%s", src);
    } else {
        snprintf(in, sizeof in, "%s/in%d.wat", wt_dir, seq);
        if (astrid_atomic_write(in, src, strlen(src), 0600, NULL) < 0)
            return NULL;
    }
    snprintf(out, sizeof out, "%s/out%d.wasm", wt_dir, seq++);
    snprintf(cmd, sizeof cmd, "wat2wasm --no-check '%s' -o '%s'", in, out);
    if (system(cmd) != 0)
        return NULL;
    char *buf;
    if (astrid_read_file(out, 1u << 30, &buf, len, NULL) < 0)
        return NULL;
    return (uint8_t *)buf;
}

static astrid_wasm_engine *wt_engine(const astrid_wasm_host_module *hosts, size_t nhosts)
{
    char cache[300];
    snprintf(cache, sizeof cache, "%s/aot", wt_dir);
    astrid_wasm_engine_config cfg = {
        .cache_dir = cache, .opt_level = 1, .host_modules = hosts, .nhost_modules = nhosts};
    astrid_err err = {0};
    astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
    if (!e)
        fprintf(stderr, "engine: %s\n", err.msg);
    return e;
}

__attribute__((unused)) static astrid_wasm_module *wt_load(astrid_wasm_engine *e, const char *src,
                                                           astrid_err *err)
{
    size_t len = 0;
    uint8_t *w = wt_wat(src, 0, &len);
    if (!w)
        return NULL;
    astrid_wasm_module *m = astrid_wasm_module_load(e, w, len, NULL, NULL, err);
    free(w);
    return m;
}

#endif
