/* astrid-build — builds capsules and prints BLAKE3 hashes. */
#include <stdio.h>
#include <string.h>

#include "astrid/version.h"
#include "build/build_cmds.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: astrid-build <COMMAND> [ARGS]\n\n"
               "Commands:\n"
               "  hash FILE...    print BLAKE3 sums (same output as b3sum)\n"
               "  build [PATH]    build a capsule (not available yet)\n"
               "  version         print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "hash") == 0)
        return astrid_build_cmd_hash(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("astrid-build %s\n", astrid_version());
        return 0;
    }
    if (strcmp(argv[1], "build") == 0) {
        fprintf(stderr, "astrid-build: 'build' is not available in this release "
                        "(needs the C guest SDK: WebAssembly engine issue)\n");
        return 2;
    }
    fprintf(stderr, "astrid-build: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
