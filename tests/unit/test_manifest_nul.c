/* Capsule.toml strings holding NUL and over-long names (security issue #12):
 * a NUL decoded from \u0000 would cut the C string a name, path, topic or
 * key becomes ("rt-\u0000x" installed as "rt-"); a 300-character name
 * reached mkdir as ENAMETOOLONG. Both are refused, naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/manifest/manifest.h"

#define HEAD "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n"

static void refused(const char *text, const char *field, const char *why)
{
    astrid_err err;
    astrid_manifest *m = astrid_manifest_parse(text, strlen(text), "Capsule.toml", &err);
    if (m) {
        astrid_manifest_free(m);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err.msg, field) || !strstr(err.msg, why))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, field, why);
    assert_int_equal(err.code, ASTRID_E_INVALID);
    assert_non_null(strstr(err.msg, "Capsule.toml: "));
}

static void nul_anywhere_is_refused(void **state)
{
    (void)state;
    refused("[package]\nname = \"rt-\\u0000x\"\nversion = \"0.1.0\"\n", "package.name",
            "must not contain a NUL character");
    refused(HEAD "description = \"a\\u0000b\"\n", "package.description", "NUL");
    refused(HEAD "[capabilities]\nfs_write = [\"home://a\\u0000/../../etc\"]\n",
            "capabilities.fs_write[0]", "NUL");
    refused(HEAD "[[topic]]\nname = \"a.b\"\ndirection = \"publish\"\n"
                 "[[topic]]\nname = \"a.b\\u0000.c\"\ndirection = \"publish\"\n",
            "topic[1].name", "NUL");
    refused(HEAD "[subscribe]\n\"a.b\\u0000x\" = \"wit\"\n", "subscribe.\"a.b\\u0000x\"", "NUL");
}

static void name_length_is_bounded(void **state)
{
    (void)state;
    char text[512], name[80];
    memset(name, 'a', 65);
    name[65] = '\0';
    snprintf(text, sizeof text, "[package]\nname = \"%s\"\nversion = \"0.1.0\"\n", name);
    refused(text, "package.name", "at most 64");
    name[64] = '\0';
    snprintf(text, sizeof text, "[package]\nname = \"%s\"\nversion = \"0.1.0\"\n", name);
    astrid_err err;
    astrid_manifest *m = astrid_manifest_parse(text, strlen(text), "Capsule.toml", &err);
    if (!m) {
        fail_msg("64 characters refused: %s", err.msg);
        return;
    }
    assert_int_equal(strlen(m->name), 64);
    astrid_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nul_anywhere_is_refused),
        cmocka_unit_test(name_length_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
