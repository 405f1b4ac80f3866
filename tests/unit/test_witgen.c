/* The generated host glue (build/gen/host_glue.{h,c}, canon.c) against
 * the WIT and docs/abi.md: the engine's table has exactly the WIT's
 * functions with the WIT's core signatures; the functions this build
 * answers "unavailable" are exactly the expected list; the wrappers are
 * exported under wasm2c's names; lifting and lowering through the
 * generated descriptors put every byte where docs/abi.md says, and bad
 * guest input traps without leaking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "astrid/utf8.h"
#include "astrid/wit.h"
#include "capsule/wasm/wasm_parse.h"
#include "host_glue.h"

static astrid_wit_package *astrid_pkg(void)
{
    const char *src = getenv("ASTRID_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/wit/astrid.wit", src ? src : ".");
    char *s = NULL;
    size_t len;
    astrid_err err;
    if (astrid_read_file(path, ASTRID_WIT_MAX_INPUT, &s, &len, &err) != 0)
        fail_msg("%s", err.msg);
    astrid_wit_package *p = astrid_wit_parse(s, len, &err);
    free(s);
    if (!p)
        fail_msg("%s", err.msg);
    return p;
}

/* ------------------------------------------------------------ tables */
static void engine_table_is_the_wit(void **state)
{
    (void)state;
    astrid_wit_package *p = astrid_pkg();
    size_t nmods = 0, nfns = 0;
    for (size_t i = 0; i < p->nifaces; i++) {
        const astrid_wit_iface *fi = p->ifaces[i];
        if (!fi->nfuncs)
            continue;
        char mod[200];
        snprintf(mod, sizeof mod, "astrid:capsule/%s@0.1.0", fi->name);
        const astrid_wasm_host_module *m = NULL;
        for (size_t k = 0; k < astrid_capsule_host_nmodules; k++)
            if (strcmp(astrid_capsule_host_modules[k].name, mod) == 0)
                m = &astrid_capsule_host_modules[k];
        if (!m) {
            fail_msg("interface %s has no host module", fi->name);
            return;
        }
        nmods++;
        if (m->nfuncs != fi->nfuncs)
            fail_msg("%s: table has %zu functions, the WIT %zu", fi->name, m->nfuncs, fi->nfuncs);
        for (size_t k = 0; k < fi->nfuncs; k++) {
            char ps[64], rs[8];
            astrid_err err;
            assert_int_equal(
                astrid_wit_func_core_sig(&fi->funcs[k], ps, sizeof ps, rs, sizeof rs, &err), 0);
            const astrid_wasm_host_func *hf = NULL;
            for (size_t j = 0; j < m->nfuncs; j++)
                if (strcmp(m->funcs[j].name, fi->funcs[k].name) == 0)
                    hf = &m->funcs[j];
            if (!hf) {
                fail_msg("%s.%s is in the WIT, not in the engine's table", fi->name,
                         fi->funcs[k].name);
                return;
            }
            if (strcmp(hf->params, ps) != 0 || strcmp(hf->results, rs) != 0)
                fail_msg("%s.%s: table (%s)->(%s), WIT (%s)->(%s)", fi->name, fi->funcs[k].name,
                         hf->params, hf->results, ps, rs);
            nfns++;
        }
    }
    assert_int_equal(nmods, astrid_capsule_host_nmodules);
    assert_int_equal(nfns, astrid_glue_nfuncs);
    assert_true(nfns >= 50); /* upstream's, and additions */
    astrid_wit_free(p);
}

/* Adding a WIT function without a body shows here (or fails the link). */
static const char *const expected_unavailable[] = {
    NULL, /* every WIT function has a body today */
};

