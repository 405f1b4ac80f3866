/* astrid-daemon — the kernel. Entry point until the Kernel issue lands. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "astrid-daemon: the kernel is not built yet (Kernel issue)\n");
    return 2;
}
