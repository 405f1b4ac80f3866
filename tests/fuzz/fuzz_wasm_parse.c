/* libFuzzer target: the engine's reader of WebAssembly interface sections
 * (src/capsule/wasm/wasm_parse.c), which sees every untrusted module before
 * wasm2c does. Built from source here because the fuzz rule links only
 * libastrid's sources. */
#include <stddef.h>
#include <stdint.h>

#include "../../src/capsule/wasm/wasm_parse.c" // NOLINT(bugprone-suspicious-include)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astrid_wasm_info info;
    astrid_err err = {0};
    if (astrid_wasm_parse(data, size, &info, &err) == 0) {
        size_t n;
        const char **mods = astrid_wasm_import_modules(&info, &n);
        char buf[64];
        for (size_t i = 0; i < info.nexports; i++) {
            astrid_wasm_mangle(buf, sizeof buf, info.exports[i].name);
            astrid_wasm_name_safe(info.exports[i].name);
        }
        free((void *)mods);
        astrid_wasm_info_free(&info);
    }
    return 0;
}
