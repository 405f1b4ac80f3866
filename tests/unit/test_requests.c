/* The request pipeline's pure parts: astrid_errcode -> error kind (the one
 * mapping every reply's error.kind comes from), the wire names and their
 * inverse the CLI uses, and the method table (each method once, admin
 * topics and capabilities coherent with their method). The kinds of real
 * requests are in tests/integration/request_kinds.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "astrid/errkind.h"
#include "kernel/requests.h"

static void errcode_to_kind(void **state)
{
    (void)state;
    static const struct {
        astrid_errcode code;
        astrid_errkind kind;
    } m[] = {
        {ASTRID_E_PERM, ASTRID_KIND_PERMISSION_DENIED},
        {ASTRID_E_NOTFOUND, ASTRID_KIND_NOT_FOUND},
        {ASTRID_E_INVALID, ASTRID_KIND_INVALID},
        {ASTRID_E_PARSE, ASTRID_KIND_INVALID},
        {ASTRID_E_LIMIT, ASTRID_KIND_INVALID},
        {ASTRID_E_EXISTS, ASTRID_KIND_CONFLICT},
        {ASTRID_E_UNSUPPORTED, ASTRID_KIND_UNAVAILABLE},
        {ASTRID_E_IO, ASTRID_KIND_INTERNAL},
        {ASTRID_E_CRYPTO, ASTRID_KIND_INTERNAL},
        {ASTRID_E_NOMEM, ASTRID_KIND_INTERNAL},
        {ASTRID_E_TIMEOUT, ASTRID_KIND_INTERNAL},
        {ASTRID_E_INTERNAL, ASTRID_KIND_INTERNAL},
        {ASTRID_OK, ASTRID_KIND_INTERNAL},
        {(astrid_errcode)999, ASTRID_KIND_INTERNAL},
    };
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        assert_int_equal(astrid_errkind_of(m[i].code), m[i].kind);
}

static void names_and_inverse(void **state)
{
    (void)state;
    static const char *const names[ASTRID_ERRKIND_COUNT] = {
        "internal", "permission_denied", "not_found", "invalid", "conflict", "unavailable"};
    for (int k = 0; k < ASTRID_ERRKIND_COUNT; k++) {
        assert_string_equal(astrid_errkind_name((astrid_errkind)k), names[k]);
        astrid_errkind back;
        assert_int_equal(astrid_errkind_parse(names[k], &back), 0);
        assert_int_equal(back, k);
        /* kind -> code -> kind is the identity: the CLI loses nothing. */
        assert_int_equal(astrid_errkind_of(astrid_errkind_code((astrid_errkind)k)), k);
    }
    astrid_errkind out = ASTRID_KIND_CONFLICT;
    assert_int_equal(astrid_errkind_parse("Permission_Denied", &out), -1);
    assert_int_equal(astrid_errkind_parse("permission denied", &out), -1);
    assert_int_equal(astrid_errkind_parse("", &out), -1);
    assert_int_equal(astrid_errkind_parse(NULL, &out), -1);
    assert_int_equal(out, ASTRID_KIND_CONFLICT); /* untouched on failure */
    assert_string_equal(astrid_errkind_name((astrid_errkind)77), "internal");
    assert_int_equal(astrid_errkind_code(ASTRID_KIND_PERMISSION_DENIED), ASTRID_E_PERM);
    assert_int_equal(astrid_errkind_code(ASTRID_KIND_UNAVAILABLE), ASTRID_E_UNSUPPORTED);
}

/* "AgentCreate" -> "agent.create" */
static void dotted(const char *method, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; method[i] && j + 2 < n; i++) {
        if (i > 0 && isupper((unsigned char)method[i]))
            out[j++] = '.';
        out[j++] = (char)tolower((unsigned char)method[i]);
    }
    out[j] = '\0';
}

static void table_is_coherent(void **state)
{
    (void)state;
    size_t n;
    const astrid_req_row *t = astrid_req_table(&n);
    size_t admin = 0;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].method);
        assert_non_null(t[i].capability);
        assert_non_null(t[i].fn);
        assert_null(strstr(t[i].capability, "self:")); /* the scope adds it */
        for (size_t j = i + 1; j < n; j++) {
            assert_string_not_equal(t[i].method, t[j].method);
            if (t[i].topic && t[j].topic)
                assert_string_not_equal(t[i].topic, t[j].topic);
        }
        if (t[i].scope == ASTRID_SCOPE_SELF_IF_TARGET)
            assert_non_null(t[i].target_key);
        if (!t[i].topic)
            continue;
        admin++;
        /* The admin topic and capability are the method's own name. */
        char want[64];
        dotted(t[i].method, want, sizeof want);
        assert_string_equal(t[i].topic, want);
        for (char *p = want; *p; p++)
            if (*p == '.')
                *p = ':';
        assert_string_equal(t[i].capability, want);
    }
    /* reference §10.2: 14 topics in v0.6, plus ours: issue 15's agent.key.{add,
     * remove,list}, secret.{set,delete,list}, budget.{set,get}, and issue 17's
     * workspace.{diff,commit,discard}, and issue 19's trust.{add,remove,list,check} */
    assert_int_equal(admin, 14 + 6 + 2 + 3 + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errcode_to_kind),
        cmocka_unit_test(names_and_inverse),
        cmocka_unit_test(table_is_coherent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
