/* Capsule.toml [imports]/[exports]: both forms, and the rules that refuse
 * bad names and versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "capsule/manifest.h"
#include "capsule/semver.h"

#define PKG "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n"

static astrid_manifest *parse(const char *text, astrid_err *err)
{
    return astrid_manifest_parse(text, strlen(text), "Capsule.toml", err);
}

static void nested_head_form(void **state)
{
    (void)state;
    astrid_err err;
    astrid_manifest *m = parse(PKG "[imports.astrid]\nsession = \"^1.0\"\n"
                                   "llm = { version = \">=1.2, <2\", optional = true }\n"
                                   "[exports.astrid]\nspark = \"1.0.0\"\n",
                               &err);
    assert_non_null(m);
    assert_true(m->has_imports);
    assert_int_equal(m->nimports, 2);
    assert_string_equal(m->imports[0].ns, "astrid");
    assert_string_equal(m->imports[0].iface, "session");
    assert_string_equal(m->imports[0].version, "^1.0");
    assert_false(m->imports[0].optional);
    assert_string_equal(m->imports[1].iface, "llm");
    assert_string_equal(m->imports[1].version, ">=1.2, <2");
    assert_true(m->imports[1].optional);
    assert_int_equal(m->nexports, 1);
    assert_string_equal(m->exports[0].ns, "astrid");
    assert_string_equal(m->exports[0].iface, "spark");
    assert_string_equal(m->exports[0].version, "1.0.0");
    astrid_manifest_free(m);
}

static void flat_and_mixed_form(void **state)
{
    (void)state;
    astrid_err err;
    astrid_manifest *m = parse(PKG "[imports]\n\"astrid:session\" = \"^1.0\"\n"
                                   "\"my-org:tool\" = { version = \"~0.3\" }\n"
                                   "[imports.astrid]\nllm = \"^1\"\n"
                                   "[exports]\n\"demo:echo\" = { version = \"2.1.0\" }\n",
                               &err);
    assert_non_null(m);
    assert_int_equal(m->nimports, 3);
    assert_string_equal(m->imports[0].ns, "astrid");
    assert_string_equal(m->imports[0].iface, "session");
    assert_string_equal(m->imports[1].ns, "my-org");
    assert_string_equal(m->imports[1].iface, "tool");
    assert_string_equal(m->imports[1].version, "~0.3");
    assert_string_equal(m->imports[2].iface, "llm");
    assert_int_equal(m->nexports, 1);
    assert_string_equal(m->exports[0].ns, "demo");
    assert_string_equal(m->exports[0].version, "2.1.0");
    astrid_manifest_free(m);
}

static void none_is_empty(void **state)
{
    (void)state;
    astrid_err err;
    astrid_manifest *m = parse(PKG, &err);
    assert_non_null(m);
    assert_false(m->has_imports);
    assert_int_equal(m->nimports, 0);
    assert_int_equal(m->nexports, 0);
    astrid_manifest_free(m);
}

static void refusals(void **state)
{
    (void)state;
    static const struct {
        const char *toml, *needle;
    } bad[] = {
        {PKG "[imports]\n\"Astrid:session\" = \"^1.0\"\n", "^[a-z][a-z0-9-]*$"},
        {PKG "[imports.astrid]\n\"9lives\" = \"^1.0\"\n", "astrid:9lives"},
        {PKG "[imports]\n\"astrid:\" = \"^1.0\"\n", "namespace and interface"},
        {PKG "[imports]\nastrid = \"^1.0\"\n", "namespace:interface"},
        {PKG "[imports.astrid]\nsession = 3\n", "version string"},
        {PKG "[imports.astrid]\nsession = \"latest!\"\n", "semver requirement"},
        {PKG "[exports.astrid]\nsession = \"^1.0\"\n", "semantic version"},
        {PKG "[exports]\n\"a:b\" = { version = \"1.0.0\", optional = true }\n", "imports only"},
        {PKG "[capabilities]\nuplink = true\n[imports.astrid]\nsession = \"^1.0\"\n",
         "not allowed on uplink"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        astrid_err err = {0};
        astrid_manifest *m = parse(bad[i].toml, &err);
        if (m)
            fail_msg("accepted: %s", bad[i].toml);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].needle);
        assert_int_equal(err.code, ASTRID_E_INVALID);
    }
}

static void semver_requirements(void **state)
{
    (void)state;
    static const struct {
        const char *req, *ver;
        bool want;
    } cases[] = {
        {"^1.0", "1.0.0", true},          {"^1.0", "1.9.3", true},    {"^1.0", "2.0.0", false},
        {"^1.2", "1.1.9", false},         {"1.2", "1.4.0", true},     {"^0.2.3", "0.2.9", true},
        {"^0.2.3", "0.3.0", false},       {"^0.0.3", "0.0.3", true},  {"^0.0.3", "0.0.4", false},
        {"~1.2", "1.2.7", true},          {"~1.2", "1.3.0", false},   {"~1", "1.9.0", true},
        {"=1.2.3", "1.2.3", true},        {"=1.2.3", "1.2.4", false}, {">=1.2, <2", "1.5.0", true},
        {">=1.2, <2", "2.0.0", false},    {">1.2.3", "1.2.3", false}, {">1.2.3", "1.2.4", true},
        {"<=1.2", "1.2.9", true},         {"<=1.2", "1.3.0", false},  {"*", "7.0.0", true},
        {"1.*", "1.5.0", true},           {"1.*", "2.0.0", false},    {"^1.0", "1.0", false},
        {"^1.0", "1.0.0-rc1", true},      {"latest", "1.0.0", false}, {">>1", "1.0.0", false},
        {"^99999999999", "1.0.0", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (astrid_semver_matches(cases[i].req, cases[i].ver) != cases[i].want)
            fail_msg("'%s' vs %s: want %d", cases[i].req, cases[i].ver, cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_head_form),    cmocka_unit_test(flat_and_mixed_form),
        cmocka_unit_test(none_is_empty),       cmocka_unit_test(refusals),
        cmocka_unit_test(semver_requirements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
