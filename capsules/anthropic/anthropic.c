/* astrid-capsule-anthropic: llm.v1.request.generate.anthropic ->
 * POST {base_url}/v1/messages (stream) -> llm.v1.stream.anthropic.
 * The flow is capsules/common/provider.c; this file is the provider's
 * identity and pricing table (USD per million tokens, list prices). */
#include "../common/provider.c"

static const provider_model models[] = {
    {"claude-sonnet-4-5", 200000, 3.00, 15.00},
    {"claude-haiku-4-5", 200000, 1.00, 5.00},
    {"claude-opus-4-1", 200000, 15.00, 75.00},
    {"claude-sonnet-4-20250514", 200000, 3.00, 15.00},
};

static const provider_def def = {
    .id = "anthropic",
    .name = "Anthropic",
    .anthropic = true,
    .path = "/v1/messages",
    .default_model = "claude-sonnet-4-5",
    .models = models,
    .nmodels = sizeof models / sizeof models[0],
};

PROVIDER_CAPSULE(def)
