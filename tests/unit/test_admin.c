/* Admin handlers (src/kernel/admin_*.c) called directly on a kernel struct
 * holding only what they use: home, groups, profile cache and state KV.
 * The end-to-end behaviour through the socket is in mgmt_scenario.sh; this
 * covers what a shell cannot reach: rollback on a failed create, the
 * inheritance from default, and the exact data of each reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/policy_cache.h"
#include "astrid/profile.h"
#include "kernel/admin.h"
#include "store/identity.h"
#include "store/kv.h"
#include "fixture.h"

static char tmpdir[256];
static astrid_kernel kern;

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(tmpdir, sizeof tmpdir, "admin") != 0)
        return -1;
    memset(&kern, 0, sizeof kern);
    pthread_mutex_init(&kern.log_lock, NULL);
    snprintf(kern.home, sizeof kern.home, "%s", tmpdir);
    astrid_err err;
    char state_dir[PATH_MAX];
    snprintf(state_dir, sizeof state_dir, "%s/var/state.db", tmpdir);
    if (astrid_home_ensure(tmpdir, &err) != 0 || astrid_kv_open(&kern.kv, state_dir, 0, &err) != 0)
        return -1;
    astrid_group_config *g = astrid_groups_builtin(&err);
    kern.groups = g ? astrid_group_swap_new(g, &err) : NULL;
    kern.profiles = astrid_profile_cache_new(tmpdir, &err);
    if (!kern.groups || !kern.profiles)
        return -1;
    /* default exists, as after boot. */
    astrid_profile *p = astrid_profile_new(&err);
    int rc = p ? astrid_profile_save(tmpdir, "default", p, &err) : -1;
    astrid_profile_release(p);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    astrid_kv_close(kern.kv);
    astrid_group_swap_free(kern.groups);
    astrid_profile_cache_free(kern.profiles);
    if (kern.log)
        fclose(kern.log);
    pthread_mutex_destroy(&kern.log_lock);
    return fixture_rmdir(tmpdir);
}

static char errbuf[1024];

/* Run `fn` with params parsed from `json`; *data gets the reply data. */
static int call(admin_fn fn, const char *json, json_t **data)
{
    json_t *params = json_loads(json, 0, NULL);
    assert_non_null(params);
    errbuf[0] = '\0';
    admin_call c = {
        .k = &kern, .caller = "default", .params = params, .err = errbuf, .errn = sizeof errbuf};
    const char *status = "success";
    json_t *d = NULL;
    int rc = fn(&c, &d, &status);
    json_decref(params);
    if (data)
        *data = d;
    else
        json_decref(d);
    return rc;
}

static astrid_profile *load(const char *p)
{
    astrid_err err;
    astrid_profile *prof = astrid_profile_load(tmpdir, p, &err);
    assert_non_null(prof);
    return prof;
}

static void create_provisions_and_links(void **state)
{
    (void)state;
    json_t *d = NULL;
    assert_int_equal(
        call(admin_agent_create, "{\"name\":\"alice\",\"grants\":[\"a:b\",\"a:b\"]}", &d), 0);
    assert_string_equal(json_string_value(json_object_get(d, "principal")), "alice");
    const char *uid = json_string_value(json_object_get(d, "astrid_user_id"));
    assert_non_null(uid);
    astrid_user u;
    bool found = false;
    astrid_err err;
    assert_int_equal(astrid_identity_resolve(kern.kv, "cli", "alice", &u, &found, &err), 0);
    assert_true(found);
    assert_string_equal(u.id, uid);
    json_decref(d);
    static const char *sub[] = {"kv", "log", "audit", "tmp", "tokens", "capsules"};
    for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/home/alice/.local/%s", tmpdir, sub[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    astrid_profile *p = load("alice");
    assert_int_equal(p->groups.n, 1); /* no groups given: the agent group */
    assert_string_equal(p->groups.v[0], "agent");
    assert_int_equal(p->grants.n, 1); /* de-duplicated */
    astrid_profile_release(p);
    assert_int_equal(call(admin_agent_create, "{\"name\":\"alice\"}", NULL), -1);
    assert_non_null(strstr(errbuf, "already exists"));
}

