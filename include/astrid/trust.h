/* Placeholder of the contract's trust table API (TRUST's branch owns this
 * header; the merge takes theirs). */
#ifndef ASTRID_TRUST_H
#define ASTRID_TRUST_H
#include <stdint.h>

#include "astrid/err.h"

typedef struct astrid_trust astrid_trust;
int astrid_trust_load(const char *home, astrid_trust **out, astrid_err *err);
int astrid_trust_lookup(const astrid_trust *t, const char *host, uint8_t pk[32]);
void astrid_trust_free(astrid_trust *t);
#endif
