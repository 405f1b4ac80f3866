/* astrid-build subcommands. Each takes argv with argv[0] = the verb name,
 * prints to stdout/stderr, and returns the process exit code. */
#ifndef ASTRID_BUILD_CMDS_H
#define ASTRID_BUILD_CMDS_H

/* `astrid-build hash [--no-names] [-l LEN] [--raw] [--keyed] [--derive-key CTX] FILE...`:
 * BLAKE3 sums printed exactly as Debian's b3sum 1.2.0 prints them. */
int astrid_build_cmd_hash(int argc, char **argv);

#endif
