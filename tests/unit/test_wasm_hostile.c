/* Hostile modules from tests/hostile/: each is contained (an error naming
 * the cause), and a normal module keeps working in the same process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "wasm_test_util.h"

static astrid_wasm_engine *eng;

static int setup(void **state)
{
    (void)state;
    if (wt_setup_dir() < 0)
        return -1;
    eng = wt_engine(NULL, 0);
    return eng ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    astrid_wasm_engine_free(eng);
    wt_rm_dir();
    return 0;
}

enum stage { AT_LOAD, AT_INSTANTIATE, AT_CALL, RETURNS };

static astrid_wasm_module *load_file(const char *name, astrid_err *err)
{
    char path[1024];
    const char *src = getenv("ASTRID_SRC");
    snprintf(path, sizeof path, "%s/tests/hostile/%s", src ? src : ".", name);
    size_t len = 0;
    uint8_t *w = wt_wat(path, 1, &len);
    assert_non_null(w);
    astrid_wasm_module *m = astrid_wasm_module_load(eng, w, len, NULL, NULL, err);
    free(w);
    return m;
}

/* Run `name`'s "run" export; check where it fails and with which words. */
static void hostile(const char *name, enum stage stage, astrid_wasm_trap_kind kind,
                    const char *words, const uint64_t *args, size_t nargs, size_t nres,
                    uint64_t *res)
{
    astrid_err err = {0};
    astrid_wasm_outcome out;
    astrid_wasm_module *m = load_file(name, &err);
    if (stage == AT_LOAD) {
        assert_null(m);
        assert_non_null(strstr(err.msg, words));
        return;
    }
    assert_non_null(m);
    astrid_wasm_instance_config cfg = {.max_memory_bytes = 8u << 20};
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, &cfg, &out, &err);
    if (stage == AT_INSTANTIATE) {
        assert_null(i);
        assert_int_equal(out.trap, kind);
        assert_non_null(strstr(err.msg, words));
        astrid_wasm_module_free(m);
        return;
    }
    assert_non_null(i);
    int rc = astrid_wasm_call(i, "run", args, nargs, res, nres, 300, &out, &err);
    if (stage == RETURNS) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -1);
        assert_int_equal(out.trap, kind);
        assert_non_null(strstr(err.msg, words));
    }
    astrid_wasm_instance_free(i);
    astrid_wasm_module_free(m);
}

static void infinite_loop(void **s)
{
    (void)s;
    hostile("infinite_loop.wat", AT_CALL, ASTRID_WASM_TRAP_DEADLINE, "deadline", NULL, 0, 0, NULL);
}

static void memory_bomb(void **s)
{
    (void)s;
    uint64_t pages = 0;
    hostile("memory_bomb.wat", RETURNS, 0, NULL, NULL, 0, 1, &pages);
    assert_int_equal(pages, (8u << 20) / 65536);
}

static void deep_recursion(void **s)
{
    (void)s;
    uint64_t a[4] = {0}, r;
    hostile("deep_recursion.wat", AT_CALL, ASTRID_WASM_TRAP_EXHAUSTION, "stack", a, 4, 1, &r);
}

static void oob_read(void **s)
{
    (void)s;
    uint64_t r;
    hostile("oob_read.wat", AT_CALL, ASTRID_WASM_TRAP_OOB, "out of bounds", NULL, 0, 1, &r);
}

static void oob_write(void **s)
{
    (void)s;
    hostile("oob_write.wat", AT_CALL, ASTRID_WASM_TRAP_OOB, "out of bounds", NULL, 0, 0, NULL);
}

static void table_abuse(void **s)
{
    (void)s;
    uint64_t r;
    for (uint64_t slot = 0; slot < 3; slot++) /* wrong type, null, ok-type */
    {
        uint64_t a[1] = {slot == 2 ? 1000 : slot};
        hostile("table_abuse.wat", AT_CALL, ASTRID_WASM_TRAP_CALL_INDIRECT, "indirect", a, 1, 1,
                &r);
    }
}

static void huge_table(void **s)
{
    (void)s;
    hostile("huge_table.wat", AT_INSTANTIATE, ASTRID_WASM_TRAP_MEMORY_LIMIT, "limit", NULL, 0, 0,
            NULL);
}

static void huge_data_segment(void **s)
{
    (void)s;
    hostile("huge_data_segment.wat", AT_INSTANTIATE, ASTRID_WASM_TRAP_OOB, "out of bounds", NULL, 0,
            0, NULL);
}

static void huge_memory(void **s)
{
    (void)s;
    hostile("huge_memory.wat", AT_INSTANTIATE, ASTRID_WASM_TRAP_MEMORY_LIMIT, "exceeds", NULL, 0, 0,
            NULL);
}

static void missing_import(void **s)
{
    (void)s;
    hostile("missing_import.wat", AT_LOAD, 0, "'astrid'.'launch_missiles'", NULL, 0, 0, NULL);
}

static void name_injection(void **s)
{
    (void)s;
    hostile("name_injection.wat", AT_LOAD, 0, "not supported", NULL, 0, 0, NULL);
}

static void normal_module_still_works(void **s)
{
    (void)s;
    astrid_err err = {0};
    astrid_wasm_module *m = wt_load(eng,
                                    "(module (func (export \"run\") (param i32) (result i32) "
                                    "(i32.mul (local.get 0) (i32.const 3))))",
                                    &err);
    assert_non_null(m);
    astrid_wasm_instance *i = astrid_wasm_instantiate(m, NULL, NULL, &err);
    assert_non_null(i);
    uint64_t a[1] = {14}, r[1];
    assert_int_equal(astrid_wasm_call(i, "run", a, 1, r, 1, 1000, NULL, &err), 0);
    assert_int_equal(r[0], 42);
    astrid_wasm_instance_free(i);
    astrid_wasm_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(infinite_loop),  cmocka_unit_test(memory_bomb),
        cmocka_unit_test(deep_recursion), cmocka_unit_test(oob_read),
        cmocka_unit_test(oob_write),      cmocka_unit_test(table_abuse),
        cmocka_unit_test(huge_table),     cmocka_unit_test(huge_data_segment),
        cmocka_unit_test(huge_memory),    cmocka_unit_test(missing_import),
        cmocka_unit_test(name_injection), cmocka_unit_test(normal_module_still_works),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
