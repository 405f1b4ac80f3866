/* astrid-build — builds capsules and prints BLAKE3 hashes. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "astrid-build: not built yet\n");
    return 2;
}