static void create_refuses_before_writing(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"name\":\"default\"}",
        "{\"name\":\"Bad Name\"}",
        "{\"name\":\"bob\",\"groups\":[\"nosuch\"]}",
        "{\"name\":\"bob\",\"grants\":[\"*\"]}",
        "{\"name\":\"bob\",\"grants\":[\"\"]}",
        "{\"name\":\"bob\",\"groups\":\"admin\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(call(admin_agent_create, bad[i], NULL), -1);
        assert_true(errbuf[0] != '\0');
    }
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/etc/profiles/bob.toml", tmpdir);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/home/bob", tmpdir);
    assert_int_not_equal(access(p, F_OK), 0);
}

/* Provisioning the home fails (a file squats on home/carol): the identity
 * created a moment earlier is rolled back and no profile remains. Works as
 * root too, unlike a read-only directory. */
static void create_rolls_back_identity(void **state)
{
    (void)state;
    char p[PATH_MAX];
    astrid_err err;
    snprintf(p, sizeof p, "%s/home/carol", tmpdir);
    assert_int_equal(astrid_atomic_write(p, "x", 1, 0600, &err), 0);
    assert_int_equal(call(admin_agent_create, "{\"name\":\"carol\"}", NULL), -1);
    assert_non_null(strstr(errbuf, "home of carol"));
    astrid_user u;
    bool found = true;
    assert_int_equal(astrid_identity_resolve(kern.kv, "cli", "carol", &u, &found, &err), 0);
    assert_false(found);
    assert_int_equal(astrid_identity_get_user_by_name(kern.kv, "carol", &u, &found, &err), 0);
    assert_false(found);
    snprintf(p, sizeof p, "%s/etc/profiles/carol.toml", tmpdir);
    assert_int_not_equal(access(p, F_OK), 0);
    /* and a retry succeeds once the squatter is gone: nothing half-made */
    snprintf(p, sizeof p, "%s/home/carol", tmpdir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(call(admin_agent_create, "{\"name\":\"carol\"}", NULL), 0);
}

static void create_inherits_from_default(void **state)
{
    (void)state;
    astrid_err err;
    char p[PATH_MAX];
    assert_int_equal(astrid_principal_home_ensure(tmpdir, "default", &err), 0);
    snprintf(p, sizeof p, "%s/home/default/.config/env/weather.env.json", tmpdir);
    assert_int_equal(astrid_atomic_write(p, "{\"k\":\"v\"}", 9, 0600, &err), 0);
    assert_int_equal(astrid_kv_set(kern.kv, "default:capsule:weather", "city", "Oslo", 4, &err), 0);
    assert_int_equal(call(admin_agent_create, "{\"name\":\"dave\"}", NULL), 0);
    char *buf = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/home/dave/.config/env/weather.env.json", tmpdir);
    assert_int_equal(astrid_read_file(p, 4096, &buf, &len, &err), 0);
    assert_int_equal(len, 9);
    assert_memory_equal(buf, "{\"k\":\"v\"}", 9);
    free(buf);
    buf = NULL;
    assert_int_equal(astrid_kv_get(kern.kv, "dave:capsule:weather", "city", &buf, &len, &err), 0);
    assert_non_null(buf);
    assert_string_equal(buf, "Oslo");
    free(buf);
}

static void grant_revoke_and_default(void **state)
{
    (void)state;
    assert_int_equal(call(admin_agent_create, "{\"name\":\"erin\"}", NULL), 0);
    assert_int_equal(
        call(admin_caps_revoke, "{\"principal\":\"erin\",\"capabilities\":[\"x:y\"]}", NULL), 0);
    json_t *d = NULL;
    assert_int_equal(
        call(admin_caps_grant, "{\"principal\":\"erin\",\"capabilities\":[\"x:y\",\"x:y\"]}", &d),
        0);
    assert_int_equal(json_array_size(json_object_get(d, "granted")), 1);
    json_decref(d);
    astrid_profile *p = load("erin");
    assert_int_equal(p->grants.n, 1);
    assert_int_equal(p->revokes.n, 1); /* a grant never clears a revoke */
    astrid_profile_release(p);
    /* a repeat grant adds nothing */
    assert_int_equal(
        call(admin_caps_grant, "{\"principal\":\"erin\",\"capabilities\":[\"x:y\"]}", &d), 0);
    assert_int_equal(json_array_size(json_object_get(d, "granted")), 0);
    json_decref(d);
    assert_int_equal(
        call(admin_caps_grant, "{\"principal\":\"erin\",\"capabilities\":[\"*\"]}", NULL), -1);
    assert_non_null(strstr(errbuf, "unsafe_admin"));
    assert_int_equal(
        call(admin_caps_grant,
             "{\"principal\":\"erin\",\"capabilities\":[\"*\"],\"unsafe_admin\":\"yes\"}", NULL),
        -1);
    assert_int_equal(call(admin_caps_grant,
                          "{\"principal\":\"erin\",\"capabilities\":[\"*\"],\"unsafe_admin\":true}",
                          NULL),
                     0);
    assert_int_equal(call(admin_caps_grant, "{\"principal\":\"erin\",\"capabilities\":[]}", NULL),
                     -1);
    assert_int_equal(
        call(admin_caps_revoke, "{\"principal\":\"default\",\"capabilities\":[\"x:y\"]}", NULL),
        -1);
    /* phantom guard: no profile is created for a typo */
    assert_int_equal(
        call(admin_caps_grant, "{\"principal\":\"eirn\",\"capabilities\":[\"x:y\"]}", NULL), -1);
    assert_non_null(strstr(errbuf, "does not exist"));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/etc/profiles/eirn.toml", tmpdir);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void modify_enable_disable_report_changed(void **state)
{
    (void)state;
    assert_int_equal(call(admin_agent_create, "{\"name\":\"fred\"}", NULL), 0);
    json_t *d = NULL;
    assert_int_equal(call(admin_agent_modify, "{\"principal\":\"fred\"}", NULL), -1);
    assert_int_equal(
        call(admin_agent_modify, "{\"principal\":\"fred\",\"add_groups\":[\"restricted\"]}", &d),
        0);
    assert_true(json_is_true(json_object_get(d, "changed")));
    json_decref(d);
    assert_int_equal(
        call(admin_agent_modify, "{\"principal\":\"fred\",\"add_groups\":[\"restricted\"]}", &d),
        0);
    assert_true(json_is_false(json_object_get(d, "changed")));
    json_decref(d);
    assert_int_equal(call(admin_agent_disable, "{\"principal\":\"fred\"}", &d), 0);
    assert_true(json_is_true(json_object_get(d, "changed")));
    json_decref(d);
    assert_int_equal(call(admin_agent_disable, "{\"principal\":\"fred\"}", &d), 0);
    assert_true(json_is_false(json_object_get(d, "changed")));
    json_decref(d);
    astrid_profile *p = load("fred");
    assert_false(p->enabled);
    astrid_profile_release(p);
    assert_int_equal(call(admin_agent_disable, "{\"principal\":\"default\"}", NULL), -1);
    assert_int_equal(call(admin_agent_delete, "{\"principal\":\"default\"}", NULL), -1);
    /* delete removes profile and identity, leaves the home */
    assert_int_equal(call(admin_agent_delete, "{\"principal\":\"fred\"}", NULL), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/etc/profiles/fred.toml", tmpdir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/home/fred", tmpdir);
    assert_int_equal(access(path, F_OK), 0);
    astrid_user u;
    bool found = true;
    astrid_err err;
    assert_int_equal(astrid_identity_resolve(kern.kv, "cli", "fred", &u, &found, &err), 0);
    assert_false(found);
    assert_int_equal(call(admin_agent_delete, "{\"principal\":\"fred\"}", NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_provisions_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(create_refuses_before_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(create_rolls_back_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(create_inherits_from_default, setup, teardown),
        cmocka_unit_test_setup_teardown(grant_revoke_and_default, setup, teardown),
        cmocka_unit_test_setup_teardown(modify_enable_disable_report_changed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
