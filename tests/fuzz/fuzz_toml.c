/* libFuzzer: parse arbitrary bytes; whatever parses must emit, re-parse and
 * compare equal, and emitting the re-parsed tree must give the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astrid_err err;
    astrid_toml *t = astrid_toml_parse((const char *)data, size, &err, NULL);
    if (!t)
        return 0;
    char *text = astrid_toml_emit(t, &err);
    if (!text)
        abort();
    astrid_toml *back = astrid_toml_parse(text, strlen(text), &err, NULL);
    if (!back || !astrid_toml_equal(t, back))
        abort();
    char *again = astrid_toml_emit(back, &err);
    if (!again || strcmp(text, again) != 0)
        abort();
    free(again);
    free(text);
    astrid_toml_free(back);
    astrid_toml_free(t);
    return 0;
}