static void unavailable_functions_are_listed(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; astrid_glue_funcs[i]; i++) {
        const astrid_canon_func *f = astrid_glue_funcs[i];
        char name[200];
        snprintf(name, sizeof name, "%s.%s", f->iface, f->name);
        int expected = 0;
        for (size_t k = 0; expected_unavailable[k]; k++)
            expected |= strcmp(expected_unavailable[k], name) == 0;
        if (!!f->unavailable != expected)
            fail_msg("%s: %s", name,
                     expected ? "expected unavailable, has a body"
                              : "unavailable in this build (not in the expected list)");
        if (f->unavailable)
            assert_string_equal(f->unavailable, name);
        n += expected;
    }
    size_t want = 0;
    while (expected_unavailable[want])
        want++;
    assert_int_equal(n, want);
}

static void wrappers_are_exported_under_wasm2c_names(void **state)
{
    (void)state;
    astrid_wit_package *p = astrid_pkg();
    /* every function of the WIT goes through the glue */
    size_t want = 0;
    for (size_t i = 0; i < p->nifaces; i++)
        want += p->ifaces[i]->nfuncs;
    assert_int_equal(astrid_glue_nfuncs, want);
    for (size_t i = 0; astrid_glue_funcs[i]; i++) {
        const astrid_canon_func *f = astrid_glue_funcs[i];
        char mod[200], a[600], b[600], sym[1200];
        snprintf(mod, sizeof mod, "astrid:capsule/%s@0.1.0", f->iface);
        assert_int_equal(astrid_wasm_mangle(a, sizeof a, mod), 0);
        assert_int_equal(astrid_wasm_mangle(b, sizeof b, f->name), 0);
        snprintf(sym, sizeof sym, "%s%s", a, b);
        assert_string_equal(f->symbol, sym);
        if (!dlsym(RTLD_DEFAULT, sym))
            fail_msg("%s is not exported from this program", sym);
        assert_non_null(astrid_wit_find_func(astrid_wit_find_iface(p, f->iface), f->name));
    }
    astrid_wit_free(p);
}

/* ------------------------------------------------------------ fake guest */
#define MEM (1u << 20)
static uint8_t *gmem;
static uint32_t brk_at;
static int alloc_fails;
static jmp_buf trapped;
static char trap_why[200];

static uint8_t *g_at(void *ctx, uint32_t ptr, uint32_t len)
{
    (void)ctx;
    return (uint64_t)ptr + len <= MEM ? gmem + ptr : NULL;
}

static int g_alloc(void *ctx, uint32_t align, uint32_t size, uint32_t *ptr)
{
    (void)ctx;
    if (alloc_fails)
        return -1;
    brk_at = (brk_at + align - 1) / align * align;
    *ptr = brk_at;
    brk_at += size;
    return 0;
}

__attribute__((noreturn)) static void g_trap(void *ctx, const char *why)
{
    (void)ctx;
    snprintf(trap_why, sizeof trap_why, "%s", why);
    longjmp(trapped, 1);
}

static astrid_host_call call;

static int setup(void **state)
{
    (void)state;
    gmem = calloc(1, MEM);
    brk_at = MEM / 2;
    alloc_fails = 0;
    trap_why[0] = '\0';
    astrid_canon_mem m = {g_at, g_alloc, g_trap, NULL};
    astrid_canon_call_init(&call, &m);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    astrid_canon_call_release(&call);
    free(gmem);
    return 0;
}

/* Guest strings are (ptr, len): no NUL is copied. */
static void put(uint32_t at, const char *s)
{
    for (size_t i = 0; s[i]; i++)
        gmem[at + i] = (uint8_t)s[i];
}

static void put32(uint32_t at, uint32_t v)
{
    memcpy(gmem + at, &v, 4);
}

static uint32_t get32(uint32_t at)
{
    uint32_t v;
    memcpy(&v, gmem + at, 4);
    return v;
}

/* The guest string whose (ptr, len) is at `at`. */
static void gstr(uint32_t at, char *out, size_t n)
{
    uint32_t p = get32(at), l = get32(at + 4);
    assert_true(l < n);
    snprintf(out, n, "%.*s", (int)l, (const char *)gmem + p);
}

#define S(lit) ((astrid_str){(char *)(lit), sizeof(lit) - 1})

