/* Splitting wasm2c 1.0.32's one output file into several translation units
 * so a large module's C compiles on every core (Debian's wasm2c has no
 * --num-outputs). aot.c calls it on the patched module.c.
 *
 * Each part repeats wasm2c's prelude (macros, static inline helpers: no
 * state) and a block of shared declarations; part 0 keeps everything that is
 * not a function body (segments, init code), the function bodies are dealt
 * out in order by size, each export's wrapper with the function it calls. What crosses parts — the guest functions,
 * func_types and the data/element segments — loses `static` and becomes
 * hidden (visibility("hidden")): one definition, invisible outside the .so,
 * so two loaded modules never see each other's symbols. Output the splitter
 * does not recognise, a static object in the prelude, or a part that would
 * use a static left in part 0 makes it decline (the caller compiles the one
 * file as before), never emit something that might link wrongly. */
#ifndef ASTRID_CAPSULE_WASM_W2C_SPLIT_H
#define ASTRID_CAPSULE_WASM_W2C_SPLIT_H

#include <stddef.h>

#include "astrid/err.h"

/* Split `dir`/module.c into `dir`/module_0.c .. module_<n-1>.c with
 * n <= max_parts, each part holding at least min_part_bytes of function
 * bodies (so small modules stay whole). Returns n (1: not split, module.c
 * is the only unit and nothing was written) or -1 with err (I/O). */
int astrid_w2c_split(const char *dir, int max_parts, size_t min_part_bytes, astrid_err *err);

#endif
