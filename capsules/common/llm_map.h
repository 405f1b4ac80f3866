/* Translation between upstream's llm_request / StreamEvent shapes
 * (reference §4.2) and the wire formats of OpenAI's chat completions and
 * Anthropic's Messages API, for the provider capsules.
 *
 * Pure C over astrid_json (no host calls): compiled into each provider
 * capsule and natively into tests/unit/test_provider_sse.c.
 * Ownership: *_request_body returns a malloc'd JSON text the caller frees;
 * events handed to the emit callback are owned by the callback (it must
 * astrid_json_free them); *err strings are malloc'd, caller frees.
 */
#ifndef CAPSULES_COMMON_LLM_MAP_H
#define CAPSULES_COMMON_LLM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <astrid_json.h>

typedef struct llm_cfg {
    const char *model; /* used when the request names none */
    bool has_temperature;
    double temperature;
    int64_t max_tokens; /* 0 = not sent (OpenAI) / LLM_DEFAULT_MAX_TOKENS (Anthropic) */
} llm_cfg;

/* Anthropic requires max_tokens; upstream's default when unset. */
#define LLM_DEFAULT_MAX_TOKENS 4096
#define LLM_MAX_CALLS 64

/* The body of POST /v1/chat/completions (stream:true, usage requested). */
char *oai_request_body(const astrid_json *llm_request, const llm_cfg *cfg, char **err);
/* The body of POST /v1/messages (stream:true). */
char *ant_request_body(const astrid_json *llm_request, const llm_cfg *cfg, char **err);

/* Receives each StreamEvent (takes it); non-zero stops the stream. */
typedef int (*llm_emit_fn)(void *ctx, astrid_json *event);

typedef struct llm_call {
    char id[128];
    bool open;
} llm_call;

typedef struct llm_stream {
    llm_emit_fn emit;
    void *ctx;
    llm_call calls[LLM_MAX_CALLS]; /* by OpenAI index / Anthropic block index */
    int64_t input_tokens, output_tokens;
    bool finished; /* a finish_reason (OpenAI) was seen */
    bool terminal; /* Done or Error was emitted */
    bool emit_failed;
} llm_stream;

void llm_stream_init(llm_stream *s, llm_emit_fn emit, void *ctx);
/* Each returns 0 to go on, 1 once the stream is over (Done or Error
 * emitted), -1 when the emit callback failed. */
int oai_on_data(llm_stream *s, const char *data, size_t len);
int ant_on_event(llm_stream *s, const char *event, const char *data, size_t len);
/* End of the HTTP body: Done if the response was complete (OpenAI: a
 * finish_reason was seen), else Error naming the cut. */
int llm_on_eof(llm_stream *s, bool anthropic);
/* Emits {"Error": msg} (once) and ends the stream. */
int llm_fail(llm_stream *s, const char *msg);

/* The text of an HTTP error body for {"Error"}: the API's error.message
 * when the body is its JSON error shape, else the body itself (cut at 2000
 * bytes). "HTTP <status>: <text>", malloc'd. */
char *llm_http_error(unsigned status, const char *body, size_t len);

#endif
