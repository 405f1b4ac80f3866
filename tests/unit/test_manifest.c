/* Capsule.toml rules (reference §6.4, docs/capsules.md) and the semver
 * requirement matcher behind astrid-version and [imports]. Every rule has
 * a bad manifest whose error must name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/version.h"
#include "lib/manifest/manifest.h"
#include "lib/manifest/semver.h"

#define HEAD "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n"

static astrid_manifest *parse(const char *text, astrid_err *err)
{
    return astrid_manifest_parse(text, strlen(text), "Capsule.toml", err);
}

/* The manifest is refused with an ASTRID_E_INVALID message holding `needle`
 * (the field) and, when given, `also` (the reason). */
static void refused(const char *text, const char *needle, const char *also)
{
    astrid_err err;
    astrid_manifest *m = parse(text, &err);
    if (m) {
        astrid_manifest_free(m);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err.msg, needle) || (also && !strstr(err.msg, also)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, needle, also ? also : "");
    assert_int_equal(err.code, ASTRID_E_INVALID);
    assert_non_null(strstr(err.msg, "Capsule.toml: "));
}

static astrid_manifest *accepted(const char *text)
{
    astrid_err err;
    astrid_manifest *m = parse(text, &err);
    if (!m)
        fail_msg("refused (%s): %s", err.msg, text);
    return m;
}

/* ---------------------------------------------------------------- semver */

static bool req_matches(const char *req, const char *version)
{
    astrid_semver v;
    bool ok = false;
    assert_int_equal(astrid_semver_parse(version, &v, NULL), 0);
    if (astrid_semver_req(req, &v, &ok, NULL) != 0)
        fail_msg("requirement '%s' refused", req);
    return ok;
}

static void semver_parse_strict(void **state)
{
    (void)state;
    astrid_semver v;
    astrid_err err;
    assert_int_equal(astrid_semver_parse("1.2.3-alpha.1+build.5", &v, &err), 0);
    assert_true(v.major == 1 && v.minor == 2 && v.patch == 3);
    assert_string_equal(v.pre, "alpha.1");
    static const char *const bad[] = {"1.2",        "1.2.3.4",
                                      "01.2.3",     "1.02.3",
                                      "1.2.3-",     "1.2.3+",
                                      "1.2.3-01",   "v1.2.3",
                                      " 1.2.3",     "1.2.3 ",
                                      "",           "1..3",
                                      "1.2.3-a..b", "99999999999999999999.0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (astrid_semver_parse(bad[i], &v, &err) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(strstr(err.msg, "not a semantic version"));
    }
}

static void semver_precedence(void **state)
{
    (void)state;
    /* semver.org §11's example chain */
    static const char *const chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                        "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                        "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                        "1.1.0",       "2.0.0"};
    for (size_t i = 0; i + 1 < sizeof chain / sizeof *chain; i++) {
        astrid_semver a, b;
        assert_int_equal(astrid_semver_parse(chain[i], &a, NULL), 0);
        assert_int_equal(astrid_semver_parse(chain[i + 1], &b, NULL), 0);
        if (astrid_semver_cmp(&a, &b) >= 0 || astrid_semver_cmp(&b, &a) <= 0)
            fail_msg("%s should sort before %s", chain[i], chain[i + 1]);
    }
    astrid_semver a, b;
    astrid_semver_parse("1.0.0+x", &a, NULL);
    astrid_semver_parse("1.0.0+y", &b, NULL);
    assert_int_equal(astrid_semver_cmp(&a, &b), 0); /* build metadata is ignored */
}

