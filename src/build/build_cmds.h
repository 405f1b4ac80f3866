/* astrid-build subcommands. Each takes argv with argv[0] = the verb name,
 * prints to stdout/stderr, and returns the process exit code. */
#ifndef ASTRID_BUILD_CMDS_H
#define ASTRID_BUILD_CMDS_H

#include "astrid/err.h"

/* `astrid-build hash [--no-names] [-l LEN] [--raw] [--keyed] [--derive-key CTX] FILE...`:
 * BLAKE3 sums printed exactly as Debian's b3sum 1.2.0 prints them. */
int astrid_build_cmd_hash(int argc, char **argv);

/* `astrid-build [PATH] [-o DIR] [--sdk DIR]` (build.c). */
int astrid_build_cmd_build(int argc, char **argv);

/* The guest's import declarations (astrid_imports.h), generated from
 * wit/astrid.wit at build time ($(BUILD)/gen/sdk_imports.c): every capsule
 * is compiled against the ones of the daemon built with it, whichever SDK
 * directory it uses. */
extern const char astrid_sdk_imports_h[];

/* Write the .capsule archive `out` (atomically: out.tmp then rename).
 * `astrid_wit` may be NULL/"" (then no wit/deps/astrid). (pack.c) */
int astrid_build_pack(const char *capsule_dir, const char *wasm_path, const char *wasm_name,
                      const char *astrid_wit, const char *out, astrid_err *err);

#endif
