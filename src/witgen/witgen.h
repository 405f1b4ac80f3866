/* astrid-witgen: host glue and guest import declarations generated from
 * a WIT package (docs/abi.md "Generated glue"). Built before everything
 * else from src/witgen/ and libastrid only (it makes sources of
 * libastrid-capsule, so it cannot link that).
 *
 * Ownership: the four texts in astrid_witgen_out are malloc'd; free them
 * with astrid_witgen_out_free. */
#ifndef ASTRID_WITGEN_H
#define ASTRID_WITGEN_H

#include <stddef.h>

#include "astrid/err.h"

typedef struct astrid_witgen_out {
    char *glue_h;    /* host_glue.h: C types, hand-written prototypes, tables */
    char *glue_c;    /* host_glue.c: descriptors and wasm2c-named wrappers */
    char *imports;   /* sdk/astrid_imports.h: the guest's import declarations */
    char *imports_c; /* sdk_imports.c: `imports` as astrid_sdk_imports_h[] (astrid-build) */
} astrid_witgen_out;

/* Generate from WIT text; `path` names it in messages and comments. */
int astrid_witgen(const char *wit, size_t len, const char *path, astrid_witgen_out *out,
                  astrid_err *err);
void astrid_witgen_out_free(astrid_witgen_out *out);

#endif
