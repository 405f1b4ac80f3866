/* trigger-hook (reference §5.2 sys): a capsule asks every *other* loaded
 * capsule with an interceptor matching a hook topic for its answer. The bus
 * fans the message out (astrid_bus_fanout: each interceptor gets the
 * original payload; run-loop capsules are not interceptors, so they are
 * skipped, as upstream), and the JSON bodies of Continue/Final answers are
 * collected into a JSON array.
 *
 * The hooked capsules run as the triggering invocation's principal, not as
 * their owners (upstream passes no caller, so its hooks run as the owner:
 * an agent could reach the owner's data through another capsule). Hooks
 * may trigger hooks up to HOOK_DEPTH_MAX deep. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/jsonsafe.h"
#include "astrid/topic.h"
#include "kernel/capsule_rt.h"

#define HOOK_DEPTH_MAX 4

/* Per-thread nesting depth of trigger-hook calls: call-stack state of the
 * thread running the guest, not shared state. */
static _Thread_local int hook_depth;

typedef struct collect {
    json_t *answers;
} collect;

static bool skip_self(void *self, void *icpt)
{
    return ((const icpt_ctx *)icpt)->c == self;
}

static void on_answer(void *vctx, int rc, astrid_icpt_result *r)
{
    collect *c = vctx;
    if (rc == 0 && r->data && r->len &&
        (r->action == ASTRID_ICPT_CONTINUE || r->action == ASTRID_ICPT_FINAL)) {
        json_t *j = astrid_json_loadb((const char *)r->data, r->len, 0, NULL);
        if (j)
            json_array_append_new(c->answers, j);
    }
    free(r->data);
    free(r->reason);
}

int kcapsule_trigger(void *rt, const astrid_invocation *inv, const char *request, size_t len,
                     char **out, astrid_err *err)
{
    kcapsule *self = rt;
    json_error_t je;
    json_t *req = astrid_json_loadb(request, len, JSON_REJECT_DUPLICATES, &je);
    const char *hook = json_string_value(json_object_get(req, "hook"));
    json_t *payload = json_object_get(req, "payload");
    int rc = -1;
    char *text = NULL;
    if (!json_is_object(req) || !hook) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "request must be {\"hook\": \"<topic>\", \"payload\": {...}}");
        goto out;
    }
    if (astrid_topic_check(hook, ASTRID_TOPIC_PUBLISH, err) != 0)
        goto out;
    /* An interceptor on a private topic must be able to trust that only the
     * kernel speaks there (docs/wire.md, Private delivery). */
    if (astrid_topic_privacy_of(hook) != ASTRID_TOPIC_PUBLIC) {
        astrid_err_set(err, ASTRID_E_PERM,
                       "%s is a private kernel topic (replies and private events): capsules "
                       "cannot trigger hooks on it",
                       hook);
        goto out;
    }
    if (hook_depth >= HOOK_DEPTH_MAX) {
        astrid_err_set(err, ASTRID_E_LIMIT, "hooks nested more than %d deep", HOOK_DEPTH_MAX);
        goto out;
    }
    text = payload ? astrid_json_dumps(payload, JSON_COMPACT) : strdup("{}");
    if (!text) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    astrid_msg msg = {.topic = hook,
                      .principal = inv->principal,
                      .timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                      .is_json = true,
                      .payload = (const uint8_t *)text,
                      .len = strlen(text)};
    snprintf(msg.source_id, sizeof msg.source_id, "%s", inv->source_id);
    collect c = {json_array()};
    hook_depth++;
    astrid_bus_fanout(self->k->bus, &msg, skip_self, self, on_answer, &c);
    hook_depth--;
    *out = astrid_json_dumps(c.answers, JSON_COMPACT);
    json_decref(c.answers);
    if (!*out) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(text);
    json_decref(req);
    return rc;
}
