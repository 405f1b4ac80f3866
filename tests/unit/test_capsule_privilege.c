/* The privileged-ask table (lib/manifest/privilege.h): which manifest entries
 * need which owner capability, and that every capability named passes the
 * capability grammar and is held by admin's '*' but not by group agent's
 * self:*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "astrid/groups.h"
#include "astrid/caps.h"
#include "lib/manifest/privilege.h"

#define HEAD "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n"

/* The capabilities `text` needs, joined with ','. */
static void needs(const char *text, const char *want)
{
    astrid_err err;
    astrid_manifest *m = astrid_manifest_parse(text, strlen(text), "Capsule.toml", &err);
    if (!m)
        fail_msg("refused: %s", err.msg);
    astrid_capsule_priv p[ASTRID_CAPSULE_PRIV_MAX];
    size_t n = astrid_capsule_privileges(m, p);
    char got[512] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s=%s", i ? "," : "", p[i].field,
                 p[i].capability);
    astrid_manifest_free(m);
    if (strcmp(got, want) != 0)
        fail_msg("got '%s' want '%s' for:\n%s", got, want, text);
}

static void test_table(void **state)
{
    (void)state;
    needs(HEAD, "");
    needs(HEAD "[capabilities]\nfs_read = [\"home://\"]\nfs_write = [\"home://x\"]\n"
               "net = [\"*\"]\nipc_publish = [\"a.b\"]\nipc_subscribe = [\"a.*\"]\nkv = [\"x\"]\n",
          "");
    needs(HEAD "[capabilities]\nuplink = true\n", "uplink=capsule:uplink");
    needs(HEAD "[[uplink]]\nname = \"tg\"\nplatform = \"telegram\"\nprofile = \"chat\"\n",
          "uplink=capsule:uplink");
    needs(HEAD "[capabilities]\nidentity = [\"resolve\"]\n", "identity=capsule:identity");
    needs(HEAD "[capabilities]\nnet_bind = [\"unix:*\"]\n", "net_bind=capsule:net_bind");
    needs(HEAD "[capabilities]\nnet_bind = [\"\"]\n", ""); /* net.c binds nothing either */
    needs(HEAD "[capabilities]\nhost_process = [\"git\"]\n", "host_process=capsule:host_process");
    needs(HEAD "[capabilities]\nallow_prompt_injection = true\n",
          "allow_prompt_injection=capsule:allow_prompt_injection");
    needs(HEAD "[capabilities]\nuplink = true\nidentity = [\"admin\"]\nnet_bind = [\"unix:*\"]\n",
          "uplink=capsule:uplink,identity=capsule:identity,net_bind=capsule:net_bind");
}

static void test_caps_valid_and_admin_only(void **state)
{
    (void)state;
    astrid_err err;
    astrid_group_config *g = astrid_groups_builtin(&err);
    assert_non_null(g);
    const astrid_group *admin = astrid_groups_find(g, "admin"),
                       *agent = astrid_groups_find(g, "agent");
    assert_non_null(admin);
    assert_non_null(agent);
    for (size_t i = 0; astrid_capsule_priv_caps[i]; i++) {
        char why[256];
        const char *c = astrid_capsule_priv_caps[i];
        if (astrid_cap_validate(c, why, sizeof why) != 0)
            fail_msg("%s: %s", c, why);
        bool by_admin = false;
        for (size_t j = 0; j < admin->ncaps; j++)
            by_admin |= astrid_cap_matches(admin->caps[j], c);
        assert_true(by_admin);
        for (size_t j = 0; j < agent->ncaps; j++)
            if (astrid_cap_matches(agent->caps[j], c))
                fail_msg("group agent's '%s' holds %s", agent->caps[j], c);
    }
    astrid_groups_unref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_caps_valid_and_admin_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