static void lowering_puts_bytes_where_the_docs_say(void **state)
{
    (void)state;
    /* result<identity-ok-response>: ok @4; error @8; user-id @20;
     * removed option<bool> @32 (d @32, u8 @33); links-json @36 */
    memset(gmem + 1024, 0xaa, 48);
    wit_result_identity_ok_response_string r = {.ok = {.ok = true,
                                                       .user_id = {true, S("u-1")},
                                                       .removed = {true, true},
                                                       .links_json = {true, S("[]")}}};
    if (setjmp(trapped))
        fail_msg("trapped: %s", trap_why);
    astrid_canon_store(&call, &astrid_ct_result_identity_ok_response_string, &r, 1024);
    char s[64];
    assert_int_equal(gmem[1024], 0);
    assert_int_equal(gmem[1028], 1);
    assert_int_equal(gmem[1032], 0); /* error: none */
    assert_int_equal(gmem[1044], 1);
    gstr(1048, s, sizeof s);
    assert_string_equal(s, "u-1");
    assert_int_equal(gmem[1056], 1);
    assert_int_equal(gmem[1057], 1);
    assert_int_equal(gmem[1060], 1);
    gstr(1064, s, sizeof s);
    assert_string_equal(s, "[]");

    /* the err side: d 1, the message @4 */
    wit_result_identity_ok_response_string e = {.is_err = true, .err = S("denied")};
    astrid_canon_store(&call, &astrid_ct_result_identity_ok_response_string, &e, 2048);
    assert_int_equal(gmem[2048], 1);
    gstr(2052, s, sizeof s);
    assert_string_equal(s, "denied");

    /* result<identity-resolve-response>: found @4, user-id (d @8, str
     * @12), display-name (d @20, str @24), error (d @32, str @36) */
    wit_result_identity_resolve_response_string rr = {
        .ok = {.found = true, .display_name = {true, S("Alice")}, .error = {true, S("x")}}};
    astrid_canon_store(&call, &astrid_ct_result_identity_resolve_response_string, &rr, 3072);
    assert_int_equal(gmem[3076], 1);
    assert_int_equal(gmem[3080], 0);
    assert_int_equal(gmem[3092], 1);
    gstr(3096, s, sizeof s);
    assert_string_equal(s, "Alice");
    assert_int_equal(gmem[3104], 1);
    gstr(3108, s, sizeof s);
    assert_string_equal(s, "x");

    /* only the discriminant and the case are written: a guest may size
     * its area for the case it expects (result<kill-process-result>) */
    memset(gmem + 4096, 0xaa, 64);
    wit_result_kill_process_result_string k = {.is_err = true, .err = S("no")};
    astrid_canon_store(&call, &astrid_ct_result_kill_process_result_string, &k, 4096);
    assert_int_equal(gmem[4096], 1);
    assert_int_equal(gmem[4096 + 12], 0xaa);

    /* a list of records: process-result is not one, http-response-data is:
     * headers (ptr, len) @8 of the result, each pair 16 bytes */
    wit_key_value_pair kv[2] = {{S("a"), S("1")}, {S("bb"), S("22")}};
    wit_result_http_response_data_string h = {
        .ok = {.status = 404, .headers = {kv, 2}, .body = {(uint8_t *)"xyz", 3}}};
    astrid_canon_store(&call, &astrid_ct_result_http_response_data_string, &h, 5120);
    assert_int_equal(gmem[5120], 0);
    assert_int_equal(gmem[5124] | gmem[5125] << 8, 404);
    uint32_t base = get32(5128);
    assert_int_equal(get32(5132), 2);
    gstr(base + 16, s, sizeof s);
    assert_string_equal(s, "bb");
    gstr(base + 24, s, sizeof s);
    assert_string_equal(s, "22");
    assert_int_equal(get32(5140), 3);
    assert_memory_equal(gmem + get32(5136), "xyz", 3);
}

