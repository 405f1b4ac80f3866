/* astrid-witgen: host glue and guest import declarations generated from
 * a WIT package (docs/abi.md "Generated glue"). Built before everything
 * else from src/witgen/ and libastrid only (it makes sources of
 * libastrid-capsule, so it cannot link that).
 *
 * Ownership: the three texts in astrid_witgen_out are malloc'd; free them
 * with astrid_witgen_out_free. */
#ifndef ASTRID_WITGEN_H
#define ASTRID_WITGEN_H

#include <stddef.h>

#include "astrid/err.h"

typedef struct astrid_witgen_out {
    char *glue_h;  /* host_glue.h: C types, hand-written prototypes, tables */
    char *glue_c;  /* host_glue.c: descriptors and wasm2c-named wrappers */
    char *imports; /* sdk/astrid_imports.h: the guest's import declarations */
} astrid_witgen_out;

/* Generate from WIT text. `glue` names the interfaces whose host
 * functions are implemented through the generated wrappers (the rest
 * still have hand-written wasm2c-named bodies); NULL/0 = all. `path` is
 * for messages. */
int astrid_witgen(const char *wit, size_t len, const char *path, const char *const *glue,
                  size_t nglue, astrid_witgen_out *out, astrid_err *err);
void astrid_witgen_out_free(astrid_witgen_out *out);

#endif
