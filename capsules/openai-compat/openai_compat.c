/* astrid-capsule-openai-compat: llm.v1.request.generate.openai-compat ->
 * POST {base_url}/v1/chat/completions (stream) -> llm.v1.stream.openai-compat.
 * The flow is capsules/common/provider.c; this file is the provider's
 * identity and pricing table (USD per million tokens, list prices). */
#include "../common/provider.c"

static const provider_model models[] = {
    {"gpt-4o", 128000, 2.50, 10.00},       {"gpt-4o-mini", 128000, 0.15, 0.60},
    {"gpt-4.1", 1047576, 2.00, 8.00},      {"gpt-4.1-mini", 1047576, 0.40, 1.60},
    {"gpt-4.1-nano", 1047576, 0.10, 0.40}, {"o3-mini", 200000, 1.10, 4.40},
    {"o4-mini", 200000, 1.10, 4.40},
};

static const provider_def def = {
    .id = "openai-compat",
    .name = "OpenAI-compatible",
    .anthropic = false,
    .path = "/v1/chat/completions",
    .default_model = "gpt-4o",
    .models = models,
    .nmodels = sizeof models / sizeof models[0],
};

PROVIDER_CAPSULE(def)