static void lifting_reads_what_the_guest_lowered(void **state)
{
    (void)state;
    if (setjmp(trapped))
        fail_msg("trapped: %s", trap_why);
    put(100, "discord");
    put(200, "42");
    const uint64_t flat[] = {100, 7, 200, 2};
    wit_identity_resolve_request r;
    memset(&r, 0, sizeof r);
    astrid_canon_lift_flat(&call, &astrid_ct_identity_resolve_request, flat, 4, &r);
    assert_string_equal(r.platform.ptr, "discord");
    assert_int_equal(r.platform.len, 7);
    assert_string_equal(r.platform_user_id.ptr, "42");

    /* option<string> flattened to (d, ptr, len); none ignores the rest */
    put(300, "Alice");
    wit_identity_create_user_request c;
    const uint64_t some[] = {1, 300, 5}, none[] = {0, 0xfffffff0u, 99};
    astrid_canon_lift_flat(&call, &astrid_ct_identity_create_user_request, some, 3, &c);
    assert_true(c.display_name.has);
    assert_string_equal(c.display_name.val.ptr, "Alice");
    memset(&c, 0, sizeof c);
    astrid_canon_lift_flat(&call, &astrid_ct_identity_create_user_request, none, 3, &c);
    assert_false(c.display_name.has);

    /* from memory: elicit-request (48 bytes): options option<list<string>>
     * @24 (d @24, list @28), default-value @36 (d @36, str @40) */
    put(400, "text");
    put(410, "k");
    put(420, "d");
    put(430, "one");
    put(440, "two");
    put32(500, 430);
    put32(504, 3);
    put32(508, 440);
    put32(512, 3);
    uint32_t at = 600;
    put32(at, 400);
    put32(at + 4, 4);
    put32(at + 8, 410);
    put32(at + 12, 1);
    put32(at + 16, 420);
    put32(at + 20, 1);
    gmem[at + 24] = 1;
    put32(at + 28, 500);
    put32(at + 32, 2);
    gmem[at + 36] = 0;
    wit_elicit_request e;
    memset(&e, 0, sizeof e);
    astrid_canon_load(&call, &astrid_ct_elicit_request, at, &e);
    assert_string_equal(e.elicit_type.ptr, "text");
    assert_true(e.options.has);
    assert_int_equal(e.options.val.n, 2);
    assert_string_equal(e.options.val.v[1].ptr, "two");
    assert_false(e.default_value.has);
    /* an empty string never touches memory and is still a C string */
    const uint64_t empty[] = {0xffffffffu, 0, 0xffffffffu, 0};
    astrid_canon_lift_flat(&call, &astrid_ct_identity_resolve_request, empty, 4, &r);
    assert_string_equal(r.platform.ptr, "");
}

static void expect_lift_trap(const astrid_canon_type *t, const uint64_t *flat, const char *why)
{
    trap_why[0] = '\0';
    uint8_t dst[256] = {0};
    if (setjmp(trapped) == 0) {
        astrid_canon_lift_flat(&call, t, flat, t->nflat, dst);
        fail_msg("did not trap (want '%s')", why);
    }
    if (!strstr(trap_why, why))
        fail_msg("trapped with '%s', want '%s'", trap_why, why);
    assert_int_equal(call.nowned, 0);
}

/* Each hostile argument traps, naming why, and the call's allocations
 * are freed (ASan's leak check would fail this suite otherwise). */
static void bad_guest_input_traps(void **state)
{
    (void)state;
    static const struct {
        const astrid_canon_type *t;
        uint64_t flat[4];
        const char *why;
    } cases[] = {
        {&astrid_ct_identity_resolve_request, {100, 7, MEM - 2, 8}, "out of bounds"},
        {&astrid_ct_identity_resolve_request, {100, 7, 0xfffffff0u, 0x20}, "out of bounds"},
        {&astrid_ct_identity_resolve_request, {100, 7, 700, 2}, "not valid UTF-8"},
        {&astrid_ct_identity_create_user_request, {2, 100, 7}, "unknown case"},
        {&astrid_ct_spawn_request, {100, 7, 800, 0x10000000u}, "out of bounds"},
    };
    put(100, "discord");
    gmem[700] = 0xc3; /* a lead byte without its continuation */
    gmem[701] = 'x';
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_lift_trap(cases[i].t, cases[i].flat, cases[i].why);
    /* a bad retptr, and cabi_realloc failing */
    wit_result_identity_ok_response_string r = {.ok = {.user_id = {true, S("u")}}};
    if (setjmp(trapped) == 0) {
        astrid_canon_store(&call, &astrid_ct_result_identity_ok_response_string, &r, MEM - 8);
        fail_msg("no trap");
    }
    assert_non_null(strstr(trap_why, "result area out of bounds"));
    alloc_fails = 1;
    if (setjmp(trapped) == 0) {
        astrid_canon_store(&call, &astrid_ct_result_identity_ok_response_string, &r, 1024);
        fail_msg("no trap");
    }
    assert_string_equal(trap_why, "cabi_realloc failed");
}

