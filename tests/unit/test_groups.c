/* GroupConfig: built-ins, load rules, mutators, save round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/fs.h"
#include "astrid/groups.h"
#include "fixture.h"

static char tmpdir[256], path[300];

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(tmpdir, sizeof tmpdir, "groups") != 0)
        return -1;
    snprintf(path, sizeof path, "%s/groups.toml", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(tmpdir);
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_builtins(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    astrid_group_config *c = astrid_groups_load(path, &why, &e); /* missing file */
    assert_non_null(c);
    assert_int_equal(astrid_groups_count(c), 3);
    const astrid_group *a = astrid_groups_find(c, "admin");
    assert_int_equal(a->ncaps, 1);
    assert_string_equal(a->caps[0], "*");
    assert_string_equal(a->description,
                        "Built-in administrator \xe2\x80\x94 universal capability grant");
    assert_true(a->builtin);
    assert_false(a->unsafe_admin);
    const astrid_group *g = astrid_groups_find(c, "agent");
    assert_int_equal(g->ncaps, 4);
    assert_string_equal(g->caps[0], "self:*");
    assert_string_equal(g->caps[1], "self:quota:get");
    assert_string_equal(g->caps[2], "self:agent:list");
    assert_string_equal(g->caps[3], "delegate:self:*");
    assert_string_equal(g->description, "Built-in agent \xe2\x80\x94 self-scoped capability grants "
                                        "for routine agent workflows");
    const astrid_group *r = astrid_groups_find(c, "restricted");
    assert_int_equal(r->ncaps, 0);
    assert_string_equal(r->description,
                        "Built-in restricted \xe2\x80\x94 no implicit capabilities; "
                        "grants must be explicit");
    assert_null(astrid_groups_find(c, "ops"));
    astrid_groups_unref(c);
}

static void load_err(const char *text, astrid_group_error want, const char *needle)
{
    astrid_err e;
    astrid_group_error why = ASTRID_GROUP_OK;
    write_file(text);
    astrid_group_config *c = astrid_groups_load(path, &why, &e);
    assert_null(c);
    assert_int_equal(why, want);
    if (!strstr(e.msg, needle))
        fail_msg("'%s' not in '%s'", needle, e.msg);
}

static void test_load_rules(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    write_file("[groups.ops]\ncapabilities = [\"system:status\", \"agent:list\"]\n"
               "description = \"operators\"\n\n[groups.root2]\ncapabilities = [\"*\"]\n"
               "unsafe_admin = true\n");
    astrid_group_config *c = astrid_groups_load(path, &why, &e);
    assert_non_null(c);
    assert_int_equal(astrid_groups_count(c), 5);
    const astrid_group *o = astrid_groups_find(c, "ops");
    assert_int_equal(o->ncaps, 2);
    assert_string_equal(o->caps[1], "agent:list");
    assert_string_equal(o->description, "operators");
    assert_false(o->builtin);
    assert_true(astrid_groups_find(c, "root2")->unsafe_admin);
    assert_null(astrid_groups_find(c, "root2")->description);
    astrid_groups_unref(c);

    load_err("[groups.admin]\ncapabilities = []\n", ASTRID_GROUP_REDEFINED_BUILTIN, "admin");
    load_err("[groups.x]\ncapabilities = [\"a::b\"]\n", ASTRID_GROUP_INVALID_CAPABILITY, "a::b");
    load_err("[groups.x]\ncapabilities = [\"*\"]\n", ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT,
             "grants '*' (universal admin); set `unsafe_admin = true` to confirm this elevation");
    load_err("[groups.x]\ncapabilities = [\"*\"]\nunsafe_admin = false\n",
             ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT, "'*'");
    load_err("[groups.x]\ncapabilities = []\n\ncolour = \"red\"\n", ASTRID_GROUP_FILE,
             "groups.toml: line 4, column 1: unknown key 'colour'");
    load_err("extra = 1\n", ASTRID_GROUP_FILE, "line 1, column 1: unknown key 'extra'");
    load_err("[groups.x]\ncapabilities = [\n", ASTRID_GROUP_FILE, "groups.toml");
    load_err("[groups.x]\ncapabilities = [\n", ASTRID_GROUP_FILE, "line ");
    load_err("[groups.x]\ncapabilities = \"a\"\n", ASTRID_GROUP_FILE, "capabilities");
    load_err("[groups.x]\ndescription = \"d\"\n", ASTRID_GROUP_FILE,
             "missing field 'capabilities'");
    /* A NUL in a group name or any string is refused, naming it (#12). */
    load_err("[groups.\"ops\\u0000x\"]\ncapabilities = []\n", ASTRID_GROUP_FILE,
             "groups.toml: groups.\"ops\\u0000x\": must not contain a NUL character");
    load_err("[groups.x]\ncapabilities = []\ndescription = \"a\\u0000b\"\n", ASTRID_GROUP_FILE,
             "groups.x.description: must not contain a NUL character");
    /* Multi-segment wildcards never need unsafe_admin. */
    write_file("[groups.net]\ncapabilities = [\"network:egress:*\"]\n");
    c = astrid_groups_load(path, &why, &e);
    assert_non_null(c);
    astrid_groups_unref(c);
}

