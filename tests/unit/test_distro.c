/* Distro.toml rules (reference §15.1) and Distro.lock (§15.2): every
 * validation rule has a bad manifest whose error must name the field; the
 * lock round-trips and is fresh only for the same id and version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/distro/distro.h"

#define HEAD "schema-version = 1\n[distro]\nid = \"demo\"\nname = \"Demo\"\nversion = \"0.1.0\"\n"
#define VARS "[variables]\nkey = { secret = true }\nurl = { default = \"http://x\" }\n"
#define UPLINK                                                                                     \
    "[[capsule]]\nname = \"up\"\nsource = \"up.capsule\"\nversion = \"1.0.0\"\nrole = "            \
    "\"uplink\"\n"

static void refused(const char *text, const char *needle)
{
    astrid_err err = {0};
    astrid_distro *d = NULL;
    if (astrid_distro_parse(text, strlen(text), &d, &err) == 0) {
        astrid_distro_free(d);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_null(d);
}

static void test_good(void **state)
{
    (void)state;
    const char *t =
        HEAD "pretty-name = \"Demo 0.1\"\nastrid-version = \">=0.5.0\"\n"
             "authors = [\"a\"]\n[distro.requires.astrid]\nllm = \"^1.0\"\n" VARS UPLINK
             "[[capsule]]\nname = \"p1\"\nsource = \"@org/p1\"\nversion = \"0.1.0\"\n"
             "group = \"llm\"\nenv = { api_key = \"{{ key }}\", base = \"{{url}}/v1\" }\n"
             "[[capsule]]\nname = \"p2\"\nsource = \"./p2\"\nversion = \"0.2.0\"\n"
             "group = \"llm\"\n";
    astrid_err err = {0};
    astrid_distro *d = NULL;
    assert_int_equal(astrid_distro_parse(t, strlen(t), &d, &err), 0);
    assert_string_equal(d->id, "demo");
    assert_string_equal(d->pretty_name, "Demo 0.1");
    assert_int_equal(d->n_caps, 3);
    assert_int_equal(d->n_vars, 2);
    assert_true(astrid_distro_var_find(d, "key")->secret);
    assert_string_equal(astrid_distro_var_find(d, "url")->def, "http://x");
    assert_string_equal(d->caps[1].group, "llm");
    assert_int_equal(d->caps[1].n_env, 2);
    astrid_distro_free(d);
}

static void test_rules(void **state)
{
    (void)state;
    refused("schema-version = 2\n[distro]\nid=\"a\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK,
            "schema-version");
    refused("[distro]\nid=\"a\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK, "schema-version");
    refused("schema-version = \"1\"\n[distro]\nid=\"a\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK,
            "schema-version");
    refused("schema-version = 1\n" UPLINK, "distro: missing");
    refused("schema-version = 1\n[distro]\nid = \"Demo\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK,
            "distro.id");
    refused("schema-version = 1\n[distro]\nid = \"1demo\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK,
            "distro.id");
    refused("schema-version = 1\n[distro]\nid = \"de_mo\"\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK,
            "distro.id");
    refused("schema-version = 1\n[distro]\nname=\"a\"\nversion=\"1.0.0\"\n" UPLINK, "distro.id");
    refused("schema-version = 1\n[distro]\nid=\"a\"\nversion=\"1.0.0\"\n" UPLINK, "distro.name");
    refused("schema-version = 1\n[distro]\nid=\"a\"\nname=\"a\"\nversion=\"1.0\"\n" UPLINK,
            "distro.version");
    refused("schema-version = 1\n[distro]\nid=\"a\"\nname=\"a\"\n" UPLINK, "distro.version");
    refused(HEAD "astrid-version = \"=>1\"\n" UPLINK, "distro.astrid-version");
    refused(HEAD "[distro.requires.astrid]\nllm = \"one\"\n" UPLINK, "distro.requires.astrid.llm");
    refused(HEAD "[distro.requires]\nastrid = \"^1\"\n" UPLINK, "distro.requires.astrid");
    refused(HEAD "authors = \"me\"\n" UPLINK, "distro.authors");
    refused(HEAD "nmae = \"x\"\n" UPLINK, "distro.nmae: unknown key");
    refused(HEAD "[extra]\n" UPLINK, "extra: unknown key");
    refused(HEAD, "at least one [[capsule]]");
    refused("schema-version = 1\ncapsule = []\n[distro]\nid=\"a\"\nname=\"a\"\nversion=\"1.0.0\"\n",
            "at least one [[capsule]]");
    refused(HEAD UPLINK UPLINK, "capsule[1].name: \"up\" is already capsule[0]");
    refused(HEAD "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n",
            "role = \"uplink\"");
    refused(HEAD "[[capsule]]\nsource = \"x\"\nversion = \"1.0.0\"\nrole=\"uplink\"\n",
            "capsule[0].name: missing");
    refused(HEAD "[[capsule]]\nname = \"x\"\nversion = \"1.0.0\"\nrole=\"uplink\"\n",
            "capsule[0].source: missing");
    refused(HEAD "[[capsule]]\nname = \"x\"\nsource = \"x\"\nrole=\"uplink\"\n",
            "capsule[0].version: missing");
    refused(HEAD "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"v1\"\nrole=\"uplink\"\n",
            "capsule[0].version");
    refused(HEAD "[[capsule]]\nname = \"\"\nsource = \"x\"\nversion = \"1.0.0\"\nrole=\"uplink\"\n",
            "capsule[0].name: empty");
    refused(HEAD UPLINK "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n"
                        "flavour = \"x\"\n",
            "capsule[1].flavour: unknown key");
    refused(HEAD UPLINK "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n"
                        "env = { k = \"{{ nope }}\" }\n",
            "capsule[1].env.k: {{ nope }} is not a defined variable");
    refused(HEAD VARS UPLINK "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n"
                             "env = { k = \"{{ key\" }\n",
            "capsule[1].env.k: unclosed");
    refused(HEAD VARS UPLINK "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n"
                             "env = { k = \"{{ a b }}\" }\n",
            "capsule[1].env.k");
    refused(HEAD VARS UPLINK "[[capsule]]\nname = \"x\"\nsource = \"x\"\nversion = \"1.0.0\"\n"
                             "env = { k = 3 }\n",
            "capsule[1].env.k: expected a string");
    refused(HEAD "[variables]\nk = \"x\"\n" UPLINK, "variables.k: expected a table");
    refused(HEAD "[variables]\nk = { secret = \"yes\" }\n" UPLINK, "variables.k.secret");
    refused(HEAD "[variables]\nk = { hidden = true }\n" UPLINK, "variables.k.hidden: unknown key");
    refused(HEAD "[variables]\n\"a b\" = { }\n" UPLINK, "variables.a b: not a variable name");
    refused("schema-version = 1\n[distro\n", "Distro.toml");
}

static const char *lk(const char *name, void *user)
{
    (void)user;
    return strcmp(name, "key") == 0 ? "sk-1" : NULL;
}

static void test_render(void **state)
{
    (void)state;
    astrid_err err = {0};
    char *s = astrid_distro_render("a {{ key }} b {{key}} c {{ other }}.", lk, NULL, &err);
    assert_non_null(s);
    assert_string_equal(s, "a sk-1 b sk-1 c .");
    free(s);
    s = astrid_distro_render("", lk, NULL, &err);
    assert_string_equal(s, "");
    free(s);
    assert_null(astrid_distro_render("{{ key", lk, NULL, &err));
}

static void test_lock(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_distro.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sub/distro.lock", dir);
    astrid_distro_lock_capsule c[2] = {
        {.name = "a", .version = "1.0.0", .source = "@org/a", .hash = "blake3:00ff"},
        {.name = "b \"q\"", .version = "0.1.0", .source = "./b", .hash = ""}};
    astrid_distro_lock l = {.id = "demo", .version = "0.1.0", .caps = c, .n_caps = 2};
    astrid_err err = {0};
    assert_int_equal(astrid_distro_lock_write(path, &l, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    astrid_distro_lock *r = NULL;
    assert_int_equal(astrid_distro_lock_read(path, &r, &err), 0);
    assert_string_equal(r->id, "demo");
    assert_string_equal(r->version, "0.1.0");
    assert_non_null(r->resolved_at);
    assert_int_equal(r->n_caps, 2);
    assert_string_equal(r->caps[0].hash, "blake3:00ff");
    assert_string_equal(r->caps[1].name, "b \"q\"");
    assert_string_equal(r->caps[1].hash, "");
    /* upstream's shape: [[capsule]] tables */
    FILE *f = fopen(path, "r");
    char buf[2048] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\n[[capsule]]\nname = \"a\"\n"));
    assert_non_null(strstr(buf, "[distro]\nid = \"demo\""));
    /* fresh = same id and version */
    const char *t = HEAD UPLINK;
    astrid_distro *d = NULL;
    assert_int_equal(astrid_distro_parse(t, strlen(t), &d, &err), 0);
    assert_true(astrid_distro_lock_fresh(r, d));
    free(d->version);
    d->version = strdup("0.2.0");
    assert_false(astrid_distro_lock_fresh(r, d));
    assert_false(astrid_distro_lock_fresh(NULL, d));
    astrid_distro_free(d);
    astrid_distro_lock_free(r);
    /* a missing lock is NOTFOUND, a damaged one an error, not "fresh" */
    snprintf(path, sizeof path, "%s/none.lock", dir);
    assert_int_equal(astrid_distro_lock_read(path, &r, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    const char *bad = "schema-version = 1\n[distro]\nid = \"x\"\n";
    assert_int_equal(astrid_distro_lock_parse(bad, strlen(bad), &r, &err), -1);
    assert_non_null(strstr(err.msg, "distro.version"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_shipped_default(void **state)
{
    (void)state;
    const char *src = getenv("ASTRID_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/distros/astralis/Distro.toml", src ? src : ".");
    astrid_err err = {0};
    astrid_distro *d = NULL;
    if (astrid_distro_load(path, &d, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(d->id, "astralis");
    /* --yes picks the first of the llm group: openai-compat, as upstream */
    const char *first = NULL;
    for (size_t i = 0; i < d->n_caps && !first; i++)
        if (d->caps[i].group && strcmp(d->caps[i].group, "llm") == 0)
            first = d->caps[i].name;
    assert_string_equal(first, "astrid-capsule-openai-compat");
    static const char *const names[] = {"openai_api_key", "openai_base_url", "openai_model",
                                        "openai_temperature", "openai_max_tokens"};
    for (size_t i = 0; i < 5; i++)
        assert_non_null(astrid_distro_var_find(d, names[i]));
    assert_true(astrid_distro_var_find(d, "openai_api_key")->secret);
    assert_true(astrid_distro_var_find(d, "anthropic_api_key")->secret);
    astrid_distro_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_shipped_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
