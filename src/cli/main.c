/* astrid — the operator CLI. Minimal entry until the CLI frame lands. */
#include <stdio.h>
#include <string.h>

#include "astrid/version.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("astrid %s\n", astrid_version());
        return 0;
    }
    fprintf(stderr, "astrid: command '%s' is not built yet (CLI frame: Kernel issue)\n",
            argc >= 2 ? argv[1] : "");
    return 2;
}
