/* astrid-build — builds capsules and prints BLAKE3 hashes. */
#include <stdio.h>
#include <string.h>

#include "build/build_cmds.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hash") == 0)
        return astrid_build_cmd_hash(argc - 1, argv + 1);
    if (argc < 2) {
        fputs("usage: astrid-build <hash|build> ...\n", stderr);
        return 2;
    }
    fprintf(stderr, "astrid-build: '%s' is not built yet (WebAssembly engine issue)\n", argv[1]);
    return 2;
}
