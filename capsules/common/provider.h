/* The common body of the provider capsules (openai-compat, anthropic):
 * an llm_request in, the API called over http-stream-*, StreamEvents out
 * on llm.v1.stream.<id>; and the answer to llm.v1.request.describe.
 * Guest-only; included by each provider as "../common/provider.c".
 */
#ifndef CAPSULES_COMMON_PROVIDER_H
#define CAPSULES_COMMON_PROVIDER_H

#include <astrid.h>
#include <stdbool.h>

typedef struct provider_model {
    const char *id;
    long context_window;
    double input_usd_per_mtok, output_usd_per_mtok;
} provider_model;

typedef struct provider_def {
    const char *id;   /* "openai-compat": the topic suffix */
    const char *name; /* for people */
    bool anthropic;   /* Messages API, else chat completions */
    const char
        *path; /* appended to base_url ("/v1/..."; a base_url ending in /v1 is not doubled) */
    const char *default_model;
    const provider_model *models; /* the pricing table */
    size_t nmodels;
} provider_def;

/* llm.v1.request.generate.<id>: always CONTINUE once the request is
 * understood (the outcome travels as StreamEvents); DENY when the payload
 * is not an llm_request with a request_id (nobody could be told). */
astrid_action provider_generate(const provider_def *d, const astrid_event *ev, astrid_reply *out);
/* llm.v1.request.describe: FINAL with {id, name, request_topic, models}. */
astrid_action provider_describe(const provider_def *d, const astrid_event *ev, astrid_reply *out);

/* A provider capsule is its provider_def: this registers the two
 * interceptors (generate, describe) every provider answers, bound to it. */
#define PROVIDER_CAPSULE(def)                                                                      \
    static astrid_action on_generate(const astrid_event *ev, astrid_reply *out)                    \
    {                                                                                              \
        return provider_generate(&(def), ev, out);                                                 \
    }                                                                                              \
    ASTRID_INTERCEPTOR("generate", on_generate)                                                    \
    static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)                    \
    {                                                                                              \
        return provider_describe(&(def), ev, out);                                                 \
    }                                                                                              \
    ASTRID_INTERCEPTOR("describe", on_describe)

#endif