static void test_mutators(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    astrid_group_config *b = astrid_groups_builtin(&e);
    const char *caps[] = {"system:status"};
    astrid_group_config *c1 = astrid_groups_insert(b, "ops", caps, 1, "operators", false, &why, &e);
    assert_non_null(c1);
    assert_null(astrid_groups_find(b, "ops")); /* input untouched */
    assert_int_equal(astrid_groups_count(c1), 4);
    assert_null(astrid_groups_insert(c1, "ops", caps, 1, NULL, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_DUPLICATE_NAME);
    assert_null(astrid_groups_insert(c1, "agent", caps, 1, NULL, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_REDEFINED_BUILTIN);
    const char *star[] = {"*"};
    assert_null(astrid_groups_insert(c1, "god", star, 1, NULL, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT);
    assert_null(astrid_groups_insert(c1, "bad name", caps, 1, NULL, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_INVALID_NAME);

    const char *caps2[] = {"agent:list", "self:*"};
    astrid_group_config *c2 =
        astrid_groups_modify(c1, "ops", caps2, 2, ASTRID_DESC_KEEP, NULL, -1, &why, &e);
    assert_non_null(c2);
    assert_int_equal(astrid_groups_find(c2, "ops")->ncaps, 2);
    assert_string_equal(astrid_groups_find(c2, "ops")->description, "operators");
    assert_int_equal(astrid_groups_find(c1, "ops")->ncaps, 1);
    astrid_group_config *c3 =
        astrid_groups_modify(c2, "ops", NULL, 0, ASTRID_DESC_CLEAR, NULL, -1, &why, &e);
    assert_null(astrid_groups_find(c3, "ops")->description);
    assert_int_equal(astrid_groups_find(c3, "ops")->ncaps, 2);
    assert_null(astrid_groups_modify(c3, "ops", star, 1, ASTRID_DESC_KEEP, NULL, -1, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT);
    astrid_group_config *c4 =
        astrid_groups_modify(c3, "ops", star, 1, ASTRID_DESC_SET, "root", 1, &why, &e);
    assert_non_null(c4);
    assert_true(astrid_groups_find(c4, "ops")->unsafe_admin);
    assert_null(astrid_groups_modify(c3, "nope", NULL, 0, ASTRID_DESC_KEEP, NULL, -1, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_UNKNOWN_GROUP);
    assert_null(astrid_groups_modify(c3, "admin", NULL, 0, ASTRID_DESC_KEEP, NULL, -1, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_REDEFINED_BUILTIN);

    assert_null(astrid_groups_remove(c4, "restricted", &why, &e));
    assert_int_equal(why, ASTRID_GROUP_REDEFINED_BUILTIN);
    assert_null(astrid_groups_remove(c4, "nope", &why, &e));
    assert_int_equal(why, ASTRID_GROUP_UNKNOWN_GROUP);
    astrid_group_config *c5 = astrid_groups_remove(c4, "ops", &why, &e);
    assert_non_null(c5);
    assert_null(astrid_groups_find(c5, "ops"));
    assert_int_equal(astrid_groups_count(c5), 3);
    assert_non_null(astrid_groups_find(c4, "ops"));
    astrid_group_config *all[] = {b, c1, c2, c3, c4, c5};
    for (size_t i = 0; i < 6; i++)
        astrid_groups_unref(all[i]);
}

static void test_save_roundtrip(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    astrid_group_config *b = astrid_groups_builtin(&e);
    const char *caps[] = {"system:status", "agent:*:x"};
    const char *star[] = {"*"};
    astrid_group_config *c1 = astrid_groups_insert(b, "ops", caps, 2, "operators", false, &why, &e);
    astrid_group_config *c2 = astrid_groups_insert(c1, "root2", star, 1, NULL, true, &why, &e);
    assert_int_equal(astrid_groups_save(c2, path, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text;
    size_t len;
    assert_int_equal(astrid_read_file(path, 1 << 20, &text, &len, &e), 0);
    assert_null(strstr(text, "admin\""));
    assert_null(strstr(text, "Built-in"));
    free(text);
    astrid_group_config *l = astrid_groups_load(path, &why, &e);
    assert_non_null(l);
    assert_int_equal(astrid_groups_count(l), 5);
    const astrid_group *o = astrid_groups_find(l, "ops");
    assert_int_equal(o->ncaps, 2);
    assert_string_equal(o->caps[1], "agent:*:x");
    assert_string_equal(o->description, "operators");
    assert_true(astrid_groups_find(l, "root2")->unsafe_admin);
    astrid_groups_unref(l);
    /* A malformed file on disk is left untouched by a failed load. */
    write_file("[groups.x\n");
    assert_null(astrid_groups_load(path, &why, &e));
    assert_int_equal(astrid_read_file(path, 1 << 20, &text, &len, &e), 0);
    assert_string_equal(text, "[groups.x\n");
    free(text);
    astrid_groups_unref(b);
    astrid_groups_unref(c1);
    astrid_groups_unref(c2);
}

/* Security issue #12: every mutator and the loader share the bounds, and
 * save refuses a document the loader would refuse (file size). */
static void test_bounds(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    astrid_group_config *b = astrid_groups_builtin(&e);
    const char *one[] = {"system:status"};
    char *desc = malloc(ASTRID_GROUP_MAX_DESC + 2);
    memset(desc, 'd', ASTRID_GROUP_MAX_DESC + 1);
    desc[ASTRID_GROUP_MAX_DESC + 1] = '\0';
    assert_null(astrid_groups_insert(b, "g", one, 1, desc, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_LIMIT);
    assert_non_null(strstr(e.msg, "description is 4097 bytes, over the 4096-byte limit"));
    desc[ASTRID_GROUP_MAX_DESC] = '\0';
    astrid_group_config *c = astrid_groups_insert(b, "g", one, 1, desc, false, &why, &e);
    assert_non_null(c);
    desc[ASTRID_GROUP_MAX_DESC] = 'd';
    assert_null(astrid_groups_modify(c, "g", NULL, 0, ASTRID_DESC_SET, desc, -1, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_LIMIT);
    /* a hand-written file over the bound does not load */
    FILE *f = fopen(path, "w");
    fprintf(f, "[groups.g]\ncapabilities = []\ndescription = \"%s\"\n", desc);
    fclose(f);
    assert_null(astrid_groups_load(path, &why, &e));
    assert_non_null(strstr(e.msg, "over the 4096-byte limit"));
    free(desc);
    /* 1025 capabilities */
    char **caps = calloc(ASTRID_GROUP_MAX_CAPS + 1, sizeof *caps);
    for (unsigned i = 0; i <= ASTRID_GROUP_MAX_CAPS; i++) {
        caps[i] = malloc(256);
        /* 250 bytes each: 1024 of them make a ~260 KiB group */
        snprintf(caps[i], 256, "g%05u:%0244d", i, 0);
    }
    assert_null(astrid_groups_insert(b, "wide", (const char *const *)caps,
                                     ASTRID_GROUP_MAX_CAPS + 1, NULL, false, &why, &e));
    assert_int_equal(why, ASTRID_GROUP_LIMIT);
    /* five groups of 1024 such capabilities: each allowed, the file not */
    astrid_group_config *cur = astrid_groups_ref(c);
    for (int g = 0; g < 5; g++) {
        char name[8];
        snprintf(name, sizeof name, "big%d", g);
        astrid_group_config *next = astrid_groups_insert(
            cur, name, (const char *const *)caps, ASTRID_GROUP_MAX_CAPS, NULL, false, &why, &e);
        assert_non_null(next);
        astrid_groups_unref(cur);
        cur = next;
    }
    write_file("# operator's file\n");
    assert_int_equal(astrid_groups_save(cur, path, &e), -1);
    assert_non_null(strstr(e.msg, "over the 1048576-byte limit"));
    char *text;
    size_t len;
    assert_int_equal(astrid_read_file(path, 1 << 20, &text, &len, &e), 0);
    assert_string_equal(text, "# operator's file\n");
    free(text);
    for (unsigned i = 0; i <= ASTRID_GROUP_MAX_CAPS; i++)
        free(caps[i]);
    free(caps);
    astrid_groups_unref(cur);
    astrid_groups_unref(c);
    astrid_groups_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
