/* CapabilityCheck: precedence, messages, explain, unknown groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "astrid/capcheck.h"

static astrid_profile *prof(const char *groups[], const char *grants[], const char *revokes[])
{
    astrid_profile *p = astrid_profile_new(NULL);
    for (size_t i = 0; groups && groups[i]; i++)
        astrid_strlist_push(&p->groups, groups[i], NULL);
    for (size_t i = 0; grants && grants[i]; i++)
        astrid_strlist_push(&p->grants, grants[i], NULL);
    for (size_t i = 0; revokes && revokes[i]; i++)
        astrid_strlist_push(&p->revokes, revokes[i], NULL);
    return p;
}

static void test_precedence(void **state)
{
    (void)state;
    astrid_err e;
    astrid_cap_explain x;
    astrid_group_config *g = astrid_groups_builtin(&e);
    const char *admin[] = {"admin", NULL};
    const char *rev[] = {"system:shutdown", NULL};
    astrid_profile *p = prof(admin, NULL, rev);
    /* Revoke beats admin. */
    assert_int_equal(astrid_capcheck_require("alice", p, g, "system:shutdown", &x, &e), -1);
    assert_int_equal(e.code, ASTRID_E_PERM);
    assert_string_equal(e.msg, "permission denied for principal alice: capability "
                               "system:shutdown is revoked via \"system:shutdown\"");
    assert_int_equal(x.verdict, ASTRID_CAP_REVOKED);
    assert_int_equal(x.source, ASTRID_CAP_SRC_REVOKE);
    assert_false(astrid_capcheck_has(p, g, "system:shutdown"));
    assert_int_equal(astrid_capcheck_require("alice", p, g, "system:status", &x, &e), 0);
    assert_int_equal(x.source, ASTRID_CAP_SRC_GROUP);
    assert_string_equal(x.group, "admin");
    assert_string_equal(x.pattern, "*");
    astrid_profile_release(p);

    /* Revoke beats grant; grant beats group absence. */
    const char *agent[] = {"agent", NULL};
    const char *gr[] = {"system:status", "capsule:*", NULL};
    const char *rv[] = {"capsule:install", NULL};
    p = prof(agent, gr, rv);
    assert_int_equal(astrid_capcheck_require("bob", p, g, "capsule:install", &x, &e), -1);
    assert_int_equal(x.verdict, ASTRID_CAP_REVOKED);
    assert_string_equal(x.pattern, "capsule:install");
    assert_int_equal(astrid_capcheck_require("bob", p, g, "capsule:list", &x, &e), 0);
    assert_int_equal(x.source, ASTRID_CAP_SRC_GRANT);
    assert_string_equal(x.pattern, "capsule:*");
    assert_int_equal(astrid_capcheck_require("bob", p, g, "self:capsule:install", &x, &e), 0);
    assert_int_equal(x.source, ASTRID_CAP_SRC_GROUP);
    assert_string_equal(x.group, "agent");
    assert_string_equal(x.pattern, "self:*");
    assert_int_equal(astrid_capcheck_require("bob", p, g, "self", &x, &e), -1);
    assert_string_equal(e.msg, "permission denied for principal bob: missing capability self");
    assert_int_equal(x.verdict, ASTRID_CAP_MISSING);
    assert_null(x.pattern);
    assert_int_equal(astrid_capcheck_require("bob", p, g, "agent:create", NULL, &e), -1);
    assert_true(astrid_capcheck_has(p, g, "delegate:self:x"));
    astrid_profile_release(p);
    astrid_groups_unref(g);
}

static void test_disabled_and_unknown(void **state)
{
    (void)state;
    astrid_err e;
    astrid_cap_explain x;
    astrid_group_config *g = astrid_groups_builtin(&e);
    const char *groups[] = {"ghost", "restricted", "phantom", "agent", NULL};
    astrid_profile *p = prof(groups, NULL, NULL);
    assert_int_equal(astrid_capcheck_require("carol", p, g, "self:x", &x, &e), 0);
    assert_int_equal(x.unknown_groups, 2);
    assert_string_equal(x.first_unknown_group, "ghost");
    assert_string_equal(x.group, "agent");
    p->enabled = false;
    assert_int_equal(astrid_capcheck_require("carol", p, g, "self:x", &x, &e), -1);
    assert_string_equal(e.msg, "permission denied for principal carol: agent is disabled");
    assert_int_equal(x.verdict, ASTRID_CAP_PRINCIPAL_DISABLED);
    assert_false(astrid_capcheck_has(p, g, "self:x"));
    astrid_profile_release(p);
    /* Restricted alone grants nothing; NULL inputs deny. */
    const char *r[] = {"restricted", NULL};
    p = prof(r, NULL, NULL);
    assert_false(astrid_capcheck_has(p, g, "self:x"));
    assert_false(astrid_capcheck_has(NULL, g, "self:x"));
    assert_false(astrid_capcheck_has(p, g, NULL));
    /* A NULL group config: groups all unknown, grants still work. */
    astrid_strlist_push(&p->grants, "a:b", NULL);
    assert_true(astrid_capcheck_has(p, NULL, "a:b"));
    assert_int_equal(astrid_capcheck_explain(p, NULL, "c", &x), ASTRID_CAP_MISSING);
    assert_int_equal(x.unknown_groups, 1);
    astrid_profile_release(p);
    astrid_groups_unref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_disabled_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
