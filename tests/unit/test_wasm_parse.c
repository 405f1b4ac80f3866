/* The engine's reader of WebAssembly interfaces (wasm_parse.c) on inputs
 * the fuzz targets found (tests/fuzz/fuzz_wasm_parse, fuzz_wasm_diff; their
 * seeds keep the same bytes): each is refused with a message naming what
 * is wrong, as wasm2c refuses it, and its well-formed neighbour still
 * reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "capsule/wasm/wasm_parse.h"

/* An export of memory 0 (or table 0) in a module that has none was read
 * as valid; wasm2c refuses it, and the reader now refuses it too. */
static void export_of_missing_space(void **s)
{
    (void)s;
    static const uint8_t mem[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 7, 5, 1, 1, 'a', 2, 0};
    static const uint8_t tab[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 7, 5, 1, 1, 't', 1, 0};
    /* the same export with a memory section (min 1) before it */
    static const uint8_t ok[] = {0, 'a', 's', 'm', 1, 0, 0, 0,   5, 3,
                                 1, 0,   1,   7,   5, 1, 1, 'a', 2, 0};
    astrid_wasm_info info;
    astrid_err err = {0};
    assert_int_equal(astrid_wasm_parse(mem, sizeof mem, &info, &err), -1);
    assert_non_null(strstr(err.msg, "export memory index"));
    assert_int_equal(astrid_wasm_parse(tab, sizeof tab, &info, &err), -1);
    assert_non_null(strstr(err.msg, "export table index"));
    assert_int_equal(astrid_wasm_parse(ok, sizeof ok, &info, &err), 0);
    assert_int_equal(info.nmemories, 1);
    assert_int_equal(info.nexports, 1);
    assert_int_equal(info.exports[0].kind, ASTRID_WASM_EXT_MEMORY);
    astrid_wasm_info_free(&info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_of_missing_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