static void semver_requirements(void **state)
{
    (void)state;
    static const struct {
        const char *req, *version;
        bool want;
    } cases[] = {
        {">=0.5.0", "0.6.0", true},
        {">=0.7", "0.6.0", false},
        {">0.6.0", "0.6.0", false},
        {">0.5", "0.6.0", true},
        {">0.6", "0.6.9", false},
        {"<0.7", "0.6.0", true},
        {"<0.6.0", "0.6.0", false},
        {"<=0.6", "0.6.5", true},
        {"<=0.6.0", "0.6.1", false},
        {"=0.6.0", "0.6.0", true},
        {"=0.6", "0.6.3", true},
        {"=0.6", "0.7.0", false},
        {"=1", "1.9.0", true},
        {"=1", "2.0.0", false},
        {"^1.2.3", "1.9.0", true},
        {"^1.2.3", "2.0.0", false},
        {"^1.2.3", "1.2.2", false},
        {"^0.6", "0.6.9", true},
        {"^0.6", "0.7.0", false},
        {"^0.0.3", "0.0.3", true},
        {"^0.0.3", "0.0.4", false},
        {"^0.0", "0.0.9", true},
        {"^0", "0.9.0", true},
        {"^0", "1.0.0", false},
        {"1.2", "1.5.0", true},
        {"0.6.0", "0.6.7", true},
        {"~1.2.3", "1.2.9", true},
        {"~1.2.3", "1.3.0", false},
        {"~1", "1.9.0", true},
        {"~1.2", "1.3.0", false},
        {"*", "0.6.0", true},
        {"1.*", "1.4.0", true},
        {"1.*", "2.0.0", false},
        {"0.6.*", "0.6.1", true},
        {"0.6.x", "0.7.0", false},
        {">=0.5, <0.7", "0.6.0", true},
        {">=0.5,<0.6", "0.6.0", false},
        {" >= 0.6 ", "0.6.0", true},
        /* pre-releases only through a comparator naming one */
        {">=1.0.0", "1.1.0-beta", false},
        {">=1.1.0-alpha", "1.1.0-beta", true},
        {"^1.0.0", "2.0.0-alpha", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (req_matches(cases[i].req, cases[i].version) != cases[i].want)
            fail_msg("'%s' vs %s: want %d", cases[i].req, cases[i].version, cases[i].want);
    static const char *const bad[] = {"",      ">",     ">=x",   "1.2.3.4", "^^1",     ">=1,", ">*",
                                      "1.*.3", "=>1.0", "~>1.0", "01.0",    "1.0 2.0", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        astrid_err err;
        if (astrid_semver_req(bad[i], NULL, NULL, &err) == 0)
            fail_msg("accepted requirement '%s'", bad[i]);
        assert_non_null(strstr(err.msg, "not a version requirement"));
    }
}

/* ---------------------------------------------------------------- rules */

static void package_rules(void **state)
{
    (void)state;
    refused("[package]\nversion = \"0.1.0\"\n", "package.name", NULL);
    refused("[package]\nname = \"Demo\"\nversion = \"0.1.0\"\n", "package.name", NULL);
    refused("[package]\nname = \"demo\"\nversion = \"1.0\"\n", "package.version", NULL);
    refused("[package]\nname = \"demo\"\nversion = \"1.0.0-01\"\n", "package.version", NULL);
    refused("name = \"demo\"\n", "[package]", NULL);
}

static void astrid_version_rule(void **state)
{
    (void)state;
    astrid_manifest_free(accepted(HEAD "astrid-version = \">=0.1.0\"\n"));
    astrid_manifest_free(accepted(HEAD "astrid-version = \"^0.6\"\n"));
    astrid_manifest_free(accepted(HEAD "astrid-version = \">=0.6.0, <0.7\"\n"));
    refused(HEAD "astrid-version = \">=0.7\"\n", "package.astrid-version",
            "this runtime is " ASTRID_VERSION);
    refused(HEAD "astrid-version = \"^1.0\"\n", "package.astrid-version", "requires Astrid ^1.0");
    refused(HEAD "astrid-version = \"<0.6.0\"\n", "package.astrid-version", NULL);
    refused(HEAD "astrid-version = \"latest\"\n", "package.astrid-version",
            "not a version requirement");
    refused(HEAD "astrid-version = 6\n", "package.astrid-version", "string");
}

static void imports_exports(void **state)
{
    (void)state;
    astrid_manifest *m = accepted(HEAD "[imports.astrid]\nsession = \"^1.0\"\n"
                                       "llm = { version = \">=1.2, <2\", optional = true }\n"
                                       "[imports]\n\"astrid:memory\" = \"~0.3\"\n"
                                       "[exports.astrid]\nchat = \"1.0.0\"\n"
                                       "[exports]\n\"acme:tools\" = { version = \"0.2.1\" }\n");
    assert_true(m->has_imports);
    astrid_manifest_free(m);
    refused(HEAD "[imports.Astrid]\nsession = \"^1\"\n", "imports.Astrid", "^[a-z][a-z0-9-]*$");
    refused(HEAD "[imports.astrid]\nsession_v2 = \"^1\"\n", "imports.astrid.session_v2",
            "interface");
    refused(HEAD "[imports]\n\"astrid:Session\" = \"^1\"\n", "imports.\"astrid:Session\"", NULL);
    refused(HEAD "[imports]\n\"9x:session\" = \"^1\"\n", "imports.\"9x:session\"", NULL);
    refused(HEAD "[imports]\nastrid = \"^1\"\n", "imports.astrid", "table of interfaces");
    refused(HEAD "[imports.astrid]\nsession = \"one\"\n", "imports.astrid.session",
            "not a version requirement");
    refused(HEAD "[imports.astrid]\nsession = { optional = true }\n", "imports.astrid.session",
            "version");
    refused(HEAD "[imports.astrid]\nsession = { version = \"^1\", optional = \"yes\" }\n",
            "imports.astrid.session.optional", "boolean");
    refused(HEAD "[imports.astrid]\nsession = 1\n", "imports.astrid.session", NULL);
    /* an export names an exact version, not a range */
    refused(HEAD "[exports.astrid]\nchat = \"^1.0\"\n", "exports.astrid.chat", "exact version");
    refused(HEAD "[exports]\n\"astrid:chat\" = { version = \"1.0\" }\n", "exports.\"astrid:chat\"",
            "not a semantic version");
    refused(HEAD "[exports.astrid]\nchat = { version = \"1.0.0\", optional = true }\n",
            "exports.astrid.chat.optional", NULL);
    refused(HEAD "[capabilities]\nuplink = true\n[imports.astrid]\nsession = \"^1\"\n",
            "[imports] is not allowed on uplink capsules", NULL);
}

static void topic_rules(void **state)
{
    (void)state;
    astrid_manifest_free(
        accepted(HEAD "[[topic]]\nname = \"llm.v1.request.generate.*\"\ndirection = \"publish\"\n"
                      "[[topic]]\nname = \"llm.v1.request.generate.*\"\ndirection = \"subscribe\"\n"
                      "schema = \"schemas/req.json\"\n"
                      "[[topic]]\nname = \"user_v1.prompt-x\"\ndirection = \"subscribe\"\n"));
    refused(HEAD "[[topic]]\nname = \"*\"\ndirection = \"publish\"\n", "topic[0].name",
            "too broad");
    refused(HEAD "[[topic]]\nname = \"a.*.b\"\ndirection = \"publish\"\n", "topic[0].name",
            "trailing .*");
    refused(HEAD "[[topic]]\nname = \"*.b\"\ndirection = \"publish\"\n", "topic[0].name",
            "trailing .*");
    refused(HEAD "[[topic]]\nname = \"a.b*\"\ndirection = \"publish\"\n", "topic[0].name",
            "trailing .*");
    refused(HEAD "[[topic]]\nname = \"a..b\"\ndirection = \"publish\"\n", "topic[0].name", NULL);
    refused(HEAD "[[topic]]\nname = \"a.b/c\"\ndirection = \"publish\"\n", "topic[0].name",
            "letters, digits");
    refused(HEAD "[[topic]]\nname = \"a.b c\"\ndirection = \"publish\"\n", "topic[0].name", NULL);
    refused(HEAD "[[topic]]\ndirection = \"publish\"\n", "topic[0].name", "required");
    refused(HEAD "[[topic]]\nname = \"a.b\"\ndirection = \"both\"\n", "topic[0].direction", NULL);
    refused(HEAD "[[topic]]\nname = \"a.b\"\n", "topic[0].direction", NULL);
    refused(HEAD "[[topic]]\nname = \"a.b\"\ndirection = \"publish\"\nschema = \"/etc/x.json\"\n",
            "topic[0].schema", NULL);
    refused(HEAD "[[topic]]\nname = \"a.b\"\ndirection = \"publish\"\nschema = \"../x.json\"\n",
            "topic[0].schema", "'..'");
    refused(HEAD "[[topic]]\nname = \"a.b\"\ndirection = \"publish\"\n"
                 "[[topic]]\nname = \"a.b\"\ndirection = \"publish\"\n",
            "topic[1]", "duplicate");
}

static void acl_and_interceptor_rules(void **state)
{
    (void)state;
    refused(HEAD "[capabilities]\nipc_publish = [\"a..b\"]\n", "capabilities.ipc_publish[0]", NULL);
    refused(HEAD "[capabilities]\nipc_publish = [\"ok.v1\", \"\"]\n", "capabilities.ipc_publish[1]",
            NULL);
    refused(HEAD "[[interceptor]]\nevent = \"a..b\"\naction = \"x\"\n", "interceptor event 'a..b'",
            NULL);
    refused(HEAD "[[interceptor]]\nevent = \"a.b\"\n", "interceptor[0]", "event and action");
    refused(HEAD "[capabilities]\nfs_read = \"home://\"\n", "capabilities.fs_read", "array");
    /* more than 64 interceptors */
    char *big = malloc(70 * 64 + 100);
    strcpy(big, HEAD);
    for (int i = 0; i < 65; i++)
        sprintf(big + strlen(big), "[[interceptor]]\nevent = \"e.v1.n%d\"\naction = \"a\"\n", i);
    refused(big, "more than 64 interceptors", NULL);
    free(big);
}

static void publish_subscribe_tables(void **state)
{
    (void)state;
    astrid_manifest *m =
        accepted(HEAD "[publish]\n\"agent.v1.response\" = \"@unicity-astrid/wit/session/x\"\n"
                      "[subscribe]\n\"user.v1.prompt\" = { wit = \"prompt\", version = \"1.0.0\", "
                      "handler = \"on_prompt\" }\n");
    assert_int_equal(m->ipc_publish.n, 1);
    assert_int_equal(m->ninterceptors, 1);
    astrid_manifest_free(m);
    refused(HEAD "[publish]\n\"a.b\" = { wit = \"x\", tag = \"v1\", rev = \"abc\" }\n",
            "[publish] \"a.b\"", "at most one of version, tag, rev, branch, path");
    refused(HEAD "[subscribe]\n\"a.b\" = { handler = \"h\" }\n", "[subscribe] \"a.b\".wit",
            "required");
    refused(HEAD "[publish]\n\"a.*.b\" = \"x\"\n", "[publish] \"a.*.b\"", NULL);
    refused(HEAD "[publish]\n\"a.b\" = 3\n", "[publish] \"a.b\"", NULL);
}

static void component_rules(void **state)
{
    (void)state;
    astrid_manifest *m = accepted(HEAD "[[component]]\nid = \"main\"\nfile = \"demo.wasm\"\n"
                                       "capabilities = { fs_read = [\"home://x\"], "
                                       "net = [\"example.com\"], net_bind = [\"unix:*\"], "
                                       "host_process = [\"git\"], fs_write = [\"home://y\"] }\n"
                                       "[capabilities]\nfs_read = [\"cwd://\"]\n");
    assert_int_equal(m->fs_read.n, 2);
    assert_string_equal(m->fs_read.v[0], "cwd://");
    assert_string_equal(m->fs_read.v[1], "home://x");
    assert_int_equal(m->fs_write.n, 1);
    assert_int_equal(m->net.n, 1);
    assert_int_equal(m->net_bind.n, 1);
    assert_int_equal(m->host_process.n, 1);
    astrid_manifest_free(m);
    refused(HEAD "[[component]]\nfile = \"../x.wasm\"\n", "component[0].file", NULL);
    refused(HEAD "[[component]]\nid = \"main\"\n", "component[0].file", NULL);
    refused(HEAD "[[component]]\nfile = \"x.wasm\"\ncapabilities = { net = \"*\" }\n",
            "component[0].capabilities.net", "array");
}

static void identity_capability(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        int level;
    } cases[] = {{"[]", -1},
                 {"[\"resolve\"]", ASTRID_IDENTITY_RESOLVE},
                 {"[\"link\"]", ASTRID_IDENTITY_LINK},
                 {"[\"resolve\", \"admin\"]", ASTRID_IDENTITY_ADMIN},
                 {"[\"admin\", \"resolve\"]", ASTRID_IDENTITY_ADMIN}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, HEAD "[capabilities]\nidentity = %s\n", cases[i].list);
        astrid_manifest *m = accepted(text);
        assert_int_equal(astrid_manifest_identity_level(m), cases[i].level);
        astrid_manifest_free(m);
    }
    astrid_manifest *m = accepted(HEAD);
    assert_int_equal(astrid_manifest_identity_level(m), -1); /* absent: no access */
    astrid_manifest_free(m);
    refused(HEAD "[capabilities]\nidentity = [\"resolve\", \"root\"]\n", "capabilities.identity[1]",
            "not one of resolve, link, admin");
}

