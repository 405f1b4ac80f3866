/* Host functions whose machinery later issues build. Each is present, so
 * capsules importing it load, and answers result::err naming what is
 * missing: never a fake success. ASTRID_HOST_UNAVAILABLE (host_glue.h)
 * also lists them in astrid_glue_funcs[i]->unavailable. */
#include "host_glue.h"

#define W_PROC "process: native sandboxed processes (bubblewrap) are not built yet"

ASTRID_HOST_UNAVAILABLE(process_spawn, W_PROC)
ASTRID_HOST_UNAVAILABLE(process_spawn_background, W_PROC)
ASTRID_HOST_UNAVAILABLE(process_read_logs, W_PROC)
ASTRID_HOST_UNAVAILABLE(process_kill, W_PROC)
