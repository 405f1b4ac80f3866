#include "astrid/version.h"

const char *astrid_version(void)
{
    return ASTRID_VERSION;
}