static void uplink_tool_env_rules(void **state)
{
    (void)state;
    astrid_manifest_free(
        accepted(HEAD "[[uplink]]\nname = \"tg\"\nplatform = \"telegram\"\nprofile = \"chat\"\n"
                      "[[tool]]\nname = \"search\"\ndescription_for_llm = \"Search\"\n"
                      "mutable = false\n"));
    refused(HEAD "[[uplink]]\nname = \"tg\"\nplatform = \"telegram\"\nprofile = \"loud\"\n",
            "uplink[0].profile", NULL);
    refused(HEAD "[[uplink]]\nname = \"tg\"\nprofile = \"chat\"\n", "uplink[0]", "platform");
    refused(HEAD "[[tool]]\ndescription_for_llm = \"x\"\n", "tool[0].name", NULL);
    refused(HEAD "[[tool]]\nname = \"x\"\n", "tool[0].description_for_llm", NULL);
    refused(HEAD "[[tool]]\nname = \"x\"\ndescription_for_llm = \"y\"\nmutable = 1\n",
            "tool[0].mutable", NULL);
    refused(HEAD "[env.API_KEY]\ndescription = \"key\"\n", "env.API_KEY.type", NULL);
}

static void bad_toml_is_a_parse_error(void **state)
{
    (void)state;
    astrid_err err;
    assert_null(parse(HEAD "[capabilities\n", &err));
    assert_int_equal(err.code, ASTRID_E_PARSE);
    assert_non_null(strstr(err.msg, "Capsule.toml: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(semver_parse_strict),
        cmocka_unit_test(semver_precedence),
        cmocka_unit_test(semver_requirements),
        cmocka_unit_test(package_rules),
        cmocka_unit_test(astrid_version_rule),
        cmocka_unit_test(imports_exports),
        cmocka_unit_test(topic_rules),
        cmocka_unit_test(acl_and_interceptor_rules),
        cmocka_unit_test(publish_subscribe_tables),
        cmocka_unit_test(component_rules),
        cmocka_unit_test(identity_capability),
        cmocka_unit_test(uplink_tool_env_rules),
        cmocka_unit_test(bad_toml_is_a_parse_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
