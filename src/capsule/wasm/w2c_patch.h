/* Repairs applied to wasm2c's generated C before compiling (see
 * w2c_patch.c for what and why). Internal to src/capsule/wasm/. */
#ifndef ASTRID_CAPSULE_WASM_W2C_PATCH_H
#define ASTRID_CAPSULE_WASM_W2C_PATCH_H

#include "astrid/err.h"

/* Rewrite the wasm2c output file at `path` in place (atomically). 0, or -1
 * with err when the output is not in the shape this repair knows (the
 * module is then refused rather than compiled with the defect). */
int astrid_w2c_patch(const char *path, astrid_err *err);

#endif
