/* astrid-build subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code. */
#ifndef ASTRID_BUILD_CMDS_H
#define ASTRID_BUILD_CMDS_H

int astrid_build_cmd_hash(int argc, char **argv);

#endif
