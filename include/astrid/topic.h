/* Topic rules and upstream's two matchers (reference §4.4).
 *
 * - astrid_topic_matches: interceptors, hooks, publish/subscribe ACLs.
 *   Segment counts must be equal; a '*' segment matches exactly one segment.
 * - astrid_topic_sub_matches_bus: bus subscriptions. A trailing ".*" matches
 *   ONE OR MORE further segments; an inner '*' exactly one; otherwise as above.
 *   Topics with more than 20 segments never match (upstream receivers ignore
 *   them).
 * Both return false when either side has an empty segment.
 */
#ifndef ASTRID_TOPIC_H
#define ASTRID_TOPIC_H

#include <stdbool.h>

#include "astrid/err.h"

#define ASTRID_TOPIC_MAX_BYTES 256
#define ASTRID_TOPIC_MAX_SEGMENTS 8

typedef enum astrid_topic_kind {
    ASTRID_TOPIC_PUBLISH,   /* no wildcard at all */
    ASTRID_TOPIC_SUBSCRIBE, /* only a trailing ".*" */
    ASTRID_TOPIC_PATTERN,   /* '*' as any whole segment (interceptors, ACLs) */
} astrid_topic_kind;

/* <= 256 bytes, <= 8 segments, no empty segment, wildcard placement per kind. */
int astrid_topic_check(const char *topic, astrid_topic_kind kind, astrid_err *err);

bool astrid_topic_matches(const char *topic, const char *pattern);
bool astrid_topic_sub_matches_bus(const char *topic, const char *pattern);

/* Private delivery (docs/wire.md "Private delivery"): topics whose messages
 * reach only their addressee, never a subscription, a capsule or an
 * interceptor, whatever pattern or capability they hold.
 *  - PRIVATE_OUT: kernel -> one connection or principal (replies,
 *    approval/elicit/onboarding prompts). Only the kernel publishes there.
 *  - PRIVATE_IN: a client's answer to such a prompt
 *    (astrid.v1.{approval,elicit}.response.*). Clients may publish it (open
 *    ingress), capsules may not; only the kernel's own consumers read it. */
typedef enum astrid_topic_privacy {
    ASTRID_TOPIC_PUBLIC = 0,
    ASTRID_TOPIC_PRIVATE_OUT,
    ASTRID_TOPIC_PRIVATE_IN,
} astrid_topic_privacy;
astrid_topic_privacy astrid_topic_privacy_of(const char *topic);

#endif
