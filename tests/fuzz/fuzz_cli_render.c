/* libFuzzer: any JSON document renders in all four CLI formats; JSON output
 * re-parses equal, and TOML output re-parses with our parser. Fuzzers link
 * only libastrid's sources, so the renderers are compiled in here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/output/output.c" // NOLINT(bugprone-suspicious-include)
#include "../../src/cli/output/pretty.c" // NOLINT(bugprone-suspicious-include)
#include "../../src/cli/output/toml.c"   // NOLINT(bugprone-suspicious-include)
#include "../../src/cli/output/yaml.c"   // NOLINT(bugprone-suspicious-include)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    astrid_err err;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j)
        return 0;
    char *s = cli_render_json(j, &err);
    if (!s)
        abort();
    json_t *back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!back || !json_equal(j, back))
        abort();
    json_decref(back);
    free(s);
    free(cli_render_pretty(j, true, &err));
    free(cli_render_yaml(j, &err));
    s = cli_render_toml(j, &err);
    if (s) {
        astrid_toml *t = astrid_toml_parse(s, strlen(s), &err, NULL);
        if (!t)
            abort();
        astrid_toml_free(t);
        free(s);
    }
    json_decref(j);
    return 0;
}