/* Arguments over the per-call budget are not copied: the glue answers
 * an error instead of calling the host function. Many list elements
 * naming the same guest bytes must not multiply the host's memory. */
static void arguments_over_the_budget_are_refused(void **state)
{
    (void)state;
    if (setjmp(trapped))
        fail_msg("trapped: %s", trap_why);
    const uint32_t blob = 4096, len = 64u << 10, list = blob + len, n = 300;
    memset(gmem + blob, 'a', len);
    for (uint32_t i = 0; i < n; i++) {
        put32(list + 8 * i, blob);
        put32(list + 8 * i + 4, len);
    }
    put(100, "sh");
    const uint64_t flat[] = {100, 2, list, n};
    wit_spawn_request r;
    memset(&r, 0, sizeof r);
    astrid_canon_lift_flat(&call, &astrid_ct_spawn_request, flat, 4, &r);
    assert_int_equal(call.too_big, 1);
    assert_true(call.lifted <= ASTRID_CANON_LIFT_MAX);
    /* under the budget it is lifted whole */
    astrid_canon_call_release(&call);
    call.too_big = 0;
    call.lifted = 0;
    const uint64_t fewer[] = {100, 2, list, 200};
    memset(&r, 0, sizeof r);
    astrid_canon_lift_flat(&call, &astrid_ct_spawn_request, fewer, 4, &r);
    assert_int_equal(call.too_big, 0);
    assert_int_equal(r.args.n, 200);
    assert_int_equal(r.args.v[199].len, len);
}

/* A failed call's message becomes a WIT string: cut to whole UTF-8
 * characters (a guest-supplied name in it may be long); a list<string>
 * out value takes the strings it is given. */
static void error_messages_stay_utf8(void **state)
{
    (void)state;
    static const astrid_canon_func fn = {.iface = "kv", .name = "kv-get"};
    call.fn = &fn;
    char name[1400] = "";
    for (size_t i = 0; i < 600; i++)
        strcat(name, "\xc3\xa9"); /* 'e' with acute, 2 bytes */
    assert_int_equal(astrid_host_fail(&call, "x %s", name), -1);
    assert_true(strlen(call.err) >= ASTRID_HOST_ERR_MAX - 4);
    assert_true(astrid_utf8_valid(call.err, strlen(call.err)));

    char *v[2] = {strdup("a"), strdup("bc")};
    astrid_str *l = astrid_host_take_strs(&call, v, 2);
    assert_non_null(l);
    assert_null(v[0]);
    assert_string_equal(l[1].ptr, "bc");
    assert_int_equal(l[1].len, 2);
    wit_list_string ls = {l, 2};
    astrid_canon_free(&astrid_ct_list_string, &ls); /* as the glue does: ASan sees no leak */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_table_is_the_wit),
        cmocka_unit_test(unavailable_functions_are_listed),
        cmocka_unit_test(wrappers_are_exported_under_wasm2c_names),
        cmocka_unit_test_setup_teardown(lowering_puts_bytes_where_the_docs_say, setup, teardown),
        cmocka_unit_test_setup_teardown(lifting_reads_what_the_guest_lowered, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_guest_input_traps, setup, teardown),
        cmocka_unit_test_setup_teardown(arguments_over_the_budget_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(error_messages_stay_utf8, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
