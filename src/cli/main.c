/* astrid — the operator CLI. Everything lives in the command table. */
#include <stdio.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc - 1, argv + 1, stdout, stderr);
}
