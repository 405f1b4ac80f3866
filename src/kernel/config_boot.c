/* The layered configuration at boot (docs/config.md): loaded once, first,
 * so a bad file or a loosening workspace refuses boot before anything is
 * created; kept read-only in the kernel struct (k->config). */
#include "astrid/home.h"
#include "kernel/kernel.h"
#include "lib/config/config.h"

int astrid_kernel_config_load(astrid_kernel *k, astrid_err *err)
{
    char home[PATH_MAX];
    if (astrid_home_resolve(home, sizeof home, err) != 0)
        return -1;
    astrid_config_paths p;
    astrid_config_pathbuf buf;
    if (astrid_config_default_paths(&p, &buf, home, k->workspace, err) != 0)
        return astrid_err_prefix(err, "refusing to boot");
    k->config = astrid_config_load(&p, err);
    if (!k->config)
        return astrid_err_prefix(err, "refusing to boot");
    return 0;
}
