/* astrid-witgen: generate the host glue and the guest import
 * declarations from a WIT file (docs/abi.md "Generated glue"). Run by the
 * Makefile before anything is compiled:
 *
 *   astrid-witgen WIT OUTDIR
 *
 * writes OUTDIR/host_glue.h, OUTDIR/host_glue.c, OUTDIR/sdk/astrid_imports.h
 * and OUTDIR/sdk_imports.c (the same header as a string, for
 * astrid-build), each only when its text changed (so a rebuilt generator
 * does not recompile everything). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "astrid/wit.h"
#include "witgen/witgen.h"

static int usage(void)
{
    fprintf(stderr, "usage: astrid-witgen WIT OUTDIR\n");
    return 2;
}

/* Write unless the file already holds exactly this text. */
static int put(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = strlen(text), old_len = 0;
    char *old = NULL;
    astrid_err err;
    int same = astrid_read_file(path, len + 1, &old, &old_len, &err) == 0 && old_len == len &&
               memcmp(old, text, len) == 0;
    free(old);
    if (same)
        return 0;
    if (astrid_atomic_write(path, text, len, 0644, &err) != 0) {
        fprintf(stderr, "astrid-witgen: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    const char *wit = argv[1], *dir = argv[2];
    size_t len = 0;
    char *text = NULL;
    astrid_err err;
    if (astrid_read_file(wit, ASTRID_WIT_MAX_INPUT, &text, &len, &err) != 0) {
        fprintf(stderr, "astrid-witgen: %s\n", err.msg);
        return 1;
    }
    astrid_witgen_out o;
    int rc = astrid_witgen(text, len, wit, &o, &err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "astrid-witgen: %s\n", err.msg);
        return 1;
    }
    char sdk[4096];
    snprintf(sdk, sizeof sdk, "%s/sdk", dir);
    if (astrid_mkdir_p(sdk, 0755, 0, &err) != 0) {
        fprintf(stderr, "astrid-witgen: %s\n", err.msg);
        astrid_witgen_out_free(&o);
        return 1;
    }
    rc = put(dir, "host_glue.h", o.glue_h) || put(dir, "host_glue.c", o.glue_c) ||
         put(dir, "sdk/astrid_imports.h", o.imports) || put(dir, "sdk_imports.c", o.imports_c);
    astrid_witgen_out_free(&o);
    return rc ? 1 : 0;
}
