/* astrid-build — builds capsules and prints BLAKE3 hashes. */
#include <stdio.h>
#include <string.h>

#include "build/build_cmds.h"
#include "capsule/install.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hash") == 0)
        return astrid_build_cmd_hash(argc - 1, argv + 1);
    /* Hidden: the daemon's installer (InstallCapsule, UpdateCapsule)
     * unpacks archives through this child, so libarchive parses hostile
     * archives in a process that holds no key, and astrid-daemon does not
     * link it. */
    if (argc == 4 && strcmp(argv[1], "unpack") == 0) {
        astrid_err err;
        if (astrid_capsule_unpack(argv[2], argv[3], &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        return 0;
    }
    /* `astrid-build build [PATH]` is accepted as a synonym of `astrid-build [PATH]`. */
    if (argc >= 2 && strcmp(argv[1], "build") == 0)
        return astrid_build_cmd_build(argc - 1, argv + 1);
    return astrid_build_cmd_build(argc, argv);
}
