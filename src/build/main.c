/* astrid-build — builds capsules and prints BLAKE3 hashes. */
#include <stdio.h>
#include <string.h>

#include "build/build_cmds.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hash") == 0)
        return astrid_build_cmd_hash(argc - 1, argv + 1);
    /* `astrid-build build [PATH]` is accepted as a synonym of `astrid-build [PATH]`. */
    if (argc >= 2 && strcmp(argv[1], "build") == 0)
        return astrid_build_cmd_build(argc - 1, argv + 1);
    return astrid_build_cmd_build(argc, argv);
}
