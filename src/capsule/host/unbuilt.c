/* Host functions whose machinery later issues build. Each is present, so
 * capsules importing it load, and answers result::err naming what is
 * missing: never a fake success. ASTRID_HOST_UNAVAILABLE (host_glue.h)
 * also lists them in astrid_glue_funcs[i]->unavailable. */
#include "host_glue.h"

#define W_ELI "elicit: interactive install prompts are not built yet"
#define W_SEC "has-secret is not built yet"
#define W_APP "request-approval: the approval flow is not built yet"

ASTRID_HOST_UNAVAILABLE(elicit_elicit, W_ELI)
ASTRID_HOST_UNAVAILABLE(elicit_has_secret, W_SEC)
ASTRID_HOST_UNAVAILABLE(approval_request_approval, W_APP)
